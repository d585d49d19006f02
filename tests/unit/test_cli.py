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


# --- layers are data: layer list/add/edit/archive/restore, any layer of the registry in import/validate -----------


@pytest.fixture
def admin(secrets: Path) -> Path:
    """wang, an editor of every layer (may add layers), beside li (projects only); same password."""
    auth.add_editor(secrets, "wang", PASSWORD)
    return secrets


def schools_file(tmp_path: Path, *rows: tuple[str, str, str, int]) -> Path:
    rows = rows or (("S1", "济阳一中", "区教体局", 2400), ("S2", "济阳二中", "区教体局", 1800))
    features = [
        {
            "type": "Feature",
            "properties": {"编号": fid, "名称": name, "建设单位": builder, "学生数": pupils},
            "geometry": {"type": "Point", "coordinates": [117.17 + i / 100, 36.98]},
        }
        for i, (fid, name, builder, pupils) in enumerate(rows)
    ]
    path = tmp_path / "学校.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
    return path


def add_schools(capsys, *extra: str) -> tuple[int, str, str]:
    return run(
        capsys,
        *("layer", "add", "schools", "--name-zh", "学校", "--name-en", "Schools", "--role", "overlay"),
        *("--author", "wang", *extra),
    )


def test_layer_list_json_gives_every_layer_with_its_definition_and_data(data_dir, capsys) -> None:
    code, out, _ = run(capsys, "layer", "list", "--json")
    layers = json.loads(out)
    assert code == 0 and [layer["id"] for layer in layers] == ["layout", "projects", "rail", "roads", "context"]
    roads = layers[3]
    assert (roads["name_zh"], roads["tracks_progress"], roads["features"], roads["versions"]) == (
        "新改扩建道路",
        True,
        9,
        1,
    )
    code, out, _ = run(capsys, "--lang", "en", "layer", "list")
    assert code == 0 and "Nine road works" in out and "tracks progress" in out


def test_a_layer_is_added_edited_archived_and_restored_from_the_command_line(data_dir, admin, capsys) -> None:
    code, out, _ = add_schools(capsys)
    assert code == 0 and "第 2 版" in out
    code, out, _ = run(capsys, "layer", "edit", "schools", "--order", "5", "--colour", "#00695c", "--author", "wang")
    assert code == 0 and "第 3 版" in out
    code, out, _ = run(capsys, "layer", "archive", "schools", "--author", "wang", "--json")
    assert code == 0 and json.loads(out)["layer"]["archived"] is True
    code, out, _ = run(capsys, "layer", "list")
    assert "已归档" in out.splitlines()[0] and "schools" in out.splitlines()[0]  # order 5: first
    code, out, _ = run(capsys, "layer", "restore", "schools", "--author", "wang", "--message", "恢复学校图层")
    assert code == 0
    history = FileLayerStore(data_dir).history("layers")
    assert [v.author for v in history] == ["seed", "wang", "wang", "wang", "wang"]
    assert history[1].message.startswith("新增图层 schools") and "Added layer schools" in history[1].message
    assert history[-1].message == f"恢复学校图层 (os: {getpass.getuser()})"
    layer = FileLayerStore(data_dir).registry()["schools"]
    assert (layer.order, layer.colour, layer.archived, layer.tracks_progress) == (5, "#00695c", False, False)


@pytest.mark.parametrize(
    ("argv", "expected_code", "expected"),
    [
        (("layer", "add", "roads", "--name-zh", "路", "--name-en", "R", "--role", "base"), 1, "已有编号为“roads”"),
        (("layer", "add", "Schools", "--name-zh", "学校", "--name-en", "S", "--role", "base"), 1, "不可用"),
        (("layer", "add", "views", "--name-zh", "视图", "--name-en", "V", "--role", "base"), 1, "保留"),
        (("layer", "add", "parks", "--name-zh", "五大项目", "--name-en", "P", "--role", "base"), 1, "已被图层"),
        (("layer", "add", "parks", "--name-zh", "公园", "--name-en", "Parks"), 2, "--role"),
        (("layer", "edit", "roads", "--colour", "orange"), 1, "颜色代码"),
        (("layer", "edit", "roads"), 2, "--name-zh"),
        (("layer", "edit", "nowhere", "--order", "3"), 1, "没有图层“nowhere”"),
        (("layer", "restore", "roads"), 1, "没有归档"),
    ],
)
def test_a_refused_layer_change_exits_nonzero_says_why_and_writes_nothing(
    data_dir, admin, capsys, argv, expected_code, expected
) -> None:
    code, _, err = run(capsys, *argv, "--author", "wang")
    assert code == expected_code and expected in err
    assert len(FileLayerStore(data_dir).history("layers")) == 1


def test_a_layer_refusal_in_json_mode_is_json(data_dir, admin, capsys) -> None:
    code, out, _ = run(capsys, "--lang", "en", *("layer", "add", "Bad-Id", "--name-zh", "坏", "--name-en", "Bad"),
                       *("--role", "base", "--author", "wang", "--json"))  # fmt: skip
    report = json.loads(out)
    assert code == cli.EXIT_REJECTED and report["error"] == "bad_id" and "lower-case letters" in report["message"]


def test_an_editor_of_some_layers_cannot_add_one(data_dir, secrets, capsys) -> None:
    code, _, err = run(
        capsys, *("layer", "add", "schools", "--name-zh", "学校", "--name-en", "Schools", "--role", "overlay"),
        "--author", "li",
    )  # fmt: skip
    assert code == cli.EXIT_REJECTED and "无权" in err
    assert "schools" not in FileLayerStore(data_dir).registry()


def test_layer_writes_need_the_authors_password(data_dir, admin) -> None:
    env = {auth.SECRETS_ENV: str(admin), "URBAN_PLAN_DATA_DIR": str(data_dir)}
    result = run_cli("layer", "archive", "roads", "--author", "wang", env=env)
    assert result.returncode == cli.EXIT_USAGE and "URBAN_PLAN_PASSWORD" in result.stderr
    wrong = run_cli("layer", "archive", "roads", "--author", "wang", env={**env, cli.PASSWORD_ENV: "not it!"})
    assert wrong.returncode == cli.EXIT_REJECTED
    assert not FileLayerStore(data_dir).registry()["roads"].archived


def test_validate_accepts_any_layer_of_the_registry_and_lists_the_layers_for_an_unknown_one(
    data_dir, admin, tmp_path, capsys
) -> None:
    upload = str(schools_file(tmp_path))
    code, _, err = run(capsys, "validate", upload, "--layer", "schools")
    assert code == cli.EXIT_USAGE and "没有图层“schools”" in err and "projects" in err
    assert add_schools(capsys)[0] == 0
    code, out, _ = run(capsys, "--lang", "en", "validate", upload, "--layer", "schools", "--json",
                       "--set", "kind=学校", "--id-from", "row")  # fmt: skip
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["features"] == 2
    # ids from the row order: 编号 is then an attribute like the others
    new_fields = {f["name"]: f["type"] for f in report["new_fields"]}
    assert new_fields == {"编号": "text", "建设单位": "enum", "学生数": "number"}
    assert not {f["id"] for f in report["diff"]["features"]} & {"S1", "S2"}
    code, _, err = run(capsys, "validate", upload, "--layer", "schools", "--set", "kind")
    assert code == cli.EXIT_USAGE and "字段=值" in err


def test_import_into_a_new_layer_declares_its_columns_once(data_dir, admin, tmp_path, capsys) -> None:
    assert add_schools(capsys)[0] == 0
    upload = str(schools_file(tmp_path))
    code, out, _ = run(capsys, "import", upload, "--layer", "schools", "--author", "wang")
    assert code == 0 and "建设单位" in out
    s = FileLayerStore(data_dir)
    assert s.registry()["schools"].field_names() == ("建设单位", "学生数")
    assert s.load("schools")["features"][0]["properties"]["建设单位"] == "区教体局"
    registry_versions = len(s.history("layers"))
    changed = schools_file(tmp_path, ("S1", "济阳一中", "区教体局", 2500))
    assert run(capsys, "import", str(changed), "--layer", "schools", "--author", "wang", "--yes")[0] == 0
    assert len(s.history("layers")) == registry_versions  # nothing new to declare: no registry version
    code, out, _ = run(capsys, "history", "schools", "--json")
    assert code == 0 and [v["number"] for v in json.loads(out)] == [1, 2]


def test_import_into_an_archived_layer_is_refused_with_what_to_do(data_dir, admin, tmp_path, capsys) -> None:
    assert run(capsys, "layer", "archive", "roads", "--author", "wang")[0] == 0
    roads = tmp_path / "roads.geojson"
    roads.write_bytes((data_dir / "roads.geojson").read_bytes())
    code, _, err = run(capsys, "import", str(roads), "--layer", "roads", "--author", "wang")
    assert code == cli.EXIT_REJECTED and "已归档" in err and "恢复" in err
    assert FileLayerStore(data_dir).latest("roads").number == 1


def test_import_new_layer_creates_it_from_the_file(data_dir, admin, tmp_path, capsys) -> None:
    upload = str(schools_file(tmp_path))
    code, out, _ = run(capsys, "import", upload, "--layer", "schools", "--new-layer", "--name-zh", "学校",
                       "--name-en", "Schools", "--role", "overlay", "--author", "wang", "--json")  # fmt: skip
    report = json.loads(out)
    assert code == 0 and report["version"]["number"] == 1 and report["registry_version"]["number"] == 2
    s = FileLayerStore(data_dir)
    assert s.registry()["schools"].field_names() == ("建设单位", "学生数") and len(s.load("schools")["features"]) == 2
    code, _, err = run(capsys, "import", upload, "--layer", "roads", "--new-layer", "--name-zh", "路", "--name-en",
                       "R", "--role", "base", "--author", "wang")  # fmt: skip
    assert code == cli.EXIT_USAGE and "已存在" in err
    code, _, err = run(capsys, "import", upload, "--layer", "parks", "--new-layer", "--author", "wang")
    assert code == cli.EXIT_USAGE and "--name-zh" in err
    assert "parks" not in FileLayerStore(data_dir).registry()


def test_history_and_rollback_of_the_registry_keep_a_later_layer_archived(data_dir, admin, capsys) -> None:
    assert add_schools(capsys)[0] == 0
    code, _, err = run(capsys, "history", "nowhere")
    assert code == cli.EXIT_USAGE and "schools" in err and "targets" in err
    assert run(capsys, "history", "schools")[0] == 0
    assert run(capsys, "rollback", "layers", "--to", "1", "--author", "wang")[0] == 0
    layers = FileLayerStore(data_dir).registry()
    assert layers["schools"].archived and "schools" not in layers.ids()


def test_add_editor_accepts_a_layer_the_store_added(data_dir, admin, tmp_path, capsys) -> None:
    path = tmp_path / "other.toml"
    argv = ("add-editor", "zhao", "--layers", "schools", "--password-stdin", "--secrets", str(path))
    env = {"URBAN_PLAN_DATA_DIR": str(data_dir)}
    assert run_cli(*argv, stdin=PASSWORD, env=env).returncode == cli.EXIT_USAGE
    assert add_schools(capsys)[0] == 0
    result = run_cli(*argv, stdin=PASSWORD, env=env)
    assert result.returncode == 0, result.stderr
    assert 'layers = ["schools"]' in path.read_text(encoding="utf-8")


def test_json_mode_prints_only_json_even_for_a_shapefile_without_cpg(data_dir, tmp_path) -> None:
    import zipfile

    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame(
        {"编号": ["A1", "A2"], "名称": ["规划一路", "规划二路"], "责任单位": ["区住建局", "区交通局"]},
        geometry=[shapely.LineString([(117.17, 36.98), (117.18, 36.98)])] * 2,
        crs=4326,
    )
    frame.to_file(tmp_path / "r.shp", encoding="GBK")
    (tmp_path / "r.cpg").unlink(missing_ok=True)
    with zipfile.ZipFile(tmp_path / "r.zip", "w") as archive:
        for part in tmp_path.glob("r.*"):
            if part.suffix != ".zip":
                archive.write(part, part.name)
    result = run_cli("validate", str(tmp_path / "r.zip"), "--layer", "roads", "--json",
                     env={"URBAN_PLAN_DATA_DIR": str(data_dir)})  # fmt: skip
    report = json.loads(result.stdout)
    assert result.stderr == "" and report["detected"]["encoding"].startswith("GBK")
    assert "责任单位" in {f["name"] for f in report["new_fields"]}


def test_layer_field_changes_a_type_converting_the_stored_values_or_says_which_value_does_not_fit(
    data_dir, admin, tmp_path, capsys
) -> None:
    assert add_schools(capsys)[0] == 0
    assert run(capsys, "import", str(schools_file(tmp_path)), "--layer", "schools", "--author", "wang")[0] == 0
    code, _, err = run(capsys, "layer", "field", "schools", "建设单位", "--type", "number", "--author", "wang")
    assert code == cli.EXIT_REJECTED and "区教体局" in err and "数字" in err
    argv = ("layer", "field", "schools", "学生数", "--type", "text", "--label-en", "Pupils", "--tooltip")
    assert run(capsys, *argv, "--author", "wang")[0] == 0
    s = FileLayerStore(data_dir)
    field = s.registry()["schools"].field("学生数")
    assert (field.type, field.label_en, field.tooltip) == ("text", "Pupils", True)
    assert [f["properties"]["学生数"] for f in s.load("schools")["features"]] == ["2400", "1800"]
    assert run(capsys, "layer", "field", "schools", "学生数", "--author", "wang")[0] == cli.EXIT_USAGE
