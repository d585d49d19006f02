"""Entry point: page config, language, shared filters, navigation. Pages live in app_pages/ and stay thin.

Not `pages/`: Streamlit treats a folder of that name beside the main script as a legacy multipage app on a
server's first run, so a first visit to /table would run that page without this file (no filters, no login).
"""

from __future__ import annotations

import streamlit as st

from ui import a11y, auth, data, memory, state, upload_guard
from urban_plan.i18n import t

FILTERED_PAGES = {"", "map", "table", "dashboard"}
BASEMAP_PAGES = FILTERED_PAGES | {
    "coordinates",
    "history",
}  # pages that show the shared filters ("" is the default page)

st.set_page_config(page_title="济阳区规划一张图 · Jiyang planning map", page_icon="🗺️", layout="wide")
data.begin_run()

lang = state.lang()
state.follow_map_extent()
state.default_comparison(data.meetings())


def page(path: str, key: str, icon: str, **kwargs: bool) -> st.Page:
    return st.Page(
        f"app_pages/{path}.py", title=t(f"nav.{key}", lang), icon=f":material/{icon}:", url_path=path, **kwargs
    )


pages = [
    page("map", "map", "map", default=True),
    page("dashboard", "dashboard", "monitoring"),
    page("table", "table", "table_rows"),
    page("present", "present", "slideshow"),
    page("history", "history", "history"),
    page("coordinates", "coordinates", "my_location"),
]
if auth.current_actor() is not None:  # not in the navigation = not reachable by URL; publishing re-checks anyway
    pages.append(page("upload", "upload", "upload"))
    pages.append(page("layers", "layers", "layers"))
pages.append(page("account", "account_logged_in" if auth.current_actor() else "account", "login"))
navigation = st.navigation(pages)
upload_guard.enforce(navigation.url_path)  # uploads only from a page with an uploader, bounded per session
memory.install()  # once per process: sessions whose TTL passed are shut down and their memory returned

with st.sidebar:
    st.markdown(f"### {t('app.title', lang)}")
    state.language_switch()
    lang = state.lang()
    if navigation.url_path in FILTERED_PAGES:
        state.time_controls()
        with st.expander(t("filters.title", lang), expanded=True):
            state.filter_widgets(data.kinds(data.layers()))
    if navigation.url_path in BASEMAP_PAGES:
        state.basemap_choice()

a11y.setup(lang, has_map=navigation.url_path in {"", "map", "present", "history", "coordinates", "upload"})
state.sync_url()
state.report_ignored_url_params()
navigation.run()
