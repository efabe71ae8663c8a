"""DDx Agent in the browser. Start it with ``ddx ui`` (or ``streamlit run ui/app.py``).

This script only lays out the app: the pages live in ``ui/pages`` and talk to one
:class:`ui.facade.ConsultFacade` per browser session; the knowledge base and engine load once
per process (``ui.state.shared_engine``).
"""

import streamlit as st

from ui.state import current_facade

st.set_page_config(page_title="DDx Agent", page_icon=":material/stethoscope:", layout="wide")

facade = current_facade()
consult = [
    st.Page("pages/consult.py", title="Consult", icon=":material/stethoscope:", default=True),
    st.Page("pages/history.py", title="History", icon=":material/history:"),
    st.Page("pages/doctors.py", title="Doctors", icon=":material/medical_services:"),
]
tools = [
    st.Page("pages/benchmarks.py", title="Benchmarks", icon=":material/monitoring:"),
    st.Page(
        "pages/settings.py", title="Settings", icon=":material/settings:", default=facade is None
    ),
]
navigation = st.navigation(tools[1:] if facade is None else consult + tools)
navigation.run()  # each page draws the sidebar after itself, so it lists what just changed
