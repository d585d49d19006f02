"""Problems and store errors in the user's language: what was found, what is expected, for which feature."""

from __future__ import annotations

import errno
from collections.abc import Iterable

import pandas as pd

from urban_plan.i18n import label, t
from urban_plan.schema import Problem
from urban_plan.store import StoreError


def message(problem: Problem, lang: str) -> str:
    """One sentence: what was found and what is expected."""
    field = label("field", problem.field, lang) if problem.field else ""
    return t(
        f"problem.{problem.code}",
        lang,
        found=problem.found,
        field=field,
        feature=problem.feature,
        **dict(problem.params),
    )


def table(problems: Iterable[Problem], lang: str) -> pd.DataFrame:
    """Problems as rows for the page: severity, feature (id or #row; * for the whole file), field, message."""
    rows = [
        {
            t("problems.severity", lang): t(f"problems.{p.severity}", lang),
            t("problems.feature", lang): t("problems.whole_file", lang) if p.feature == "*" else p.feature,
            t("problems.field", lang): label("field", p.field, lang) if p.field else "",
            t("problems.message", lang): message(p, lang),
        }
        for p in problems
    ]
    columns = [t(f"problems.{c}", lang) for c in ("severity", "feature", "field", "message")]
    return pd.DataFrame(rows, columns=columns)


def store_message(error: StoreError, lang: str) -> str:
    return t(f"store.{error.code}", lang, **{k: str(v) for k, v in error.params.items()})


def write_error_message(error: OSError, lang: str) -> str:
    """A write to the data folder that the system refused (read-only, full, no permission), for people: what
    happened, that nothing was written, what to do. The store writes atomically, so a refused publish left no trace."""
    code = {
        errno.EROFS: "read_only",
        errno.EACCES: "read_only",
        errno.EPERM: "read_only",
        errno.ENOSPC: "disk_full",
        errno.EDQUOT: "disk_full",
    }.get(error.errno or 0, "write_failed")
    return t(f"store.{code}", lang, detail=error.strerror or type(error).__name__)
