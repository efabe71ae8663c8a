"""Benchmarks page (a Streamlit page script; the work is in ui.benchmarks_view)."""

from ui.benchmarks_view import render_benchmarks_page
from ui.history_view import render_sidebar
from ui.state import current_facade

render_benchmarks_page()
render_sidebar(current_facade())
