"""Deployment configuration the pages read: secrets (accounts, basemap keys) and the basemap settings."""

from __future__ import annotations

import os
import tomllib
from typing import Any

import streamlit as st

from ui import data
from urban_plan import auth, basemaps


def secrets() -> dict[str, Any]:
    """`URBAN_PLAN_SECRETS` when set (the CLI reads the same file), else Streamlit's secrets.toml. Read once per
    run (several parts of every page ask; treat it as read-only)."""
    return data.this_run(("secrets",), _read_secrets)


def _read_secrets() -> dict[str, Any]:
    if os.environ.get(auth.SECRETS_ENV):
        path = auth.secrets_path()
        try:
            return tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        except (OSError, tomllib.TOMLDecodeError):
            return {}
    try:
        return st.secrets.to_dict()
    except (FileNotFoundError, KeyError, AttributeError, st.errors.StreamlitSecretNotFoundError):
        return {}


def basemap_settings() -> basemaps.Settings:
    return data.this_run(("basemap_settings",), lambda: basemaps.settings_from(secrets()))
