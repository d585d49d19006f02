"""Layouts that fit every screen: one stylesheet for projectors, laptops, phones and print, inlined on the pages."""

from __future__ import annotations

import functools
from pathlib import Path

import streamlit as st

STYLESHEET = Path(__file__).resolve().parents[1] / "static" / "app" / "layout.css"

# The map page's map reaches down to the bottom of the screen (so its legend is in view) whatever is above it: the
# title wraps differently per language and width, the KPI strip is one or two rows. The stylesheet cannot know
# that height, so this measures the map's distance from the top of the page into --up-map-top. Before printing,
# the maps are redrawn at the sheet's size (an iframe keeps its screen layout otherwise, stretched or cut).
# Our own fixed script, no data; installed once per browser tab.
_MAP_FIT_JS = """
<script>
(function () {
  if (window.__upMapFit) { return; }
  window.__upMapFit = true;
  var FRAMES = 'iframe[title="streamlit_folium.st_folium"]';
  function place() {
    var frame = document.querySelector('.st-key-up-mapzone ' + FRAMES);
    if (!frame) { return; }
    var top = frame.getBoundingClientRect().top + window.scrollY;
    for (var el = frame.parentElement; el; el = el.parentElement) { top += el.scrollTop || 0; }
    var value = Math.round(top) + 'px';
    if (document.documentElement.style.getPropertyValue('--up-map-top') !== value) {
      document.documentElement.style.setProperty('--up-map-top', value);
    }
  }
  function redraw() {
    document.querySelectorAll(FRAMES).forEach(function (frame) {
      try {
        var map = frame.contentWindow && frame.contentWindow.map;
        if (map) { map.invalidateSize(); }  // keeps the centre where it was
      } catch (e) { /* another origin: nothing to redraw */ }
    });
  }
  var main = document.querySelector('[data-testid="stMain"]');
  if (main && window.ResizeObserver) { new ResizeObserver(place).observe(main); }
  window.addEventListener('resize', place);
  setInterval(place, 1000);  // content above the map changed without resizing the page (rare): catch up
  place();
  window.matchMedia('print').addEventListener('change', redraw);
  window.addEventListener('beforeprint', redraw);
  window.addEventListener('afterprint', redraw);
})();
</script>
"""


def styles() -> None:
    """The layout stylesheet, inlined rather than linked from /app/static: it then applies in the same paint as
    the elements (a linked sheet arrives later, so a phone would first show six stacked cards and a 640 px map,
    then jump), and it works under any base URL a reverse proxy serves the app from. It is a few KB per run."""
    st.html(f"<style>{_stylesheet()}</style>")


def fit_map() -> None:
    """The map page's map down to the bottom of the screen, and redrawn at the sheet's size for print."""
    st.html(_MAP_FIT_JS, unsafe_allow_javascript=True)


@functools.cache
def _stylesheet() -> str:
    return STYLESHEET.read_text(encoding="utf-8")
