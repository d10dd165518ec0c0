"""The playground's evaluation: lint a guideline typed into the page and decide a case with it, in a sandbox worker.

It runs inside compiler/tools/sandbox.py's worker process, never in the
server. The guideline text is untrusted: it is checked as `mtus lint`
checks a file, and a guideline that checks is evaluated by the reference
interpreter (compiler/build/interpret.py) walking its model; it is never
turned into Python and run. The letter is phrased by the same functions as
`mtus check`'s (check/letter.py), over a one-guideline pack whose guideline
evaluates through the interpreter.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any, Optional

import attrs

from mtus.compiler.build import interpret
from mtus.compiler.build.packinfo import describe
from mtus.compiler.check.casefile import CaseError, parse_case_text
from mtus.compiler.check.info import FormularyInfo, GuidelineInfo
from mtus.compiler.check.letter import WORDINGS, decide, letter_json, render
from mtus.compiler.check.pack import Pack
from mtus.compiler.check.runtime import to_json_value
from mtus.compiler.tools.lint import with_lints
from mtus.dsl import diagnostics as diag
from mtus.dsl import model
from mtus.dsl.frontend import check_text

#: The names the page's two editors have in diagnostics and problems.
GUIDELINE_NAME = "guideline.mtus"
CASE_NAME = "case.yaml"
TARGET = "mtus.compiler.tools.playground_eval:evaluate"


@attrs.frozen
class InterpretedGuideline:
    """A pack guideline whose evaluation is the reference interpreter's walk of the checked model."""

    id: str
    info: GuidelineInfo
    model: Any

    def evaluate(self, facts, request_date):
        return interpret.evaluate(self.model, facts, request_date)


@functools.lru_cache(maxsize=1)
def _formulary() -> Optional[FormularyInfo]:
    """The bundled pack's drug formulary, so "Norco 10/325" reaches a guideline typed in the page as in the pack."""
    from mtus.compiler.check.pack import bundled_pack

    return bundled_pack().formulary


def prepare() -> None:
    """Run once when a sandbox worker starts: the formulary and the front end, loaded before any job's clock."""
    _formulary()
    check_text("guideline warm \"Warm\"\n", GUIDELINE_NAME)


def _pack(guideline: model.Guideline, source: str) -> Pack:
    info = describe(guideline)
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    return Pack(name="playground", version="0", digest=digest,
                guidelines={guideline.id: InterpretedGuideline(guideline.id, info, guideline)},
                location="<playground>", formulary=_formulary())


def _jsonable(data: Any) -> Any:
    return json.loads(json.dumps(data, default=to_json_value))


def evaluate(payload: dict) -> dict:
    """{source, case, wording} -> the diagnostics (as `mtus lint --format json`), the case's problems, the letter."""
    source, case_text = str(payload.get("source", "")), str(payload.get("case", ""))
    wording = payload.get("wording", "imr")
    if wording not in WORDINGS:
        wording = "imr"
    result = check_text(source, GUIDELINE_NAME)
    if result.ok:
        from mtus.compiler.build.packwriter import with_fact_conflicts

        result = with_fact_conflicts([result])[0]
    ds = with_lints(result)
    out: dict = {"diagnostics": [d.to_json() for d in ds], "summary": diag.summary(ds),
                 "diagnostics_text": diag.render_text(ds, {result.source.path: result.source}),
                 "guideline": None, "case_problems": [], "letter": None}
    if not result.ok or not isinstance(result.model, model.Guideline):
        if result.ok:  # a formulary file checks, but decides nothing
            out["case_problems"] = [{"severity": "error", "path": GUIDELINE_NAME, "key": "", "line": None,
                                     "message": "this is a formulary, not a guideline: it decides no request",
                                     "hint": "start the file with `guideline ID \"Title\"`"}]
        return out
    g = result.model
    out["guideline"] = {"id": g.id, "title": g.title}
    pack = _pack(g, source)
    try:
        case = pack.reader().read(parse_case_text(case_text, CASE_NAME), CASE_NAME)
    except CaseError as e:
        out["case_problems"] = [p.to_json() for p in e.problems]
        return out
    letter = decide(case, pack, wording)
    out["case_problems"] = [w.to_json() for w in case.warnings]
    out["letter"] = {"json": _jsonable(letter_json(letter, True)), "text": render(letter, "text"),
                     "markdown": render(letter, "markdown"), "trace": render(letter, "text", True),
                     "decided": letter.decided}
    return out
