"""Page-wide accessibility: the document's language, skip links to the content and the map, readable contrast."""

from __future__ import annotations

import json

import streamlit as st

from urban_plan.i18n import t

HTML_LANG = {"zh": "zh-CN", "en": "en"}

# Streamlit greys (captions #828180 = 3.9:1, help text) fall below WCAG's 4.5:1 for normal text on white: darker.
# Focus on a sidebar page link must not look like the current-page highlight: an outline, not a background.
_CSS = """
<style>
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p, .stCaption,
[data-testid="stWidgetLabel"] small, [data-testid="stTooltipHoverTarget"] svg,
[data-testid="stMetricDelta"], [data-testid="stHeadingDivider"] + p, [data-testid="stButton"] kbd, kbd {
  color: #55575f !important; }
/* Streamlit fades captions and shortcut hints with opacity .6 on top of their grey: that, not the grey, is what
   takes them under 4.5:1. */
[data-testid="stCaptionContainer"], kbd { opacity: 1 !important; }
[data-testid="stCode"] .token.parameter, [data-testid="stCode"] .parameter { color: #00627d !important; }
[data-testid="stSidebarNavLink"]:focus-visible, a:focus-visible, button:focus-visible,
[role="button"]:focus-visible, iframe:focus-visible { outline: 3px solid #1f5fa8 !important;
  outline-offset: 2px; }
[data-testid="stSidebarNavLink"]:focus:not(:focus-visible) { outline: none; }
.up-skip { position: absolute; left: -10000px; top: 0; z-index: 1000100; padding: .5rem 1rem;
  background: #ffffff; color: #1f3a5f; border: 3px solid #1f5fa8; border-radius: 4px; font-weight: 600; }
.up-skip:focus { left: .5rem; top: .5rem; }
h1.up-present-title { margin: 0; padding: 0; }
/* Out of the layout but not display:none: Streamlit only mounts (and runs) an HTML element it can show. */
.st-key-up-a11y { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
</style>
"""

# No "<" followed by a letter anywhere in it: DOMPurify drops a script whose text looks like markup.
# Sets the html element's lang (Streamlit always writes "en"), names Streamlit's own skip link in the UI language
# and adds one that goes straight to the map: Enter on it puts the focus on the map (arrows pan, +/- zoom; Enter there
# reaches the features). Our own fixed code; the only inputs are the language code and our own texts.
_JS = """
<script>
(function (cfg) {
  var doc = window.document;
  doc.documentElement.lang = cfg.lang;
  var builtin = doc.querySelector('a[href="#stMain"], a[href$="#main"]');
  if (!builtin) {
    builtin = Array.prototype.find.call(doc.querySelectorAll('a'), function (a) {
      return /^Skip to main content$/.test(a.textContent.trim()) || a.dataset.upSkip === 'main';
    });
  }
  if (builtin) { builtin.textContent = cfg.main; builtin.dataset.upSkip = 'main'; builtin.lang = cfg.lang; }
  var link = doc.getElementById('up-skip-map');
  if (!link) {
    link = doc.createElement('a');
    link.id = 'up-skip-map';
    link.className = 'up-skip';
    link.href = '#';
    link.addEventListener('click', function (event) {
      event.preventDefault();
      var frames = doc.querySelectorAll('iframe[title="streamlit_folium.st_folium"]');
      var frame = frames[frames.length - 1];
      if (!frame) { return; }
      try {
        var box = frame.contentDocument.querySelector('.leaflet-container');
        frame.focus();
        if (box) { box.focus(); }
      } catch (e) { frame.focus(); }
    });
    var anchor = builtin && builtin.parentNode ? builtin : null;
    if (anchor) { anchor.parentNode.insertBefore(link, anchor.nextSibling); }
    else { doc.body.insertBefore(link, doc.body.firstChild); }
  }
  link.textContent = cfg.map;
  link.lang = cfg.lang;
  link.hidden = !cfg.hasMap;
  // st.subheader writes an h3 right under the page's h1 (st.title): screen readers would hear a skipped level.
  // Our pages use no st.header, so a subheader is the second level: say so with aria-level, keeping its look.
  function levels() {
    doc.querySelectorAll('[data-testid="stMain"] h3:not([aria-level])').forEach(function (h) {
      h.setAttribute('aria-level', '2');
    });
  }
  levels();
  if (!window.__upHeadingLevels) {
    window.__upHeadingLevels = new MutationObserver(levels);
    window.__upHeadingLevels.observe(doc.body, {childList: true, subtree: true});
  }
})(%s);
</script>
"""


def setup(lang: str, *, has_map: bool) -> None:
    """Once per run, before the page: language, skip links and contrast CSS."""
    config = {
        "lang": HTML_LANG.get(lang, "zh-CN"),
        "main": t("a11y.skip_main", lang),
        "map": t("a11y.skip_map", lang),
        "hasMap": has_map,
    }
    st.html(_CSS)  # style only: Streamlit puts it in its event container, out of the layout
    with st.container(key="up-a11y"):  # out of the layout too (see _CSS); the script alone, as Streamlit runs it
        st.html(_JS % json.dumps(config, ensure_ascii=False), unsafe_allow_javascript=True)
