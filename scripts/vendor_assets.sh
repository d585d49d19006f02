#!/usr/bin/env bash
# Re-create static/vendor/ from the npm registry (pinned versions). Run by a developer when upgrading, not by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fetch() { (cd "$tmp" && npm pack "$1" --silent >/dev/null && mkdir -p "$2" && tar xzf ./*.tgz -C "$2" && rm ./*.tgz); }
fetch leaflet@1.9.4 leaflet; fetch leaflet.fullscreen@3.0.0 fullscreen; fetch leaflet-measure@3.1.0 measure
out=static/vendor; rm -rf "$out"/leaflet-1.9.4 "$out"/leaflet.fullscreen-3.0.0 "$out"/leaflet-measure-3.1.0
mkdir -p "$out"/leaflet-1.9.4/images "$out"/leaflet.fullscreen-3.0.0 "$out"/leaflet-measure-3.1.0/assets
p=$tmp/leaflet/package; cp "$p"/dist/leaflet.js "$p"/dist/leaflet.css "$p"/LICENSE "$out"/leaflet-1.9.4/; cp "$p"/dist/images/*.png "$out"/leaflet-1.9.4/images/
p=$tmp/fullscreen/package; cp "$p"/{Control.FullScreen.js,Control.FullScreen.css,icon-fullscreen.svg,LICENSE} "$out"/leaflet.fullscreen-3.0.0/
p=$tmp/measure/package; cp "$p"/dist/{leaflet-measure.cn.js,leaflet-measure.en.js,leaflet-measure.css} "$p"/LICENSE "$out"/leaflet-measure-3.1.0/
cp "$p"/dist/assets/* "$out"/leaflet-measure-3.1.0/assets/
(cd "$out" && sha256sum ./*/*.js ./*/*.css)
