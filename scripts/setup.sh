#!/usr/bin/env bash
# Idempotent set-up on Debian with Python 3.11: system packages, .venv, Python packages.
#   scripts/setup.sh app    what the app needs (Chromium and CJK fonts are used for PDF/PNG exports)
#   scripts/setup.sh test   the same plus test tools (poppler-utils for pdftotext/pdffonts, pytest, Playwright)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-app}

python_bin=${PYTHON:-}
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python_bin=$candidate; break; fi
  done
fi
[ -n "$python_bin" ] || { echo "Python 3.11 is needed: apt-get install python3" >&2; exit 1; }
"$python_bin" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || echo "warning: $("$python_bin" --version) found; the project is tested on Python 3.11" >&2

packages=(chromium fonts-noto-cjk)
[ "$mode" = test ] && packages+=(poppler-utils)
"$python_bin" -c 'import ensurepip, venv' 2>/dev/null || packages+=(python3-venv)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "installing Debian packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
requirements=requirements.txt; [ "$mode" = test ] && requirements=requirements-dev.txt
stamp=.venv/.installed-$mode
digest=$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r "$requirements"
  echo "$digest" > "$stamp"
fi
