"""Account page: log in as an editor (password or single sign-on), or see who is logged in and log out."""

from __future__ import annotations

import streamlit as st

from ui import auth, data, state
from urban_plan.i18n import t

lang = state.lang()
st.title(t("login.title", lang))
if not auth.follow_redirect(lang):  # on its way to the cookie route and back: say so, show nothing else yet
    actor = auth.current_actor()
    if actor is None:
        st.caption(t("login.why", lang))
        auth.login_form(lang)
    else:
        layers = (
            t("login.all_layers", lang)
            if actor.collections is None
            else ("、" if lang == "zh" else ", ").join(data.registry().name(n, lang) for n in sorted(actor.collections))
        )
        st.success(t("login.logged_in", lang, name=actor.name, layers=layers))
        st.caption(auth.lasting_note(lang))
        if st.button(t("login.logout", lang)):
            auth.logout()
            st.rerun()
