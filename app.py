"""Entry point: page config, language, shared filters, navigation. Pages live in app_pages/ and stay thin.

Not `pages/`: Streamlit treats a folder of that name beside the main script as a legacy multipage app on a
server's first run, so a first visit to /table would run that page without this file (no filters, no login).
"""

from __future__ import annotations

import streamlit as st

from ui import auth, data, state
from urban_plan.i18n import t

FILTERED_PAGES = {"", "map", "table"}  # pages that show the shared filters ("" is the default page)

st.set_page_config(page_title="济阳区规划一张图 · Jiyang planning map", page_icon="🗺️", layout="wide")

lang = state.lang()
pages = [
    st.Page("app_pages/map.py", title=t("nav.map", lang), icon=":material/map:", url_path="map", default=True),
    st.Page("app_pages/table.py", title=t("nav.table", lang), icon=":material/table_rows:", url_path="table"),
    st.Page("app_pages/history.py", title=t("nav.history", lang), icon=":material/history:", url_path="history"),
]
if auth.current_actor() is not None:  # not in the navigation = not reachable by URL; publishing re-checks anyway
    pages.append(
        st.Page("app_pages/upload.py", title=t("nav.upload", lang), icon=":material/upload:", url_path="upload")
    )
pages.append(st.Page("app_pages/account.py", title=t("nav.account", lang), icon=":material/login:", url_path="account"))
navigation = st.navigation(pages)

with st.sidebar:
    st.markdown(f"### {t('app.title', lang)}")
    state.language_switch()
    lang = state.lang()
    if navigation.url_path in FILTERED_PAGES:
        layers = data.layers()
        with st.expander(t("filters.title", lang), expanded=True):
            state.filter_widgets(sorted(k for k in layers.overlays["kind"].dropna().unique()))
        state.basemap_choice()

state.sync_url()
state.report_ignored_url_params()
navigation.run()
