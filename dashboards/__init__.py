"""Streamlit + pydeck dashboards. Not built yet (issue 6)."""
