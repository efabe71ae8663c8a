"""DDx Agent in the browser. Start it with ``ddx ui`` (or ``make run``).

This script only lays out the app: the pages live in ``ui/screens`` (a folder named ``pages``
would switch Streamlit to its old multipage layout) and talk to one
:class:`ui.facade.ConsultFacade` per browser session; knowledge bases and engines load once per
process on background threads (``ui.state``). Every link carries the user and the open
consultation (``ui.nav``), so reloads, bookmarks and restarts keep the history.
"""

import streamlit as st

from ui.nav import pages
from ui.state import current_facade, keep_address, loading, session_user

# An emoji favicon is drawn by the browser itself (a Material icon would be fetched online).
st.set_page_config(page_title="DDx Agent", page_icon="🩺", layout="wide")

session_user()
facade = current_facade(wait_seconds=1.5)  # a quick load is ready before the page draws
usable = facade is not None or loading() is not None
navigation = st.navigation(pages(usable), position="hidden")
keep_address()
navigation.run()  # each page draws the sidebar after itself, so it lists what just changed
