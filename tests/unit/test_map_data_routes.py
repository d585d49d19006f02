"""The large layers' data route (ui/map_data_routes.py, mounted by serve.py): what the map fetches once per data
version instead of the page re-sending it on every run."""

from __future__ import annotations

import concurrent.futures
import gzip
import json
import runpy
from collections.abc import Iterator
from pathlib import Path

import folium
import numpy as np
import pytest

from tests import asgi
from tests.unit.test_fast_path import ON, parcels
from ui import login_routes, map_data_routes
from urban_plan import mapping, progress

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def layer() -> mapping.PreparedLayer:
    rated = progress.rate_frame(parcels(mapping.LARGE_LAYER + 200), ON, "zh")
    prepared = mapping.prepare_layer(rated, mapping.MapOptions())
    assert prepared.shared
    return prepared


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[map_data_routes.SharedData]:
    """A cache of this test's own, and the route unmounted again afterwards (this process's AppTests keep the
    inline block)."""
    fresh = map_data_routes.SharedData()
    monkeypatch.setattr(map_data_routes, "CACHE", fresh)
    monkeypatch.setattr(map_data_routes, "_state", {"mounted": False})
    yield fresh


def call(app, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One GET through the ASGI app (no HTTP client needed): status, headers, body."""
    status, headers_sent, body = asgi.get(app, path, headers=headers)
    return status, dict(headers_sent), body


def app_with_route():
    from starlette.applications import Starlette

    return Starlette(routes=map_data_routes.routes())


def test_the_route_serves_a_registered_layer_compressed_once_and_cacheable_for_good(
    cache: map_data_routes.SharedData, layer: mapping.PreparedLayer
) -> None:
    options = mapping.MapOptions()
    app = app_with_route()
    assert map_data_routes.mounted()
    sources = map_data_routes.register([layer], options)
    url = sources[layer.digest]
    assert url.startswith("/_map/shared/") and url.endswith(".json")
    assert cache.builds == 0  # registering costs a name, not the body: built on the first request

    status, headers, body = call(app, url, {"Accept-Encoding": "gzip, deflate, br"})
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert headers["content-type"].startswith("application/json")
    assert headers["cache-control"] == f"private, max-age={map_data_routes.MAX_AGE_S}, immutable"
    assert headers["etag"] == f'"{url.rsplit("/", 1)[1].removesuffix(".json")}"'
    assert headers["vary"] == "Accept-Encoding" and headers["x-content-type-options"] == "nosniff"
    served = gzip.decompress(body).decode()
    # Exactly what the page would carry inline, so the map parses the same JSON either way.
    block = mapping.shared_data_html([layer], options)
    assert block == f'<script type="application/json" id="up-shared-{layer.digest}">{served}</script>'
    parsed = json.loads(served)
    assert len(parsed["data"]["f"]) == len(layer.features) and parsed["styles"]

    for _ in range(3):  # every page run registers again, every browser fetches: one build
        assert map_data_routes.register([layer], options) == sources
        assert call(app, url, {"Accept-Encoding": "gzip"})[2] == body
    assert cache.builds == 1

    status, headers, plain = call(app, url)  # a client that does not take gzip gets the plain JSON
    assert status == 200 and "content-encoding" not in headers and plain.decode() == served
    status, headers, body = call(app, url, {"If-None-Match": headers["etag"]})
    assert status == 304 and body == b"" and headers["cache-control"].endswith("immutable")


def test_simultaneous_first_requests_build_the_body_once(
    cache: map_data_routes.SharedData, layer: mapping.PreparedLayer
) -> None:
    app = app_with_route()
    url = map_data_routes.register([layer], mapping.MapOptions())[layer.digest]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: call(app, url, {"Accept-Encoding": "gzip"}), range(8)))
    assert {status for status, _, _ in answers} == {200} and len({body for _, _, body in answers}) == 1
    assert cache.builds == 1


def test_unknown_or_malformed_names_are_not_found_and_never_cached(cache: map_data_routes.SharedData) -> None:
    app = app_with_route()
    assert call(app, "/_map/shared/../../app.py")[0] == 404  # not even the route's
    for path in [
        "/_map/shared/" + "0" * 24 + ".json",  # well formed, never registered in this process
        "/_map/shared/app.py",
        "/_map/shared/" + "A" * 24 + ".json",
        "/_map/shared/" + "0" * 24,
        "/_map/shared/" + "0" * 25 + ".json",
    ]:
        status, headers, _ = call(app, path, {"Accept-Encoding": "gzip"})
        assert status == 404, path
        assert headers.get("cache-control") == "no-store", path  # a later registration must not meet a cached 404
    assert cache.builds == 0


def test_the_cache_is_bounded_and_drops_the_least_recently_used(layer: mapping.PreparedLayer) -> None:
    cache = map_data_routes.SharedData(max_entries=2)
    for name in ("a" * 24, "b" * 24):
        cache.register(name, lambda: "{}")
    assert cache.touch("a" * 24)  # used again: "b" is now the oldest
    cache.register("c" * 24, lambda: "{}")
    assert cache.names() == ["a" * 24, "c" * 24]
    assert not cache.touch("b" * 24)

    by_size = map_data_routes.SharedData(max_bytes=1)  # every built body is over: only the newest stays
    big = json.dumps({"f": list(range(1000))})
    for name in ("d" * 24, "e" * 24):
        by_size.register(name, lambda: big)
        assert by_size.get(name).body()
        by_size.trim()
    assert by_size.names() == ["e" * 24]


def test_the_route_and_its_urls_carry_the_base_url_path(
    cache: map_data_routes.SharedData, layer: mapping.PreparedLayer
) -> None:
    from streamlit import config

    before = config.get_option("server.baseUrlPath")
    config.set_option("server.baseUrlPath", "/plan/")
    try:
        app = app_with_route()
        url = map_data_routes.register([layer], mapping.MapOptions())[layer.digest]
        assert url.startswith("/plan/_map/shared/")
        assert call(app, url, {"Accept-Encoding": "gzip"})[0] == 200
        assert call(app, url.removeprefix("/plan"), {"Accept-Encoding": "gzip"})[0] == 404
    finally:
        config.set_option("server.baseUrlPath", before)


def test_a_new_style_table_is_a_new_name(cache: map_data_routes.SharedData, layer: mapping.PreparedLayer) -> None:
    """The name covers the layers' names from the registry too (in the style table): a renamed layer is new data
    for the browser even when its features are unchanged."""
    zh = map_data_routes.register([layer], mapping.MapOptions(lang="zh"))[layer.digest]
    en = map_data_routes.register([layer], mapping.MapOptions(lang="en"))[layer.digest]
    assert zh != en and len(cache.names()) == 2


@pytest.mark.parametrize(
    ("header", "gzip_ok"),
    [
        ("gzip, deflate, br, zstd", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("*", True),
        ("gzip;q=0", False),
        ("identity", False),
        ("", False),
        ("*;q=0.5, gzip;q=0", False),
        ("gzip;q=nonsense", False),
    ],
)
def test_accept_encoding(header: str, gzip_ok: bool) -> None:
    assert map_data_routes.accepts_gzip(header) is gzip_ok


def test_the_map_fetches_the_route_and_the_page_carries_no_block(layer: mapping.PreparedLayer) -> None:
    options = mapping.MapOptions()
    keep = {"projects": np.ones(len(layer.rows), dtype=bool)}
    groups = mapping.prepared_overlay_groups({"projects": layer}, keep, {"projects": len(layer.rows)}, options)
    url = "/plan/_map/shared/" + "ab" * 12 + ".json"
    mapping.use_shared_sources(groups, {layer.digest: url}, "失败", "重试中")
    m = folium.Map(tiles=None)
    for group in groups:
        group.add_to(m)
    script = m.get_root().render()
    # The URL goes through the script-safe JSON (streamlit-folium rewrites `_name` patterns in what it sends).
    assert json.dumps(url).replace("_", "\\u005f") in script
    assert "fetch(src" in script and "重试中" in script and "失败" in script
    assert 'id="up-shared-' not in script  # no inline block
    # The selection is still the bit mask the inline path sends.
    with_block = mapping.shared_data_html([layer], options) + script
    (drawn,) = mapping.embedded_collections(with_block)
    assert len(drawn["features"]) == len(layer.features)


def test_without_sources_the_map_reads_the_pages_block() -> None:
    layer = mapping.prepare_layer(progress.rate_frame(parcels(mapping.LARGE_LAYER + 1), ON, "zh"), mapping.MapOptions())
    selected = mapping.SelectedLayer(layer, np.ones(len(layer.features), dtype=bool))
    group = folium.FeatureGroup(name="x").add_child(selected)
    mapping.use_shared_sources([group], {"another digest": "/x.json"}, "f", "r")
    m = folium.Map(tiles=None).add_child(group)
    assert 'src = ""' in m.get_root().render()


def test_serve_py_mounts_the_login_routes_and_the_map_data_route(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(login_routes, "_state", {"mounted": False})  # this process's AppTests stay unmounted
    monkeypatch.setattr(map_data_routes, "_state", {"mounted": False})
    monkeypatch.chdir(ROOT)
    app = runpy.run_path(str(ROOT / "serve.py"))["app"]
    paths = {route.path for route in app._user_routes}
    assert {login_routes.SESSION_PATH, login_routes.LOGOUT_PATH, map_data_routes.PATH + "/{name}"} <= paths
    assert map_data_routes.mounted() and login_routes.mounted()
