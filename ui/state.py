"""Glue between Streamlit and the facade: who the user is, which settings hold, which engine
serves them, and what lives in ``st.session_state``.

Engines load on background threads (:mod:`ui.jobs`), once per process and settings, whatever
the number of browser sessions; a page waits for them with a progress bar it can leave at any
moment without losing the work. Settings a person applies are saved for their user id at once
(``ui.history_store``), so a reload, a restart or a click elsewhere during a long load keeps
the choice; if the new settings cannot be loaded, the previous ones stay and the page says why.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from agent.errors import DdxError
from agent.settings import DdxSettings, load_settings
from ui.engines import Engine, Knowledge, build_engine, build_rare_engine, engine_key
from ui.facade import ConsultFacade, Limits
from ui.history_store import HistoryStore, open_store
from ui.identity import consultation_from, identify, sync_address
from ui.jobs import Job, JobBoard

FACADE_KEY = "ddx_facade"
USER_KEY = "ddx_user"
IDENTITY_SOURCE_KEY = "ddx_user_source"
SETTINGS_KEY = "ddx_settings"
PENDING_KEY = "ddx_pending_settings"
PROBLEM_KEY = "ddx_problem"
RESULT_KEY = "settings_result"
PREVIOUS_KEY = "ddx_previous_saved"
SKIP_SAVED_KEY = "ddx_skip_saved"
LOADING_TITLE = "Loading"
RARE_TITLE = "Rare diseases"


@st.cache_resource
def board() -> JobBoard:
    """The process's background jobs and what they loaded (engines above all): once per
    process, like every heavy resource of the app, whatever the number of browser sessions."""
    return JobBoard()


def limits_of(settings: DdxSettings) -> Limits:
    return Limits(settings.max_questions, settings.confidence_threshold, settings.refinement_rounds)


def session_user() -> str:
    """This browser session's user id: from the address, else this browser's cookie, else new
    (see ``ui.identity``); decided once per session."""
    user = st.session_state.get(USER_KEY)
    if not isinstance(user, str):
        identity = identify(st.query_params.to_dict(), dict(st.context.cookies))
        user = identity.user_id
        st.session_state[USER_KEY] = user
        st.session_state[IDENTITY_SOURCE_KEY] = identity.source
    return user


def keep_address() -> None:
    """Write the user and the open consultation into the address on every run: a reload or a
    bookmark then reopens exactly this."""
    facade = st.session_state.get(FACADE_KEY)
    thread_id = None
    if isinstance(facade, ConsultFacade):
        thread_id = facade.thread_id or facade.waiting_for
    sync_address(st.query_params, session_user(), thread_id)


def environment_settings() -> tuple[DdxSettings, str | None]:
    """Settings from the environment, and what is wrong with them: when they are invalid, the
    defaults with the environment's folders, so the settings page can still show."""
    try:
        return load_settings(), None
    except DdxError as exc:
        problem = str(exc)
    defaults = DdxSettings.model_construct()
    try:
        fallback = load_settings(
            max_questions=defaults.max_questions,
            confidence_threshold=defaults.confidence_threshold,
        )
    except DdxError:
        fallback = defaults
    return fallback, problem


def user_store() -> HistoryStore | None:
    try:
        return open_store(environment_settings()[0].state_dir)
    except DdxError:
        return None


def current_settings() -> DdxSettings:
    """The settings this session works with: the ones being applied, else those in force,
    else the user's saved ones, else the environment's."""
    for key in (PENDING_KEY, SETTINGS_KEY):
        value = st.session_state.get(key)
        if isinstance(value, DdxSettings):
            return value
    store = user_store()
    skip = st.session_state.get(SKIP_SAVED_KEY) or store is None
    saved = store.saved_settings(session_user()) if not skip and store is not None else {}
    if saved:
        try:
            settings = load_settings(**saved)
            st.session_state[PENDING_KEY] = settings
            return settings
        except DdxError as exc:
            st.session_state[SKIP_SAVED_KEY] = True
            st.session_state[RESULT_KEY] = f"your saved settings no longer hold ({exc})"
    settings, trouble = environment_settings()
    if trouble is not None:
        st.session_state[PROBLEM_KEY] = trouble
    return settings


def environment_invalid() -> bool:
    """No settings of this session or user hold, and the environment's are invalid: the app
    cannot consult until the settings page fixes them."""
    if any(isinstance(st.session_state.get(k), DdxSettings) for k in (PENDING_KEY, SETTINGS_KEY)):
        return False
    current_settings()
    return environment_settings()[1] is not None and not isinstance(
        st.session_state.get(PENDING_KEY), DdxSettings
    )


def engine_job(settings: DdxSettings) -> Job[Engine]:
    return board().start(engine_key(settings), LOADING_TITLE, lambda p: build_engine(settings, p))


def rare_job(settings: DdxSettings) -> Job[Engine]:
    key = engine_key(settings, "hpo")
    return board().start(key, RARE_TITLE, lambda p: build_rare_engine(settings, p))


def current_facade(wait_seconds: float = 0.0) -> ConsultFacade | None:
    """The session's facade on the engine of its settings; None (and :func:`problem` says why,
    or :func:`loading` what is loading) when there is no usable engine yet."""
    if environment_invalid():
        return None
    settings = current_settings()
    job = engine_job(settings)
    job.wait(wait_seconds)
    facade = st.session_state.get(FACADE_KEY)
    facade = facade if isinstance(facade, ConsultFacade) else None
    if job.result is not None:
        _settle(settings, job.result, facade)
    elif job.error is not None:
        _refuse(settings, job.error)
    elif facade is None:
        _meanwhile(settings)
    facade = st.session_state.get(FACADE_KEY)
    if isinstance(facade, ConsultFacade) and facade.knowledge == "hpo" and facade.rare is None:
        rare = rare_job(settings)
        if rare.result is not None:
            facade.attach_rare(rare.result)
    return facade if isinstance(facade, ConsultFacade) else None


def _settle(settings: DdxSettings, engine: Engine, facade: ConsultFacade | None) -> None:
    """The engine for ``settings`` is ready: make them the settings in force."""
    st.session_state[SETTINGS_KEY] = settings
    if st.session_state.pop(PENDING_KEY, None) is not None:
        st.session_state[RESULT_KEY] = True
        st.session_state.pop(PREVIOUS_KEY, None)
    st.session_state[PROBLEM_KEY] = None
    if facade is None:
        facade = _new_facade(engine, settings)
    elif facade.engine is not engine:
        facade.replace_engine(engine)
    facade.limits = limits_of(settings)


def _meanwhile(settings: DdxSettings) -> None:
    """A new session whose saved settings are still loading (a reload during a long load)
    consults meanwhile with the environment's engine when that one is ready."""
    fallback, trouble = environment_settings()
    if trouble is not None or engine_key(fallback) == engine_key(settings):
        return
    ready = engine_job(fallback).result
    if ready is not None:
        _new_facade(ready, fallback)


def _new_facade(engine: Engine, settings: DdxSettings) -> ConsultFacade:
    """This session's facade, reopening the consultation the address names."""
    facade = ConsultFacade(session_user(), engine, limits_of(settings))
    wanted = consultation_from(st.query_params.to_dict())
    if wanted is not None:
        facade.open(wanted)
    st.session_state[FACADE_KEY] = facade
    return facade


def _refuse(settings: DdxSettings, error: str) -> None:
    """The engine for ``settings`` cannot load: back to the settings in force. Settings just
    applied are taken back from the user's saved ones; saved ones that fail when a session
    starts stay saved (the data may be back tomorrow) and this session uses the environment's."""
    if st.session_state.get(PENDING_KEY) is not settings:
        st.session_state[PROBLEM_KEY] = error
        return
    del st.session_state[PENDING_KEY]
    st.session_state[RESULT_KEY] = error
    if PREVIOUS_KEY in st.session_state:
        store = user_store()
        if store is not None:
            store.save_settings(session_user(), st.session_state.pop(PREVIOUS_KEY))
    else:
        st.session_state[SKIP_SAVED_KEY] = True


def loading() -> Job[Engine] | None:
    """The engine job this session waits on, while it runs."""
    if environment_invalid():
        return None
    job = engine_job(current_settings())
    return None if job.finished else job


def problem() -> str | None:
    """Why the app cannot consult yet (invalid settings, missing data), if it cannot."""
    value = st.session_state.get(PROBLEM_KEY)
    return value if isinstance(value, str) else None


def apply_settings(**explicit: Any) -> str | None:
    """Check and apply settings for this user; returns what is wrong, or None.

    ``explicit`` are :class:`DdxSettings` fields (None: not given, the environment or the
    default holds). Invalid values are refused at once; valid ones are saved for the user and
    their engine starts loading (once per process); until it is ready the settings in force
    stay, and the open consultation goes on. New limits apply to consultations started
    afterwards.
    """
    try:
        settings = load_settings(**explicit)
    except DdxError as exc:
        return str(exc)
    st.session_state[PENDING_KEY] = settings
    st.session_state[RESULT_KEY] = None
    store = user_store()
    if store is not None:
        st.session_state.setdefault(PREVIOUS_KEY, store.saved_settings(session_user()))
        store.save_settings(session_user(), _explicit_of(settings, explicit))
    engine_job(settings).wait(3.0)  # a small change is ready before the page redraws
    return None


def _explicit_of(settings: DdxSettings, explicit: dict[str, Any]) -> dict[str, object]:
    """What to save: the fields the person set, as JSON values."""
    given = {key for key, value in explicit.items() if value is not None}
    return dict(settings.model_dump(mode="json", include=given))


def choose_knowledge(knowledge: Knowledge) -> None:
    facade = st.session_state.get(FACADE_KEY)
    if isinstance(facade, ConsultFacade):
        facade.choose(knowledge)
        if knowledge == "hpo":
            rare_job(current_settings())
