"""The command line, through click's CliRunner: exit codes and exact messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mtus.compiler.tools.cli import main
from tests.conftest import GUIDELINES, ROOT

BAD_CASES = sorted((Path(__file__).parent / "cases" / "bad").iterdir())
SEED = "docs/examples/seed-2014-12-18.yaml"


@pytest.fixture
def run(monkeypatch):
    monkeypatch.chdir(ROOT)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, list(args), catch_exceptions=False)
    return invoke


def test_lint_bundled_guidelines_is_clean(run):
    r = run("lint", "guidelines/")
    assert r.exit_code == 0, r.output
    assert "0 errors" in r.stderr


def test_check_seed_with_bundled_pack(run):
    r = run("check", SEED)
    assert r.exit_code == 0, r.stderr
    assert "Determination: UPHELD." in r.stdout
    assert "Rule pack: mtus-bundled" in r.stdout


def test_check_json_explain(run):
    r = run("check", SEED, "--pack", "guidelines/", "--format", "json", "--explain")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert data["requests"][0]["determination"] == "upheld"
    assert "criteria" in data["requests"][0]


@pytest.mark.parametrize("path", BAD_CASES, ids=[p.name for p in BAD_CASES])
def test_bad_case_file_exit_2_and_message(run, path, snapshot):
    r = run("check", str(path.relative_to(ROOT)), "--pack", "guidelines/")
    assert r.exit_code == 2
    assert r.stdout == ""  # nothing is printed as a result
    assert r.stderr == snapshot


def test_missing_case_file(run):
    r = run("check", "no/such/case.yaml", "--pack", "guidelines/")
    assert r.exit_code == 2
    assert "no/such/case.yaml: error: cannot read the case file" in r.stderr


def test_compile_then_check_with_the_pack(run, tmp_path):
    out = tmp_path / "pack"
    r = run("compile", "guidelines/", "-o", str(out), "--name", "mtus-chronic-pain", "--pack-version", "2024.1")
    assert r.exit_code == 0, r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["name"] == "mtus-chronic-pain" and "tpi" in manifest["guidelines"]
    r = run("check", SEED, "--pack", str(out))
    assert r.exit_code == 0
    assert "Rule pack: mtus-chronic-pain 2024.1" in r.stdout


def test_compile_names_at_most_shown_ids_guidelines(run, tmp_path, monkeypatch):
    from mtus.compiler.tools import cli

    monkeypatch.setattr(cli, "SHOWN_IDS", 3)
    r = run("compile", "guidelines/", "-o", str(tmp_path / "pack"))
    assert r.exit_code == 0, r.stderr
    n = len(json.loads((tmp_path / "pack" / "manifest.json").read_text())["guidelines"])
    assert f"{n} guideline(s): acupuncture, aeds, antidepressants, and {n - 3} more" in r.stderr


def test_a_pack_of_a_formulary_only_compiles_and_opens(run, tmp_path):
    """Its files of checkers and descriptions are empty, and the pack still verifies and routes drug names."""
    out = tmp_path / "pack"
    r = run("compile", "guidelines/formulary.mtus", "-o", str(out))
    assert r.exit_code == 0 and r.stderr.strip().endswith(": no guideline (a formulary only)"), r.stderr
    assert (out / "checkers.txt").read_bytes() == (out / "descriptions.jsonl").read_bytes() == b""
    from mtus.compiler.check.pack import PackError, load_pack, load_pack_files

    p = load_pack(str(out))
    assert len(p.guidelines) == 0 and p.formulary is not None and "carisoprodol" in p.formulary.ingredients
    (out / "checkers.txt").write_bytes(b"x")
    with pytest.raises(PackError, match="checkers.txt: is 1 byte, but the manifest places its parts in 0"):
        load_pack_files({rel.name: rel.read_bytes() for rel in out.iterdir()}, str(out))


def test_compile_reports_diagnostics_and_exit_1(run, tmp_path):
    bad = tmp_path / "bad.mtus"
    bad.write_text('guideline x "X"\n  source "S" page 1\ncriteria\n  a: nothing_declared\n')
    r = run("compile", str(bad), "-o", str(tmp_path / "out"))
    assert r.exit_code == 1
    assert "error[E201]" in r.stderr and not (tmp_path / "out").exists()


def test_compile_refuses_to_overwrite_a_folder_that_is_not_a_pack(run, tmp_path):
    (tmp_path / "notes.txt").write_text("precious")
    r = run("compile", "guidelines/", "-o", str(tmp_path))
    assert r.exit_code == 1
    assert "is not empty and is not a pack" in r.stderr
    assert (tmp_path / "notes.txt").read_text() == "precious"


def test_tampered_pack_is_refused(run, tmp_path):
    out = tmp_path / "pack"
    assert run("compile", "guidelines/", "-o", str(out)).exit_code == 0
    checkers = out / "checkers.txt"
    data = checkers.read_bytes()
    hijacked = data.replace(b"def evaluate(", b"print('hijacked')\ndef evaluate(")
    checkers.write_bytes(hijacked)
    r = run("check", SEED, "--pack", str(out))
    assert r.exit_code == 1
    assert f"{out}/checkers.txt: is {len(hijacked):,} bytes, but the manifest places its parts in " \
           f"{len(data):,}; the pack was altered" in r.stderr
    assert "hijacked" not in r.stdout
    checkers.write_bytes(data.replace(b"request_date", b"Request_date"))  # each part's bytes changed, not its size
    r = run("check", SEED, "--pack", str(out))
    assert r.exit_code == 1 and "checkers.txt#tpi: does not match its sha256 in the manifest" in r.stderr


def test_rationale_and_schema(run):
    r = run("rationale", "guidelines/tpi.mtus")
    assert r.exit_code == 0
    assert "Criteria for use (all must be met):" in r.stdout
    r = run("schema")
    assert r.exit_code == 0
    schema = json.loads(r.stdout)
    assert "twitch_response" in schema["properties"]["facts"]["properties"]


def test_rationale_unknown_guideline(run):
    r = run("rationale", "guidelines/", "--guideline", "tpj")
    assert r.exit_code == 2
    assert "no guideline `tpj`" in r.stderr


def test_every_command_help_has_an_example(run):
    for cmd in main.commands:
        r = run(cmd, "--help")
        assert r.exit_code == 0 and "Example:" in r.stdout, cmd


def test_guidelines_fixture_exists():
    assert (GUIDELINES / "tpi.mtus").is_file()


def test_pack_sha256_pins_the_pack(run, tmp_path):
    out = tmp_path / "pack"
    assert run("compile", "guidelines/", "-o", str(out)).exit_code == 0
    from mtus.compiler.check.pack import load_pack
    digest = load_pack(str(out)).digest
    assert run("check", SEED, "--pack", str(out), "--pack-sha256", digest).exit_code == 0
    r = run("check", SEED, "--pack", str(out), "--pack-sha256", "0" * 64)
    assert r.exit_code == 1 and "not the pack you meant to run" in r.stderr and r.stdout == ""


# ------------------------------------------------------------- conventions
def _invoke(*args, input=None, env=None):
    import os

    os.chdir(ROOT)
    return CliRunner().invoke(main, list(args), input=input, env=env, catch_exceptions=False)


ESI_CASE = "date: 2015-03-02\nrequest:\n  item: ESI\nfacts:\n  radiculopathy: present\n"


@pytest.mark.parametrize("flag, env, coloured", [
    ("always", {}, True), ("never", {}, False), ("auto", {}, False),  # auto: CliRunner is no terminal
    ("auto", {"NO_COLOR": "1"}, False), ("always", {"NO_COLOR": "1"}, True)])
def test_color_option_and_no_color(flag, env, coloured, monkeypatch):
    r = _invoke("check", "-", "--color", flag, input=ESI_CASE, env=env)
    assert r.exit_code == 0
    assert ("\x1b[" in r.stderr) == coloured
    assert "warning:" in r.stderr  # the words stay whatever the colour


def test_color_auto_colours_a_terminal_unless_no_color(monkeypatch):
    import click

    from mtus.compiler.tools import cli

    ctx = click.Context(cli.check)
    monkeypatch.delenv("NO_COLOR", raising=False)
    cli._set_color(ctx, None, "auto")
    assert ctx.color is None  # click decides: colour on a terminal, none in a pipe
    monkeypatch.setenv("NO_COLOR", "1")
    cli._set_color(ctx, None, "auto")
    assert ctx.color is False


def test_dash_reads_standard_input_everywhere(tmp_path):
    tpi = (GUIDELINES / "tpi.mtus").read_text(encoding="utf-8")
    seed = (ROOT / SEED).read_text(encoding="utf-8")
    assert "Determination: UPHELD." in _invoke("check", "-", input=seed).stdout
    assert "Rule pack: mtus-pack" in _invoke("check", SEED, "--pack", "-", input=tpi).stdout
    lint = _invoke("lint", "-", input=tpi.replace("twitch_response and", "twitch_respnse and"))
    assert lint.exit_code == 1 and lint.stdout.startswith("<stdin>:") and "error[E201]" in lint.stdout
    assert "passed, 0 failed" in _invoke("test", "-", input=tpi).stdout
    assert _invoke("compile", "-", "-o", str(tmp_path / "p"), input=tpi).exit_code == 0
    assert json.loads((tmp_path / "p" / "manifest.json").read_text())["guidelines"] == ["tpi"]
    assert "Trigger point injections (tpi)" in _invoke("rationale", "-", input=tpi).stdout
    assert "guideline: tpi" in _invoke("template", "tpi", "--pack", "-", input=tpi).stdout
    assert "twitch_response" in _invoke("schema", "-", input=tpi).stdout
    both = _invoke("check", "-", "--pack", "-", input=tpi)
    assert both.exit_code == 2 and "only one of the case and --pack" in both.stderr


def test_test_run_pattern_format_json_quiet_verbose():
    r = _invoke("test", "guidelines/", "--run", "tpi: seed")
    assert r.exit_code == 0 and r.stdout.count("ok   ") == 1 and "1 passed, 0 failed" in r.stdout
    verbose = _invoke("test", "guidelines/tpi.mtus", "--run", "seed", "-v").stdout
    assert "not certified because trigger_points not documented" in verbose
    quiet = _invoke("test", "guidelines/tpi.mtus", "-q").stdout
    assert "ok   " not in quiet and quiet.strip().endswith("passed, 0 failed")
    data = json.loads(_invoke("test", "guidelines/tpi.mtus", "--format", "json", "--coverage").stdout)
    assert data["failed"] == 0 and data["passed"] == len(data["examples"]) > 3
    assert {c["guideline"] for c in data["coverage"]} == {"tpi"}
    none = _invoke("test", "guidelines/", "--run", "no such example")
    assert none.exit_code == 2 and "matches no example" in none.stderr
    assert _invoke("test", "guidelines/", "--run", "(").exit_code == 2


def test_lint_quiet_and_json():
    assert _invoke("lint", "guidelines/", "-q").stderr == ""
    assert json.loads(_invoke("lint", "--format", "json", "guidelines/tpi.mtus").stdout) == []


def test_shell_completion_completes_commands_and_guideline_ids():
    script = CliRunner().invoke(main, [], env={"_MTUS_COMPLETE": "bash_source"}, prog_name="mtus")
    assert script.exit_code == 0 and "_mtus_completion()" in script.output
    words = CliRunner().invoke(main, [], prog_name="mtus", env={
        "_MTUS_COMPLETE": "bash_complete", "COMP_WORDS": "mtus template tp", "COMP_CWORD": "2"})
    assert "plain,tpi" in words.output.splitlines()
    assert "Shell completion" in (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
