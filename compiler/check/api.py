"""The Python API for integrators: load a pack, check a case, get structured results.

    from mtus.compiler.check import api
    pack = api.load_pack()                       # the bundled MTUS pack
    letter = api.check_case("case.yaml", pack)   # or a dict shaped like a case file
    for d in letter.decisions:
        print(d.request.item, d.certified, d.result.unmet_ids())
    print(api.render(letter, "json"))

Everything here works without the front end once a pack is compiled.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from mtus.compiler.check.case import Case
from mtus.compiler.check.casefile import CaseError, read_case_file
from mtus.compiler.check.letter import Letter, decide, letter_json, render
from mtus.compiler.check.pack import Pack, PackError, open_pack
from mtus.compiler.check.runtime import CriterionResult, GuidelineResult

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Optional, Union


def load_pack(spec: Optional[str] = None) -> Pack:
    """A compiled pack folder, `.mtus` sources (compiled in memory and cached), or None for the bundled pack."""
    return open_pack(spec)


def read_case(case: Union[str, Mapping[str, Any]], pack: Pack) -> Case:
    """A case file path or a dict with the same shape, validated and routed. Raises CaseError."""
    if isinstance(case, Mapping):
        return pack.reader().read(dict(case), "<case>")
    return pack.reader().read(read_case_file(str(case)), str(case))


def check_case(case: Union[str, Mapping[str, Any]], pack: Optional[Pack] = None, wording: str = "imr") -> Letter:
    """Decide every request of a case; the Letter holds results and rationale."""
    pack = pack or load_pack()
    return decide(read_case(case, pack), pack, wording)


def evaluate(pack: Pack, guideline: str, facts: Mapping[str, Any], date: datetime.date) -> GuidelineResult:
    """Evaluate one guideline on facts written as in a case file's `facts` mapping."""
    case = read_case({"date": date.isoformat(), "request": {"item": guideline, "guideline": guideline},
                      "facts": dict(facts)}, pack)
    req = case.requests[0]
    return pack.guidelines[guideline].evaluate(req.facts, case.date)


__all__ = ["load_pack", "read_case", "check_case", "evaluate", "render", "letter_json", "Letter", "Pack",
           "Case", "CaseError", "PackError", "GuidelineResult", "CriterionResult"]
