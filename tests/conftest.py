"""Shared fixtures: a private copy of the shipped data per test, and CI's rule that nothing is skipped."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of geodata/ (layers, seeded history) that the test may change; the app and CLI point at it."""
    target = tmp_path / "data"
    shutil.copytree(ROOT / "geodata", target, ignore=shutil.ignore_patterns(".lock"))
    monkeypatch.setenv("URBAN_PLAN_DATA_DIR", str(target))
    return target


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a failed test: browser tests must run there, not quietly vanish."""
    if not os.environ.get("CI"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        if reporter:
            reporter.write_line(f"CI: {skipped} test(s) were skipped; failing the run.", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
