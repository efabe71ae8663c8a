"""Who is using the app: a random user id kept in the page's URL (``?user=...``) and in a
cookie of this browser.

Streamlit forgets ``st.session_state`` when the app restarts or the tab reloads, and it has no
log-in of its own. Two things survive both:

* the address: every link the app draws (sidebar pages, History → Open) carries ``?user=`` and
  the open consultation (``&consultation=``), so a reload, a bookmark, the browser's back
  button or a restart of the app still name the same user and consultation;
* a cookie (``ddx_user``) of this browser, so opening the bare address again (a new tab, the
  next morning) brings the same history back. Another browser or browser profile has no such
  cookie and starts as a new user, so two people never see each other's consultations.

The id is an unguessable handle (128 random bits), not authentication: anyone given the full
URL sees that history. Deployments that need accounts should put the app behind a log-in proxy
and derive the id from the signed-in user instead.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Literal

USER_PARAM = "user"
CONSULTATION_PARAM = "consultation"
USER_COOKIE = "ddx_user"
COOKIE_DAYS = 365

_USER_ID = re.compile(r"^[0-9a-f]{32}$")
_THREAD_ID = re.compile(r"^[0-9a-f]{32}$")


def new_user_id() -> str:
    return secrets.token_hex(16)


def new_thread_id() -> str:
    """A consultation's id, also its checkpointer thread id."""
    return secrets.token_hex(16)


def valid_user_id(value: object) -> str | None:
    return value if isinstance(value, str) and _USER_ID.match(value) else None


@dataclass(frozen=True)
class Identity:
    """This browser session's user and where the id came from."""

    user_id: str
    source: Literal["address", "cookie", "new"]


def identify(params: Mapping[str, str], cookies: Mapping[str, str]) -> Identity:
    """The user named by the address, else by this browser's cookie, else a new one.

    The address wins: a bookmark or a link given on purpose names whose history to show.
    """
    given = valid_user_id(params.get(USER_PARAM))
    if given is not None:
        return Identity(given, "address")
    remembered = valid_user_id(cookies.get(USER_COOKIE))
    if remembered is not None:
        return Identity(remembered, "cookie")
    return Identity(new_user_id(), "new")


def user_id_from(params: MutableMapping[str, str]) -> str:
    """The user id in the query string; a new one is written there when absent or malformed."""
    identity = identify(params, {})
    params[USER_PARAM] = identity.user_id
    return identity.user_id


def consultation_from(params: Mapping[str, str]) -> str | None:
    """The consultation the URL points at (so a reload or a restart reopens it), if well formed."""
    given = params.get(CONSULTATION_PARAM, "")
    return given if _THREAD_ID.match(given) else None


def link_params(user_id: str, thread_id: str | None) -> dict[str, str]:
    """The query string every link of the app carries: the user and the open consultation."""
    params = {USER_PARAM: user_id}
    if thread_id is not None:
        params[CONSULTATION_PARAM] = thread_id
    return params


def sync_address(params: MutableMapping[str, str], user_id: str, thread_id: str | None) -> None:
    """Make the address name this user and the open consultation (only what differs is
    written, so an unchanged address costs nothing)."""
    if params.get(USER_PARAM) != user_id:
        params[USER_PARAM] = user_id
    show_consultation(params, thread_id)


def show_consultation(params: MutableMapping[str, str], thread_id: str | None) -> None:
    """Keep the open consultation in the URL (or remove it when none is open)."""
    if thread_id is None:
        params.pop(CONSULTATION_PARAM, None)
    elif params.get(CONSULTATION_PARAM) != thread_id:
        params[CONSULTATION_PARAM] = thread_id


def remember_script(user_id: str) -> str:
    """The HTML that stores the user id in this browser's cookie (one year, this site only)."""
    if valid_user_id(user_id) is None:
        raise ValueError("not a user id")
    cookie = f"{USER_COOKIE}={user_id}; path=/; max-age={COOKIE_DAYS * 86400}; SameSite=Strict"
    return f"<script>document.cookie = {json.dumps(cookie)};</script>"
