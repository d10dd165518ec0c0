"""The TPI criteria written by hand, as a careful engineer would: the floor for the compiled fast path.

unmet(facts, request_date) -> ids of the criteria not met or not documented
(and of the exclusions that apply), in source order, with the same semantics
as guidelines/tpi.mtus: a finding must be documented true, radiculopathy is
presumed absent when silent, the number of injections and the injectate are
checked only when stated, an exclusion applies only when documented, no prior
injections documented is none, months are calendar months with month-end
clamping, relief must be greater than 50%, diagnoses compare as free text, the
last injection is the latest by date (unknown if one has no date), and a
relief duration in months is compared with 6 weeks on the calendar from the
request date. (The guideline's undocumented findings are decided in every
reading; for these criteria that lists the same ids.)
"""

from __future__ import annotations

import datetime

from mtus.compiler.check.runtime import add_months

_OTHER = frozenset({"saline", "glucose", "botulinum toxin", "corticosteroid only"})
_SIX_WEEKS = datetime.timedelta(days=42)
_REPEAT = ["repeat_relief", "repeat_function", "interval"]


def unmet(facts, request_date):
    out = []
    get = facts.get
    if not (get("twitch_response") is True and get("referred_pain") is True):
        out.append("trigger_points")
    onset = get("symptom_onset")
    if onset is None or not request_date > add_months(onset, 3):
        out.append("chronic")
    if get("conservative_care_failed") is not True:
        out.append("conservative_care")
    if get("radiculopathy") is True:
        out.append("no_radiculopathy")
    n = get("injections")
    if n is not None and n > 4:
        out.append("per_session")
    if get("substance") in _OTHER:
        out.append("other_injectate")
    dx = get("diagnoses")
    if dx is not None and any(" ".join(d.split()).casefold() == "fibromyalgia" for d in dx):
        out.append("fibromyalgia")
    prior = get("prior_injections")
    if prior:
        last = None
        for row in prior:
            d = row.get("date")
            if d is None:
                last = None
                break
            if last is None or d >= last["date"]:
                last = row
        if last is None:
            out += _REPEAT
        else:
            relief, lasted = last.get("relief"), last.get("relief_lasted")
            if relief is None or relief <= 50 or lasted is None or not (
                    lasted.days >= 42 if lasted.months == 0 else lasted.after(request_date) >= request_date + _SIX_WEEKS):
                out.append("repeat_relief")
            if last.get("function_improved") is not True:
                out.append("repeat_function")
            if request_date < add_months(last["date"], 2):
                out.append("interval")
    return out
