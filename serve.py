"""Serve the app with its login routes: `streamlit run serve.py` (scripts/run.sh does); see ui/login_routes.py."""

# `streamlit run` finds the `st.App` below and serves app.py through it, plus two small routes that set and clear
# the HttpOnly login cookie. `streamlit run app.py` still works, with logins that last for one browser tab.

import streamlit as st

from ui import login_routes

app = st.App("app.py", routes=login_routes.routes())
