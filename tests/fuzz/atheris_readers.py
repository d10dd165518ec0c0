"""Coverage-guided fuzzing of what `mtus check` reads: case files, JSON Lines batches and packs (atheris).

Not part of the pytest run (CI runs the hypothesis suites and tests/hostile/).
Run locally, one target at a time:

    pip install atheris
    python tests/fuzz/atheris_readers.py case  -runs=200000 tests/fuzz/corpus-case
    python tests/fuzz/atheris_readers.py jsonl -runs=200000 tests/fuzz/corpus-jsonl
    python tests/fuzz/atheris_readers.py pack  -runs=200000 tests/fuzz/corpus-pack

Allowed outcomes, anything else is a crash atheris reports with its input:
- case: a case (then decided, and its letter rendered in every format, with no raw
  control character in text or Markdown) or a CaseError;
- jsonl: one result record per non-blank line, whatever the bytes (seeded with the
  hostile corpus and with tests/cases/ as JSON lines, so lines are decided too);
- pack: the bundled pack with its manifest replaced by the input, or one of its
  files replaced (and re-hashed, so the loader's later checks are reached), is
  loaded or refused with a PackError, and so is each checker module when run.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from mtus.compiler.check.batch import JsonLines, check_stream
    from mtus.compiler.check.casefile import CaseError, parse_case_text
    from mtus.compiler.check.letter import decide, render
    from mtus.compiler.check.pack import PARTS, PackError, load_pack_files, sha256

from mtus.compiler.build.packwriter import build_pack, joined_parts  # noqa: E402 - compile time, not fuzzed

ROOT = Path(__file__).resolve().parents[2]
FILES = dict(build_pack([str(ROOT / "guidelines")], name="fuzz", version="1").files)
PACK = load_pack_files(FILES, "<fuzz pack>")
#: The pack target mutates a one-guideline pack: loading it then takes milliseconds, not the bundled pack's 100.
SMALL = dict(build_pack([str(ROOT / "guidelines" / "tpi.mtus")], name="fuzz", version="1").files)
NAMES = sorted(SMALL)
UNSAFE = {chr(c) for c in range(32) if c != 10} | {chr(c) for c in range(0x7f, 0xa0)}


def fuzz_case(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    name = "fuzz.json" if data[:1] == b"{" else "fuzz.yaml"
    try:
        case = PACK.reader().read(parse_case_text(text, name), name)
    except CaseError as e:
        assert e.problems and all(p.message for p in e.problems)
        return
    letter = decide(case, PACK, "imr")
    for fmt in ("text", "markdown", "json"):
        out = render(letter, fmt)
        if fmt != "json":
            assert not UNSAFE & set(out), "a raw control character in the letter"
        out.encode("utf-8")


def fuzz_jsonl(data: bytes) -> None:
    out = io.StringIO()
    with JsonLines(io.BytesIO(data), owned=True) as lines:
        lines = list(lines)
    summary = check_stream(lines, out, PACK)
    records = [json.loads(x) for x in out.getvalue().splitlines()]
    assert len(records) == summary.lines == sum(1 for x in lines if x.strip())


def fuzz_pack(data: bytes) -> None:
    if not data:
        return
    files = dict(SMALL)
    which = data[0] % (len(NAMES) + 1)  # the first byte picks the file; the rest is its new content
    body = data[1:]
    if which == len(NAMES) or NAMES[which] == "manifest.json":
        files["manifest.json"] = body
    else:  # the new content placed and hashed as the builder would: the loader must still refuse it or run it
        files[NAMES[which]] = body
        manifest = json.loads(SMALL["manifest.json"])
        if NAMES[which] in PARTS:  # the one guideline's part is the whole file
            manifest[PARTS[NAMES[which]]] = joined_parts([body])[1]
        else:
            manifest["files"][NAMES[which]] = sha256(body)
        files["manifest.json"] = json.dumps(manifest).encode()
    try:
        pack = load_pack_files(files, "<fuzz>")
        modules = [g.module for g in pack.guidelines.values()]
        assert all(m.RUNTIME_VERSION for m in modules)
    except PackError as e:
        assert str(e).startswith("<fuzz>"), str(e)
    except Exception as e:  # noqa: BLE001 - a checker module's own code may raise: it is code, and trusted
        if which == len(NAMES) or NAMES[which] != "checkers.txt":
            raise
        del e


TARGETS = {"case": fuzz_case, "jsonl": fuzz_jsonl, "pack": fuzz_pack}


def main() -> None:
    target = sys.argv.pop(1) if len(sys.argv) > 1 and sys.argv[1] in TARGETS else "case"
    corpus = ROOT / "tests" / "fuzz" / f"corpus-{target}"
    corpus.mkdir(exist_ok=True)
    hostile = ROOT / "tests" / "hostile" / "cases"
    seeds = {"case": sorted((ROOT / "tests" / "cases").rglob("*.yaml")) + sorted(hostile.iterdir()),
             "jsonl": sorted(hostile.glob("*.json")),
             "pack": []}[target]
    for i, path in enumerate(seeds):
        seed = corpus / f"seed-{i}-{path.name}"
        if not seed.exists():
            seed.write_bytes(path.read_bytes())
    if target == "jsonl":  # decidable lines too, one case a line and all in one batch, so deciding is reached
        from mtus.compiler.check.casefile import read_case_file
        from mtus.compiler.check.runtime import to_json_value

        lines = []
        for p in sorted((ROOT / "tests" / "cases").rglob("*.yaml")):
            try:
                lines.append(json.dumps(read_case_file(str(p)), default=to_json_value))
            except CaseError:
                continue  # a case file that is wrong on purpose
        for i, line in enumerate(lines):
            (corpus / f"seed-case-{i}").write_text(line + "\n", encoding="utf-8")
        (corpus / "seed-cases-all").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if target == "pack":
        for i, name in enumerate(NAMES[:8]):
            (corpus / f"seed-{i}").write_bytes(bytes([i]) + SMALL[name])
    atheris.Setup(sys.argv, TARGETS[target])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
