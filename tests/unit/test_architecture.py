"""Structure rules: src/urban_plan never imports streamlit; pages stay thin."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("path", sorted((ROOT / "src" / "urban_plan").rglob("*.py")), ids=lambda p: p.name)
def test_the_logic_package_never_imports_streamlit(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [name for name in imported if name.split(".")[0] in ("streamlit", "streamlit_folium")]


@pytest.mark.parametrize("path", sorted((ROOT / "app_pages").glob("*.py")), ids=lambda p: p.name)
def test_pages_are_thin(path: Path) -> None:
    code_lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(code_lines) <= 120, f"{path.name} has {len(code_lines)} lines: move logic into src/urban_plan"
