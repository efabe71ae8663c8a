"""Glue between Streamlit and the facade: what lives in ``st.session_state`` and the cache.

``shared_engine`` is cached with ``st.cache_resource``: the knowledge base, engine and
checkpoint database load once per process and engine settings (data folder, backends),
whatever the number of browser sessions. Each browser session keeps one
:class:`ConsultFacade` in ``st.session_state``.
"""

from __future__ import annotations

import streamlit as st

from agent.errors import DdxError
from agent.settings import DdxSettings, load_settings
from ui.facade import ConsultFacade, Engine, Limits, build_engine, engine_key
from ui.identity import USER_PARAM, consultation_from, show_consultation, user_id_from

FACADE_KEY = "ddx_facade"
USER_KEY = "ddx_user"
SETTINGS_KEY = "ddx_settings"
PROBLEM_KEY = "ddx_problem"


def limits_of(settings: DdxSettings) -> Limits:
    return Limits(settings.max_questions, settings.confidence_threshold)


@st.cache_resource(show_spinner="Loading the knowledge base and the engine…", max_entries=4)
def _cached_engine(key: tuple[str, ...], _settings: DdxSettings) -> Engine:
    """Keyed by :func:`engine_key` (``_settings`` is not hashed: it holds secrets)."""
    return build_engine(_settings)


def shared_engine(settings: DdxSettings) -> Engine:
    """Loaded once per process and engine settings, shared by every browser session."""
    return _cached_engine(engine_key(settings), settings)


def session_user() -> str:
    """This browser session's user id, kept in the URL so it outlives reloads and restarts."""
    user = st.session_state.get(USER_KEY)
    if not isinstance(user, str):
        user = user_id_from(st.query_params)
        st.session_state[USER_KEY] = user
    elif st.query_params.get(USER_PARAM) != user:  # page switches drop the query string
        st.query_params[USER_PARAM] = user
    return user


def current_settings() -> DdxSettings:
    """The session's settings: as applied on the settings page, else from the environment,
    else (when the environment is invalid) the defaults, so the settings page can still show."""
    saved = st.session_state.get(SETTINGS_KEY)
    if isinstance(saved, DdxSettings):
        return saved
    try:
        return load_settings()
    except DdxError:
        pass
    defaults = DdxSettings.model_construct()
    try:  # keep the environment's folders; replace the (invalid) limits by the defaults
        return load_settings(
            max_questions=defaults.max_questions,
            confidence_threshold=defaults.confidence_threshold,
        )
    except DdxError:
        return defaults


def current_facade() -> ConsultFacade | None:
    """The session's facade, made on first use; None (and :func:`problem` says why) when the
    settings or the data are not usable yet."""
    facade = st.session_state.get(FACADE_KEY)
    if isinstance(facade, ConsultFacade):
        show_consultation(st.query_params, facade.thread_id)
        return facade
    try:
        settings = load_settings()
        engine = shared_engine(settings)
    except DdxError as exc:
        st.session_state[PROBLEM_KEY] = str(exc)
        return None
    facade = ConsultFacade(session_user(), engine, limits_of(settings))
    wanted = consultation_from(st.query_params)
    if wanted is not None:
        facade.open(wanted)
    show_consultation(st.query_params, facade.thread_id)
    st.session_state[FACADE_KEY] = facade
    st.session_state[PROBLEM_KEY] = None
    return facade


def problem() -> str | None:
    """Why the app cannot consult yet (invalid settings, missing data), if it cannot."""
    value = st.session_state.get(PROBLEM_KEY)
    return value if isinstance(value, str) else None


def apply_settings(**explicit: object) -> str | None:
    """Validate and apply settings for this browser session; returns what is wrong, or None.

    ``explicit`` are :class:`DdxSettings` fields (None: not given, the environment or the
    default holds). Another data folder or other backends load (once per process) their own
    engine, and the open consultation is closed (it stays in the history); new limits apply to
    consultations started afterwards.
    """
    try:
        settings = load_settings(**explicit)
        engine = shared_engine(settings)
    except DdxError as exc:
        return str(exc)
    st.session_state[SETTINGS_KEY] = settings
    facade = st.session_state.get(FACADE_KEY)
    if isinstance(facade, ConsultFacade):
        if facade.engine is not engine:
            facade.engine = engine
            facade.close()
        facade.limits = limits_of(settings)
    else:
        st.session_state[FACADE_KEY] = ConsultFacade(session_user(), engine, limits_of(settings))
    st.session_state[PROBLEM_KEY] = None
    return None
