"""Deterministic TPI cases for the benchmark: runtime fact values under the guideline's own fact names.

generate(n, seed) returns n (facts, request_date) pairs. Half meet every
criterion (about 40% of those are repeat injections); the other half break
one to three criteria, by a failing value or by leaving a fact out (nested
ones included: a history field, a row's date, the whole history). Values sit
on the thresholds often: onset exactly 3 months back, relief exactly 50%,
relief for exactly 6 weeks, an interval of exactly 2 months, month ends.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from mtus.compiler.check.runtime import Duration, add_months

DIAGNOSES = ["myofascial pain syndrome", "cervicalgia", "low back pain", "trapezius myalgia",
             "Muscle spasm of back", "shoulder strain"]
GOOD_SUBSTANCES = ["local anesthetic", "local anesthetic with steroid"]
BAD_SUBSTANCES = ["saline", "glucose", "botulinum toxin", "corticosteroid only"]
REPEAT = ("repeat_relief", "repeat_function", "interval")


def _day(rng: random.Random, start: datetime.date, span_days: int) -> datetime.date:
    return start + datetime.timedelta(days=rng.randrange(span_days))


def _good(rng: random.Random) -> tuple[dict, datetime.date]:
    # three years of requests within the 2009 edition of the guideline (in force until 2016-07-28)
    request = _day(rng, datetime.date(2013, 7, 1), 3 * 365)
    if rng.random() < 0.1:  # a month end: the calendar clamps here
        request = add_months(request.replace(day=1), 1) - datetime.timedelta(days=1)
    onset = add_months(request, -rng.choice([3, 4, 6, 12, 30])) - datetime.timedelta(days=rng.choice([1, 1, 10, 45]))
    facts = {
        "twitch_response": True,
        "referred_pain": True,
        "symptom_onset": onset,
        "conservative_care_failed": True,
        "radiculopathy": False,
        "injections": rng.randint(1, 4),
        "substance": rng.choice(GOOD_SUBSTANCES),
        "diagnoses": frozenset(rng.sample(DIAGNOSES, rng.randint(1, 3))),
        "prior_injections": (),
    }
    if rng.random() < 0.4:
        rows = []
        last = add_months(request, -rng.choice([2, 2, 3, 4, 6]))
        for i in range(rng.randint(1, 3)):
            rows.append({
                "date": add_months(last, -3 * i),
                "relief": rng.choice([50, 60, 75, Decimal("50.0"), Decimal("62.5")]),
                "relief_lasted": rng.choice([Duration(0, 42), Duration(0, 56), Duration(2, 0), Duration(3, 0)]),
                "function_improved": True,
            })
        rng.shuffle(rows)  # `last` is by date, not by list order
        facts["prior_injections"] = tuple(rows)
    return facts, request


def _latest(rows):
    return max(rows, key=lambda r: r["date"])


def _break_repeat(rng: random.Random, facts: dict, request: datetime.date) -> None:
    if not facts["prior_injections"]:
        facts["prior_injections"] = ({"date": add_months(request, -3), "relief": 70,
                                      "relief_lasted": Duration(0, 56), "function_improved": True},)
    rows = [dict(r) for r in facts["prior_injections"]]
    last = _latest(rows)
    choice = rng.randrange(9)
    if choice == 0:
        del facts["prior_injections"]
        return
    if choice == 1:
        last["relief"] = rng.choice([49, Decimal("49.9"), 20])
    elif choice == 2:
        last["relief_lasted"] = rng.choice([Duration(0, 41), Duration(0, 14), Duration(1, 0)])
    elif choice == 3:
        last["function_improved"] = False
    elif choice == 4:
        last["date"] = add_months(request, -2) + datetime.timedelta(days=rng.choice([1, 10]))
    elif choice == 5:
        del last[rng.choice(["relief", "relief_lasted", "function_improved"])]
    elif choice == 6:
        rows.append({"relief": 80})  # an injection without a date: `last` cannot be named
    elif choice == 7:
        last["relief"] = None  # documented as empty: the same as absent
    else:
        rows.append({**last, "date": request - datetime.timedelta(days=3), "relief": 10})
    facts["prior_injections"] = tuple(rows)


def _drop_or(key, bad):
    def mutate(rng, facts, request):
        if rng.random() < 0.3:
            facts.pop(key, None)
        else:
            facts[key] = bad(rng, request)
    return mutate


MUTATIONS = [
    _drop_or("twitch_response", lambda rng, r: False),
    _drop_or("referred_pain", lambda rng, r: False),
    _drop_or("symptom_onset", lambda rng, r: add_months(r, -3) + datetime.timedelta(days=rng.choice([0, 0, 20]))),
    _drop_or("conservative_care_failed", lambda rng, r: False),
    _drop_or("radiculopathy", lambda rng, r: True),
    _drop_or("injections", lambda rng, r: rng.randint(5, 8)),
    _drop_or("substance", lambda rng, r: rng.choice(BAD_SUBSTANCES)),
    _drop_or("diagnoses", lambda rng, r: frozenset(rng.sample(DIAGNOSES, 1)
                                                   + [rng.choice(["fibromyalgia", "Fibromyalgia ", "FIBROMYALGIA"])])),
    _break_repeat,
]


def generate(n: int = 10_000, seed: int = 20241127) -> list[tuple[dict, datetime.date]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        facts, request = _good(rng)
        if i % 2:
            for mutate in rng.sample(MUTATIONS, rng.choice([1, 1, 1, 2, 2, 3])):
                mutate(rng, facts, request)
        out.append((facts, request))
    rng.shuffle(out)
    return out
