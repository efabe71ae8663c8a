"""Settings page (a Streamlit page script; the work is in ui.settings_view)."""

from ui.history_view import render_sidebar
from ui.settings_view import render_settings_page
from ui.state import current_facade

render_settings_page()
render_sidebar(current_facade())
