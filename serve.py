"""Serve the app with its HTTP routes: `streamlit run serve.py` (scripts/run.sh does); see ui/login_routes.py and
ui/map_data_routes.py."""

# `streamlit run` finds the `st.App` below and serves app.py through it, plus small routes: two that set and clear
# the HttpOnly login cookie, and one that serves large map layers' data once per data version (the map fetches it
# instead of the page re-sending megabytes on every run). `streamlit run app.py` still works, with logins that last
# for one browser tab and large layers carried in the page.

import streamlit as st

from ui import login_routes, map_data_routes

app = st.App("app.py", routes=[*login_routes.routes(), *map_data_routes.routes()])
