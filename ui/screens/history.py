"""History page (a Streamlit page script; the work is in ui.history_view)."""

from ui.history_view import render_history_page, render_sidebar
from ui.progress_view import require_facade

facade = require_facade()
if facade is not None:
    render_history_page(facade)
render_sidebar(facade)
