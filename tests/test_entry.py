"""The console script's fast `mtus check` (entry.py, no click) against the click command: the same output and exit
status for every argument list, errors included; what it leaves to click; what it imports."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import click
import pytest

from mtus.compiler.tools import cli, entry
from mtus.compiler.tools.output import paint, plain_echo, style
from tests.conftest import GUIDELINES, ROOT

SEED = "docs/examples/seed-2014-12-18.yaml"
BAD = "tests/cases/bad/unknown_fact.yaml"
YAML_ERROR = "tests/cases/bad/invalid_yaml.yaml"


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    from mtus.compiler.build.packwriter import build_pack, write_pack

    where = tmp_path_factory.mktemp("entry") / "pack"
    write_pack(build_pack([str(GUIDELINES / "tpi.mtus"), str(GUIDELINES / "esi.mtus")], name="entry-test",
                          version="1"), str(where))
    return str(where)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    where = tmp_path_factory.mktemp("entry-files")
    seed = (ROOT / SEED).read_text()
    (where / "warned.yaml").write_text(seed + "  not_a_fact_anywhere: 3\n")
    (where / "cut.yaml").write_text(seed.replace("item: Trigger Point Injections Bilateral Paraspinous Thoracic",
                                                 "item: TPI x2 #3"))
    (where / "none.yaml").write_text("date: 2014-12-18\nrequests:\n  - item: a gold-plated unicorn\n")
    (where / "broken.mtus").write_text("guideline broken\n  this is not mtus\n")
    lines = [{"case": "a", "date": "2014-12-18", "requests": [{"item": "Trigger point injections"}],
              "facts": {"symptom_onset": "2014-01-01"}}, {"case": "b"}]
    (where / "cases.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    unreadable = where / "unreadable.yaml"
    unreadable.write_text(seed)
    unreadable.chmod(0)
    return where


#: Argument lists after `check`: P is the pack, F the files' folder.
TABLE = [
    [SEED, "--pack", "P"],
    ["--pack", "P", SEED],
    [SEED, "--pack=P", "--format", "json", "--explain"],
    [SEED, "--pack", "P", "--format=markdown", "--wording", "ur"],
    [SEED, "--pack", "P", "--format", "text", "--format", "json"],
    [SEED, "--pack", "P", "--exit-code"],
    [SEED, "--pack", "P", "--strict", "-q"],
    [SEED, "--pack", "P", "--quiet", "--color", "never"],
    [BAD, "--pack", "P"],
    [BAD, "--pack", "P", "--color", "always"],
    [BAD, "--pack", "P", "--color=never"],
    [BAD, "--pack", "P", "--exit-code", "--strict"],
    [YAML_ERROR, "--pack", "P", "--color", "always"],
    ["F/warned.yaml", "--pack", "P"],
    ["F/warned.yaml", "--pack", "P", "--color", "always"],
    ["F/warned.yaml", "--pack", "P", "-q"],
    ["F/warned.yaml", "--pack", "P", "--strict"],
    ["F/cut.yaml", "--pack", "P"],
    ["F/none.yaml", "--pack", "P"],
    ["F/none.yaml", "--pack", "P", "--exit-code"],
    ["no/such/case.yaml", "--pack", "P"],
    ["", "--pack", "P"],
    [],
    ["--pack", "P"],
    [SEED, "--jsonl", "F/cases.jsonl", "--pack", "P"],
    ["--jsonl", "F/cases.jsonl", "--pack", "P"],
    ["--jsonl", "F/cases.jsonl", "--pack", "P", "--format", "json", "-q"],
    ["--jsonl", "F/cases.jsonl", "--pack", "P", "--jobs", "1", "--exit-code"],
    ["--jsonl", "F/no-such.jsonl", "--pack", "P"],
    ["-", "--pack", "-"],
    [SEED, "--pack", "/no/such/pack"],
    [SEED, "--pack", "P", "--pack-sha256", "00ff"],
    [SEED, "--pack", "guidelines/tpi.mtus"],
    [SEED, "--pack", "F/broken.mtus"],
    [SEED, "--pack", "F/broken.mtus", "--exit-code", "--color", "always"],
    # left to click: its messages
    [SEED, SEED, "--pack", "P"],
    [SEED, "--pack", "P", "--format", "xml"],
    [SEED, "--pack", "P", "--format", "JSON"],
    [SEED, "--pack", "P", "--wording", "xyz"],
    [SEED, "--pack", "P", "--jobs", "0"],
    [SEED, "--pack", "P", "--jobs", "65"],
    [SEED, "--pack", "P", "--jobs", "two"],
    [SEED, "--pack", "P", "--color", "sometimes"],
    [SEED, "--pack", "P", "--bogus"],
    [SEED, "--pack", "P", "--explain=yes"],
    [SEED, "--pack", "P", "-qx"],
    [SEED, "--pack"],
    [SEED, "--pack", "P", "--", "x"],
    ["--help"],
    [SEED, "-h"],
    ["tests/cases"],
    ["F/unreadable.yaml", "--pack", "P"],
]
FAST = {i for i, args in enumerate(TABLE) if i < TABLE.index([SEED, SEED, "--pack", "P"])}


def _args(args, pack, files):
    return [a.replace("--pack=P", f"--pack={pack}").replace("F/", f"{files}/") if a != "P" else pack for a in args]


def _run(fn, args, capsys, monkeypatch, stdin=""):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    try:
        code = fn(args)
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return (0 if code is None else code), out, err


@pytest.mark.parametrize("i", range(len(TABLE)), ids=[" ".join(a) or "(none)" for a in TABLE])
def test_the_fast_check_prints_and_exits_as_the_click_command(i, pack, files, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("NO_COLOR", raising=False)
    if os.geteuid() == 0 and "unreadable" in " ".join(TABLE[i]):
        pytest.skip("root reads every file")
    args = _args(TABLE[i], pack, files)
    assert (entry.read_check_args(args) is not None) == (i in FAST)  # the row tests the path it means to
    stdin = (ROOT / SEED).read_text()
    fast = _run(lambda a: entry.run(["check", *a]), args, capsys, monkeypatch, stdin)
    slow = _run(lambda a: cli.main(["check", *a]), args, capsys, monkeypatch, stdin)
    assert fast == slow
    assert "Traceback" not in fast[2]


def test_no_color_is_read_the_same_way(pack, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("NO_COLOR", "1")
    for extra in ([], ["--color", "always"], ["--color", "auto"]):
        args = [BAD, "--pack", pack, *extra]
        fast = _run(lambda a: entry.run(["check", *a]), args, capsys, monkeypatch)
        slow = _run(lambda a: cli.main(["check", *a]), args, capsys, monkeypatch)
        assert fast == slow and fast[0] == 2
        assert ("\x1b[" in fast[2]) == (extra == ["--color", "always"])


def test_the_reader_keeps_what_click_would_and_leaves_the_rest():
    assert entry.read_check_args(["c.yaml", "--pack", "--format", "--jobs=12", "-q"]) == {
        "case": "c.yaml", "pack_spec": "--format", "jobs": 12, "quiet": True, "format_given": False, "color": "auto"}
    assert entry.read_check_args(["--format=json", "-"])["format_given"] is True
    assert entry.read_check_args(["--jsonl", "-", "--pack-sha256", "ab"]) == {
        "case": None, "jsonl": "-", "pack_sha256": "ab", "format_given": False, "color": "auto"}
    for args in (["--jobs", "+2"], ["--jobs", "٣"], ["-"] * 2, ["--strict=1"], ["--pack"], ["--he"]):
        assert entry.read_check_args(args) is None, args


def test_other_commands_and_completion_go_to_click(monkeypatch, capsys):
    assert _run(entry.run, ["--version"], capsys, monkeypatch)[1].startswith("mtus, version")
    monkeypatch.setenv("_MTUS_COMPLETE", "bash_source")
    called = []
    monkeypatch.setattr(entry, "read_check_args", lambda args: called.append(args))
    _run(entry.run, ["check", SEED], capsys, monkeypatch)
    assert called == []


def test_styles_are_clicks():
    for fg in ("red", "yellow", "cyan"):
        assert style("error:", fg) == click.style("error:", fg=fg, bold=True)
    text = "x.yaml:3: error: bad\nhint: fix it\nwarning[W1]: w"
    assert click.unstyle(paint(text)) == text and paint(text).count("\x1b[0m") == 3


@pytest.mark.parametrize("color", [None, True, False])
@pytest.mark.parametrize("nl", [True, False])
def test_plain_echo_writes_as_click_echo(color, nl, capsys):
    text = paint("a: error: b") + "\x1b[1;2mc"
    click.echo(text, nl=nl, color=color, err=True)
    click.echo("", nl=nl, color=color)
    want = capsys.readouterr()
    plain_echo(text, nl=nl, color=color, err=True)
    plain_echo("", nl=nl, color=color)
    assert capsys.readouterr() == want


def test_the_console_script_checks_without_click_and_collects_again(pack, tmp_path):
    code = ("import gc, sys\nfrom mtus.compiler.tools.entry import main\nsys.argv = ['mtus'] + sys.argv[1:]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('click' in sys.modules, any(m == 'lark' or m.startswith('mtus.dsl') for m in sys.modules), "
            "gc.isenabled())")
    r = subprocess.run([sys.executable, "-c", code, "check", str(ROOT / SEED), "--pack", pack], capture_output=True,
                       text=True, env=dict(os.environ, MTUS_CACHE_DIR=str(tmp_path / "cache")))
    assert r.returncode == 0, r.stderr
    assert "UPHELD" in r.stdout
    assert r.stdout.strip().splitlines()[-1] == "False False True"
