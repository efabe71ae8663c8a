"""Consult page (a Streamlit page script; the work is in ui.consult_view)."""

from ui.consult_view import render
from ui.history_view import render_sidebar
from ui.progress_view import require_facade

facade = require_facade()
if facade is not None:
    render(facade)
render_sidebar(facade)
