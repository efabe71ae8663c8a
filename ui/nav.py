"""The app's pages and the links between them, every link carrying the user and the open
consultation (``ui.identity.link_params``), so no click ever loses the history.

Streamlit's own page menu drops the query string on every switch; the app hides it
(``st.navigation(position="hidden")``) and draws its own with ``st.page_link``.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ui.identity import link_params


@dataclass(frozen=True)
class PageInfo:
    path: str
    title: str
    icon: str


CONSULT = PageInfo("screens/consult.py", "Consult", ":material/stethoscope:")
HISTORY = PageInfo("screens/history.py", "History", ":material/history:")
DOCTORS = PageInfo("screens/doctors.py", "Doctors", ":material/medical_services:")
BENCHMARKS = PageInfo("screens/benchmarks.py", "Benchmarks", ":material/monitoring:")
SETTINGS = PageInfo("screens/settings.py", "Settings", ":material/settings:")
CONSULTING = (CONSULT, HISTORY, DOCTORS)
TOOLS = (BENCHMARKS, SETTINGS)


def pages(usable: bool = True) -> list[st.Page]:
    """The pages Streamlit routes to; the settings page opens first when the app cannot
    consult (``usable`` False: invalid settings or missing data)."""
    default = CONSULT if usable else SETTINGS
    return [
        st.Page(info.path, title=info.title, icon=info.icon, default=info is default)
        for info in (*CONSULTING, *TOOLS)
    ]


def render_links(user_id: str, thread_id: str | None) -> None:
    """The page menu at the top of the sidebar."""
    query = link_params(user_id, thread_id)
    for info in (*CONSULTING, *TOOLS):
        st.page_link(info.path, label=info.title, icon=info.icon, query_params=query)


def switch_to(info: PageInfo, user_id: str, thread_id: str | None) -> None:
    st.switch_page(info.path, query_params=link_params(user_id, thread_id))
