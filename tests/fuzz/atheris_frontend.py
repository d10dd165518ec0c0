"""Coverage-guided fuzzing of the front end and the case-file reader with atheris.

Not part of the pytest run (the hypothesis suites in tests/test_frontend_fuzz.py
and tests/test_hostile_inputs.py run in CI). Run locally, for as long as you like:

    pip install atheris
    python tests/fuzz/atheris_frontend.py -max_total_time=300 tests/fuzz/corpus

The only outcomes allowed are a checked model or diagnostics (for guidelines) and a
case or a CaseError (for case files); anything else is a crash atheris reports with
the input that caused it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from mtus.compiler.check.case import case_from_data
    from mtus.compiler.check.casefile import CaseError, parse_case_text
    from mtus.compiler.build.packinfo import describe
    from mtus.dsl import check_text
    from mtus.dsl.model import Guideline

ROOT = Path(__file__).resolve().parents[2]
_INFOS = {}
for path in sorted((ROOT / "guidelines").glob("*.mtus")):
    model = check_text(path.read_text(encoding="utf-8"), str(path)).model
    if isinstance(model, Guideline):
        _INFOS[model.id] = describe(model)


def test_one_input(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    if data[:1] == b"\x01":  # one byte picks the target, so one corpus exercises both
        try:
            case_from_data(parse_case_text(text[1:], "fuzz.yaml"), "fuzz.yaml", _INFOS)
        except CaseError:
            pass
        return
    result = check_text(text, "fuzz.mtus")
    assert result.model is not None or result.diagnostics, "neither a model nor diagnostics"
    assert not any(d.code == "E999" for d in result.diagnostics), [d.message for d in result.diagnostics]


def main() -> None:
    corpus = ROOT / "tests" / "fuzz" / "corpus"
    corpus.mkdir(exist_ok=True)
    for path in sorted((ROOT / "guidelines").glob("*.mtus")):  # seed with every bundled guideline
        seed = corpus / path.name
        if not seed.exists():
            seed.write_bytes(path.read_bytes())
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
