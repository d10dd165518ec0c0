"""The TPI criteria written by hand, as a careful engineer would: the floor for the compiled fast path.

unmet(facts, request_date) -> ids of the criteria not met or not documented,
in source order, with the same semantics as the guideline: an absent fact
never meets a criterion, a finding must be documented true (or, for
radiculopathy, documented false), months are calendar months with month-end
clamping, 50% is inclusive, diagnoses compare as free text, the last
injection is the latest by date (unknown if one has no date), and a relief
duration in months is compared with 6 weeks on the calendar from the
request date.
"""

from __future__ import annotations

import datetime

from mtus.compiler.check.runtime import add_months

_LOCAL = frozenset({"local anesthetic", "local anesthetic with steroid"})
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
    if get("radiculopathy") is not False:
        out.append("no_radiculopathy")
    n = get("injections")
    if n is None or n > 4:
        out.append("per_session")
    if get("substance") not in _LOCAL:
        out.append("local_anesthetic")
    dx = get("diagnoses")
    if dx is None or any(" ".join(d.split()).casefold() == "fibromyalgia" for d in dx):
        out.append("fibromyalgia")
    prior = get("prior_injections")
    if prior is None:
        out += _REPEAT
    elif prior:
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
            if relief is None or relief < 50 or lasted is None or not (
                    lasted.days >= 42 if lasted.months == 0 else lasted.after(request_date) >= request_date + _SIX_WEEKS):
                out.append("repeat_relief")
            if last.get("function_improved") is not True:
                out.append("repeat_function")
            if request_date < add_months(last["date"], 2):
                out.append("interval")
    return out
