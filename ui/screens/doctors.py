"""Doctors page (a Streamlit page script; the work is in ui.doctors_view)."""

from ui.doctors_view import render_doctors_page
from ui.history_view import render_sidebar
from ui.progress_view import require_facade

facade = require_facade()
if facade is not None:
    render_doctors_page(facade)
render_sidebar(facade)
