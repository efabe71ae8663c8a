"""Who the user is and what is theirs, without Streamlit: the user id in the address and the
cookie, links that carry it, and the per-user index of consultations and settings."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ui.history_store import HistoryStore
from ui.identity import (
    CONSULTATION_PARAM,
    USER_COOKIE,
    USER_PARAM,
    consultation_from,
    identify,
    link_params,
    remember_script,
    show_consultation,
    sync_address,
    user_id_from,
)

ALICE, BOB = "a" * 32, "b" * 32


def test_a_user_id_is_made_once_and_kept_in_the_url() -> None:
    params: dict[str, str] = {}
    made = user_id_from(params)
    assert params == {USER_PARAM: made} and len(made) == 32
    assert user_id_from(params) == made

    tampered = {USER_PARAM: "../../etc"}
    assert user_id_from(tampered) != "../../etc" and tampered[USER_PARAM] != "../../etc"


def test_the_address_names_the_user_before_the_cookie_and_a_stranger_gets_a_new_id() -> None:
    assert identify({USER_PARAM: ALICE}, {USER_COOKIE: BOB}).user_id == ALICE  # a bookmark wins
    remembered = identify({}, {USER_COOKIE: BOB})
    assert (remembered.user_id, remembered.source) == (BOB, "cookie")
    stranger = identify({USER_PARAM: "nope"}, {USER_COOKIE: "'; alert(1)"})
    assert stranger.source == "new" and stranger.user_id not in (ALICE, BOB)
    assert len(stranger.user_id) == 32


def test_every_link_carries_the_user_and_the_open_consultation() -> None:
    assert link_params(ALICE, None) == {USER_PARAM: ALICE}
    assert link_params(ALICE, "c" * 32) == {USER_PARAM: ALICE, CONSULTATION_PARAM: "c" * 32}
    address: dict[str, str] = {}  # what a page switch by Streamlit's own menu leaves
    sync_address(address, ALICE, "c" * 32)
    assert address == {USER_PARAM: ALICE, CONSULTATION_PARAM: "c" * 32}
    sync_address(address, ALICE, None)
    assert address == {USER_PARAM: ALICE}


def test_the_cookie_script_only_ever_writes_a_well_formed_id() -> None:
    script = remember_script(ALICE)
    assert f"{USER_COOKIE}={ALICE}" in script and "SameSite=Strict" in script
    with pytest.raises(ValueError):
        remember_script('x"; document.location="http://evil')


def test_the_open_consultation_is_shown_in_the_url_only_when_well_formed() -> None:
    params: dict[str, str] = {}
    show_consultation(params, "c" * 32)
    assert consultation_from(params) == "c" * 32
    show_consultation(params, None)
    assert CONSULTATION_PARAM not in params
    assert consultation_from({CONSULTATION_PARAM: "x; drop table"}) is None


def test_the_history_index_keeps_users_apart(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    store.add(ALICE, "t1", "first")
    store.add(ALICE, "t2", "second")
    store.add(BOB, "t3", "bob's")
    store.update(ALICE, "t1", finished=True, questions=4, leading="Flu 80%")
    store.update(BOB, "t1", finished=False, questions=9, leading="stolen")  # not Bob's: no-op

    alice = store.list(ALICE)
    assert [e.thread_id for e in alice] == ["t1", "t2"]  # most recently touched first
    assert (alice[0].finished, alice[0].questions, alice[0].leading) == (True, 4, "Flu 80%")
    assert [e.title for e in store.list(BOB)] == ["bob's"]
    assert store.owns(ALICE, "t2") and not store.owns(BOB, "t2")
    assert [e.thread_id for e in HistoryStore(tmp_path).list(ALICE)] == ["t1", "t2"]  # reopened


def test_settings_and_the_knowledge_of_each_consultation_are_kept_per_user(
    tmp_path: Path,
) -> None:
    store = HistoryStore(tmp_path)
    store.add(ALICE, "r1", "rare one", knowledge="hpo", complaint="Arachnodactyly")
    store.save_settings(ALICE, {"max_questions": 7})
    store.save_settings(ALICE, {"max_questions": 12, "doctor_directory": "/d.jsonl"})

    again = HistoryStore(tmp_path)  # after a restart
    assert again.saved_settings(ALICE) == {"max_questions": 12, "doctor_directory": "/d.jsonl"}
    assert again.saved_settings(BOB) == {}
    entry = again.entry(ALICE, "r1")
    assert entry is not None and (entry.knowledge, entry.complaint) == ("hpo", "Arachnodactyly")
    assert again.entry(BOB, "r1") is None


def test_an_index_file_of_an_older_version_gains_the_new_columns(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "ui-consultations.sqlite") as old:
        old.execute(
            "CREATE TABLE consultations (thread_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, "
            "title TEXT NOT NULL, started REAL NOT NULL, updated REAL NOT NULL, finished "
            "INTEGER NOT NULL DEFAULT 0, questions INTEGER NOT NULL DEFAULT 0, leading TEXT "
            "NOT NULL DEFAULT '')"
        )
        old.execute(
            "INSERT INTO consultations VALUES ('t0', ?, 'kept', 1, 1, 1, 3, 'Flu')", (ALICE,)
        )
    entries = HistoryStore(tmp_path).list(ALICE)
    assert [(e.title, e.knowledge, e.complaint) for e in entries] == [("kept", "ddxplus", "")]
