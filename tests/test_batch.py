"""Batch checking over JSON Lines: order kept, bad lines reported, the rest decided."""

from __future__ import annotations

import io
import json
from pathlib import Path

from click.testing import CliRunner

from mtus.compiler.check.batch import check_stream
from mtus.compiler.check.casefile import read_case_file
from mtus.compiler.tools.cli import main
from mtus.compiler.check.runtime import to_json_value

CASES = sorted((Path(__file__).parent / "cases" / "tpi").iterdir())


def _lines() -> list[str]:
    lines = [json.dumps(read_case_file(str(p)), default=to_json_value) for p in CASES]
    lines.insert(2, '{"date": "2014-02-30", "request": {"item": "trigger point injection"}}')
    lines.insert(4, "{not json")
    lines.insert(6, "")  # blank lines are skipped but keep the numbering
    return lines


def test_stream_keeps_order_and_reports_bad_lines(source_pack):
    out = io.StringIO()
    summary = check_stream(_lines(), out, source_pack)
    records = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [r["line"] for r in records] == [n for n, x in enumerate(_lines(), 1) if x.strip()]
    assert records[2]["error"][0]["key"] == "date" and "calendar date" in records[2]["error"][0]["message"]
    assert "not valid JSON" in records[4]["error"][0]["message"]
    assert summary.errors == 2 and summary.decided == len(CASES)
    decided = [r for r in records if r["error"] is None]
    assert {r["requests"][0]["determination"] for r in decided} == {"upheld", "overturned"}


def test_compact_records_agree_with_full_evaluation(source_pack):
    out = io.StringIO()
    check_stream(_lines(), out, source_pack)
    for r in (json.loads(x) for x in out.getvalue().splitlines()):
        if r["error"] is not None:
            continue
        case = json.loads(_lines()[r["line"] - 1])
        from mtus.compiler.check import api
        letter = api.check_case(case, source_pack)
        assert [d.result.unmet_ids() for d in letter.decisions] == [q["unmet"] for q in r["requests"]]


def test_cli_jsonl_exit_status_and_jobs(tmp_path, monkeypatch):
    src = tmp_path / "cases.jsonl"
    src.write_text("\n".join(_lines()) + "\n")
    runner = CliRunner()
    guidelines = str(Path(__file__).parent.parent / "guidelines")
    one = runner.invoke(main, ["check", "--jsonl", str(src), "--pack", guidelines])
    assert one.exit_code == 2  # some lines were errors
    assert "2 error(s)" in one.stderr
    two = runner.invoke(main, ["check", "--jsonl", str(src), "--pack", guidelines, "--jobs", "2"])
    assert two.exit_code == 2 and two.stdout == one.stdout
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(x for x in _lines()[:2]) + "\n")
    assert runner.invoke(main, ["check", "--jsonl", str(good), "--pack", guidelines]).exit_code == 0


def test_case_and_jsonl_are_exclusive():
    r = CliRunner().invoke(main, ["check"])
    assert r.exit_code == 2 and "give a case file, or --jsonl" in r.stderr


# --jobs N (its bounded read-ahead, its errors): tests/test_batch_parallel.py


def test_benchmark_lines_decide_as_the_checker_on_the_same_facts(source_pack):
    """bench/jsonl.py writes bench/cases.py's cases as case files: the batch results are
    the compiled checker's `unmet` on the facts they came from (the batch benchmark's inputs)."""
    from bench import jsonl

    lines = list(jsonl.lines(300, distinct=150))
    out = io.StringIO()
    summary = check_stream(lines, out, source_pack)
    assert summary.decided == 300
    pool = jsonl.pool(300, distinct=150)
    unmet = source_pack.guidelines["tpi"].module.unmet
    records = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [r["requests"][0]["unmet"] for r in records] == [unmet(*pool[i % 150]) for i in range(300)]
    assert {r["requests"][0]["certified"] for r in records} == {True, False}


def test_batch_with_a_precompiled_pack_imports_no_front_end(tmp_path):
    import os
    import subprocess
    import sys

    from mtus.compiler.build.packwriter import build_pack, write_pack

    pack = tmp_path / "pack"
    write_pack(build_pack([str(Path(__file__).parent.parent / "guidelines")]), str(pack))
    src = tmp_path / "cases.jsonl"
    src.write_text("\n".join(_lines()) + "\n")
    code = ("import sys; from mtus.compiler.tools.cli import main\n"
            "try:\n    main(['check', '--jsonl', sys.argv[1], '--pack', sys.argv[2]])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'lark' or m.startswith(('mtus.dsl', 'mtus.grammar'))\n"
            "             or m in ('mtus.compiler.build.codegen', 'mtus.compiler.build.interpret',"
            "                      'mtus.compiler.build.packinfo')))")
    r = subprocess.run([sys.executable, "-c", code, str(src), str(pack)], capture_output=True, text=True,
                       env=dict(os.environ, MTUS_CACHE_DIR=str(tmp_path / "cache")))
    assert r.stdout.strip().splitlines()[-1] == "[]", r.stderr


def test_ur_wording_names_outcomes_as_the_letter_does(source_pack):
    out = io.StringIO()
    check_stream(_lines(), out, source_pack, wording="ur")
    decided = [r for r in map(json.loads, out.getvalue().splitlines()) if r["error"] is None]
    assert {r["requests"][0]["determination"] for r in decided} == {"certified", "not certified"}
