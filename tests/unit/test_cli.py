"""python -m urban_plan: the same store and rules as the page, exit codes 0/1/2/3, readable and --json reports."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from urban_plan import auth, cli
from urban_plan.store import FileLayerStore

PASSWORD = "correct horse battery"


@pytest.fixture
def secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """li, limited to projects; her password in URBAN_PLAN_PASSWORD, as a script would pass it."""
    path = tmp_path / "secrets.toml"
    auth.add_editor(path, "li", PASSWORD, layers=["projects"])
    monkeypatch.setenv(auth.SECRETS_ENV, str(path))
    monkeypatch.setenv(cli.PASSWORD_ENV, PASSWORD)
    return path


def run_cli(*argv: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The CLI as a separate process, standard input not a terminal (a script, a cron job)."""
    environment = {k: v for k, v in os.environ.items() if k != cli.PASSWORD_ENV} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "urban_plan", *argv],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=300,
    )


def projects_file(data_dir: Path, tmp_path: Path, status: str = "completed") -> Path:
    fc = json.loads((data_dir / "projects.geojson").read_text(encoding="utf-8"))
    fc["features"][3]["properties"]["status"] = status
    path = tmp_path / "projects.geojson"
    path.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_validate_reports_problems_in_chinese_and_exits_1(data_dir: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.geojson"
    bad.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"编号": "x", "名称": "某路", "状态": "完成了"},
                        "geometry": {"type": "Point", "coordinates": [116.4, 39.9]},
                    }
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "validate", str(bad), "--layer", "projects")
    assert code == cli.EXIT_REJECTED
    assert "济阳区以外" in out and "无法识别的状态“完成了”" in out and "未写入任何内容" in out


def test_validate_json_is_machine_readable(data_dir: Path, tmp_path: Path, capsys) -> None:
    code, out, _ = run(
        capsys, "--lang", "en", "validate", str(projects_file(data_dir, tmp_path)), "--layer", "projects", "--json"
    )
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["diff"]["changed"] == 1
    assert report["field_map"]["status"] == "status"


def test_import_publishes_through_the_store_and_history_shows_it(data_dir, tmp_path, secrets, capsys) -> None:
    code, out, _ = run(
        capsys,
        "import",
        str(projects_file(data_dir, tmp_path)),
        "--layer",
        "projects",
        "--author",
        "li",
        "--message",
        "黄河大道北延完工",
        "--as-of",
        "2026-10-01",
    )
    assert code == 0 and "第 4 版" in out
    latest = FileLayerStore(data_dir).latest("projects")
    assert (latest.author, latest.as_of) == ("li", "2026-10-01")
    assert latest.message == f"黄河大道北延完工 (os: {getpass.getuser()})"  # who ran it on the machine, too
    code, out, _ = run(capsys, "history", "projects", "--json")
    assert code == 0 and [v["number"] for v in json.loads(out)] == [1, 2, 3, 4]


def test_import_by_someone_who_is_not_an_editor_of_the_layer_is_refused(data_dir, tmp_path, secrets, capsys) -> None:
    before = FileLayerStore(data_dir).history("projects")
    assert (
        run(capsys, "import", str(projects_file(data_dir, tmp_path)), "--layer", "projects", "--author", "nobody")[0]
        == cli.EXIT_REJECTED
    )
    code, _, err = run(capsys, "import", str(projects_file(data_dir, tmp_path)), "--layer", "roads", "--author", "li")
    assert code == cli.EXIT_REJECTED and "无权" in err
    assert FileLayerStore(data_dir).history("projects") == before


def test_a_stale_base_version_is_a_conflict_with_exit_code_3(data_dir, tmp_path, secrets, capsys) -> None:
    code, _, err = run(
        capsys,
        "import",
        str(projects_file(data_dir, tmp_path)),
        "--layer",
        "projects",
        "--author",
        "li",
        "--base-version",
        "2",
    )
    assert code == cli.EXIT_CONFLICT and "冲突" in err
    assert FileLayerStore(data_dir).latest("projects").number == 3


def test_removing_most_features_needs_yes(data_dir, tmp_path, secrets, capsys) -> None:
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    code, _, err = run(capsys, "import", str(empty), "--layer", "projects", "--author", "li")
    assert code == cli.EXIT_REJECTED and "确认" in err
    assert run(capsys, "import", str(empty), "--layer", "projects", "--author", "li", "--yes")[0] == 0


def test_rollback_and_export(data_dir, tmp_path, secrets, capsys) -> None:
    assert run(capsys, "rollback", "projects", "--to", "1", "--author", "li")[0] == 0
    assert FileLayerStore(data_dir).latest("projects").message == f"rollback to v1 (os: {getpass.getuser()})"
    out_file = tmp_path / "v1.geojson"
    assert run(capsys, "export", "projects", "--version", "1", "-o", str(out_file))[0] == 0
    assert out_file.read_bytes() == FileLayerStore(data_dir).load_bytes("projects", 4)
    assert run(capsys, "rollback", "projects", "--to", "99", "--author", "li")[0] == cli.EXIT_REJECTED


def test_usage_errors_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["import", "x.geojson"])  # no --layer, no --author
    assert exc.value.code == cli.EXIT_USAGE
    assert cli.main(["validate", "x.geojson", "--layer", "projects", "--map", "nonsense"]) == cli.EXIT_USAGE


def test_add_editor_reads_the_password_from_stdin_and_writes_only_a_hash(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    result = subprocess.run(
        [sys.executable, "-m", "urban_plan", "add-editor", "wang", "--password-stdin", "--secrets", str(path)],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "$argon2id$" in path.read_text(encoding="utf-8") and PASSWORD not in path.read_text(encoding="utf-8")


def test_a_write_without_the_authors_password_is_refused_in_both_languages(data_dir, tmp_path, secrets) -> None:
    """Before: `--author li` alone published as li; anyone who could run the CLI could be any editor."""
    before = FileLayerStore(data_dir).history("projects")
    env = {auth.SECRETS_ENV: str(secrets), "URBAN_PLAN_DATA_DIR": str(data_dir)}
    result = run_cli("import", str(projects_file(data_dir, tmp_path)), "--layer", "projects", "--author", "li", env=env)
    assert result.returncode == cli.EXIT_USAGE, result.stderr
    assert "URBAN_PLAN_PASSWORD" in result.stderr and "密码" in result.stderr and "password" in result.stderr
    result = run_cli("rollback", "projects", "--to", "1", "--author", "li", env=env)
    assert result.returncode == cli.EXIT_USAGE
    assert FileLayerStore(data_dir).history("projects") == before


def test_a_wrong_password_is_refused_and_the_right_one_on_stdin_publishes(data_dir, tmp_path, secrets) -> None:
    env = {auth.SECRETS_ENV: str(secrets), "URBAN_PLAN_DATA_DIR": str(data_dir)}
    upload = str(projects_file(data_dir, tmp_path))
    wrong = run_cli("import", upload, "--layer", "projects", "--author", "li", env={**env, cli.PASSWORD_ENV: "nope!"})
    assert wrong.returncode == cli.EXIT_REJECTED and "不正确" in wrong.stderr
    assert FileLayerStore(data_dir).latest("projects").number == 3
    right = run_cli(
        *("--lang", "en", "import", upload, "--layer", "projects", "--author", "li", "--password-stdin"),
        stdin=PASSWORD + "\n",
        env=env,
    )
    assert right.returncode == 0, right.stderr
    assert FileLayerStore(data_dir).latest("projects").number == 4


def test_repeated_wrong_passwords_on_the_cli_are_throttled_like_the_page(
    data_dir, tmp_path, secrets, capsys, monkeypatch
) -> None:
    from urban_plan import throttle

    monkeypatch.setattr(throttle, "_now", lambda: 1_000_000.0)  # however slow this machine, no wait runs out
    monkeypatch.setenv(cli.PASSWORD_ENV, "not the password")
    codes = [run(capsys, "rollback", "projects", "--to", "1", "--author", "li")[0] for _ in range(4)]
    assert codes == [cli.EXIT_REJECTED] * 4
    monkeypatch.setenv(cli.PASSWORD_ENV, PASSWORD)
    code, _, err = run(capsys, "rollback", "projects", "--to", "1", "--author", "li")
    assert code == cli.EXIT_REJECTED and "秒后再试" in err
    assert FileLayerStore(data_dir).latest("projects").number == 3


@pytest.mark.parametrize(
    ("layers", "expected"),
    [(",", "--layers 为空"), ("", "--layers 为空"), ("projects,nowhere", "无法识别的图层:nowhere")],
)
def test_add_editor_refuses_an_empty_or_unknown_layer_list(tmp_path: Path, layers: str, expected: str) -> None:
    """Before: `--layers ","` (or "") wrote no limit, i.e. every layer."""
    path = tmp_path / "secrets.toml"
    result = run_cli("add-editor", "li", "--layers", layers, "--password-stdin", "--secrets", str(path), stdin=PASSWORD)
    assert result.returncode == cli.EXIT_USAGE and expected in result.stderr
    assert not path.exists()


def test_render_html_writes_one_offline_file(data_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "map.html"
    code, _, _ = run(
        capsys,
        "--lang",
        "en",
        "render-html",
        "-o",
        str(out),
        "--as-of",
        "2024-12-01",
        "--since",
        "2023-06-01",
        "--colour",
        "rating",
    )
    html = out.read_text(encoding="utf-8")
    assert code == 0 and "<script src=" not in html and "<link " not in html
    assert "2024-12-01" in html  # the as-of stamp
    assert "up-change" in html


def test_report_writes_a_pdf_or_explains_why_not(data_dir: Path, tmp_path: Path, capsys) -> None:
    import shutil

    out = tmp_path / "pack.pdf"
    code, _, err = run(capsys, "report", "-o", str(out), "--paper", "a3")
    if shutil.which("chromium") or Path("/usr/bin/chromium").exists():
        assert code == 0 and out.read_bytes().startswith(b"%PDF")
    else:
        assert code == cli.EXIT_REJECTED and "Chromium" in err
