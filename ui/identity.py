"""Who is using the app: a random user id kept in the page's URL (``?user=...``).

Streamlit forgets ``st.session_state`` when the app restarts or the tab reloads, and it has no
log-in of its own. The URL survives both: the browser reconnects to the same address, so an
id kept in the query string still names the same user afterwards, and a bookmark brings the
history back. A new tab opened on the bare address gets a fresh id, so two browser sessions
never see each other's consultations.

This is an unguessable handle (128 random bits), not authentication: anyone given the full URL
sees that history. Deployments that need accounts should put the app behind a log-in proxy and
derive the id from the signed-in user instead.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import MutableMapping

USER_PARAM = "user"
CONSULTATION_PARAM = "consultation"

_USER_ID = re.compile(r"^[0-9a-f]{32}$")
_THREAD_ID = re.compile(r"^[0-9a-f]{32}$")


def new_user_id() -> str:
    return secrets.token_hex(16)


def new_thread_id() -> str:
    """A consultation's id, also its checkpointer thread id."""
    return secrets.token_hex(16)


def user_id_from(params: MutableMapping[str, str]) -> str:
    """The user id in the query string; a new one is written there when absent or malformed."""
    given = params.get(USER_PARAM, "")
    if _USER_ID.match(given):
        return given
    fresh = new_user_id()
    params[USER_PARAM] = fresh
    return fresh


def consultation_from(params: MutableMapping[str, str]) -> str | None:
    """The consultation the URL points at (so a reload or a restart reopens it), if well formed."""
    given = params.get(CONSULTATION_PARAM, "")
    return given if _THREAD_ID.match(given) else None


def show_consultation(params: MutableMapping[str, str], thread_id: str | None) -> None:
    """Keep the open consultation in the URL (or remove it when none is open)."""
    if thread_id is None:
        params.pop(CONSULTATION_PARAM, None)
    elif params.get(CONSULTATION_PARAM) != thread_id:
        params[CONSULTATION_PARAM] = thread_id
