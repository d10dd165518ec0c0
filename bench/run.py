"""Benchmark the TPI checker four ways on the same generated cases, check they agree, print ratios.

    python bench/run.py               # 10,000 cases
    python bench/run.py --quick       # 1,000 cases, fewer repeats

Timed: the compiled fast path `unmet`, the compiled `evaluate`, the reference
interpreter, and a hand-written function (bench/handwritten.py). Every
repeat runs each contender once over all cases, in turn, so that a slow
moment of a shared machine hits all of them; the median repeat is reported.
Ratios come from this run only; there are no absolute thresholds.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the bench package itself; mtus comes from the install (pip install -e . measures this checkout)

from bench import cases as case_gen  # noqa: E402
from bench import handwritten  # noqa: E402
from mtus.compiler.build import interpret  # noqa: E402
from mtus.compiler.build.codegen import generate_module, load_module  # noqa: E402
from mtus.dsl import check_file  # noqa: E402


def _time_pass(fn, cases) -> float:
    """Seconds for one call of fn per case."""
    gc.disable()
    try:
        start = time.perf_counter()
        for facts, request_date in cases:
            fn(facts, request_date)
        return time.perf_counter() - start
    finally:
        gc.enable()


def measure(n_cases: int = 10_000, repeats: int = 9, seed: int = 20241127) -> dict:
    """Check agreement on every case and time the four contenders; returns the figures."""
    g = check_file(ROOT / "guidelines" / "tpi.mtus").model
    t0 = time.perf_counter()
    source = generate_module(g)
    checker = load_module(source, "tpi")
    compile_ms = (time.perf_counter() - t0) * 1000
    cases = case_gen.generate(n_cases, seed)

    def interpreted(facts, request_date):
        return interpret.evaluate(g, facts, request_date)

    # ------------------------------------------------------------ agreement
    disagreements = 0
    certified = 0
    for facts, rd in cases:
        expected = interpreted(facts, rd)
        ids = expected.unmet_ids()
        certified += expected.certified
        if not (checker.evaluate(facts, rd) == expected and checker.unmet(facts, rd) == ids
                and handwritten.unmet(facts, rd) == ids):
            disagreements += 1
            if disagreements <= 3:
                print(f"DISAGREE on {facts!r} at {rd}: interpreter {ids}, compiled unmet {checker.unmet(facts, rd)}, "
                      f"hand-written {handwritten.unmet(facts, rd)}", file=sys.stderr)

    # --------------------------------------------------------------- timing
    interp_repeats = max(1, repeats // 3)
    contenders = [
        ("hand-written unmet", handwritten.unmet, repeats),
        ("compiled unmet", checker.unmet, repeats),
        ("compiled evaluate", checker.evaluate, repeats),
        ("interpreter evaluate", interpreted, interp_repeats),
    ]
    for _, fn, _ in contenders:  # warm up
        _time_pass(fn, cases[:200])
    samples: dict[str, list[float]] = {name: [] for name, _, _ in contenders}
    for r in range(repeats):
        for name, fn, reps in contenders:
            if r < reps:
                samples[name].append(_time_pass(fn, cases))
    us = {name: statistics.median(s) / len(cases) * 1e6 for name, s in samples.items()}
    return {"cases": len(cases), "seed": seed, "certified": certified, "repeats": repeats,
            "interpreter_repeats": interp_repeats, "compile_ms": compile_ms, "us": us,
            "disagreements": disagreements, "python": platform.python_version(), "machine": platform.machine()}


def report(m: dict) -> str:
    """The report of one measure() as text."""
    us = m["us"]
    base = us["hand-written unmet"]
    out = [f"TPI benchmark: {m['cases']:,} cases (seed {m['seed']}, {m['certified']:,} certified), "
           f"median of {m['repeats']} passes ({m['interpreter_repeats']} for the interpreter)",
           f"Python {m['python']} on {m['machine']}; "
           f"generate + compile + load the checker: {m['compile_ms']:.1f} ms",
           "",
           f"{'contender':<22} {'us/case':>9} {'x hand-written':>15} {'interpreter / this':>19}"]
    for name in us:
        out.append(f"{name:<22} {us[name]:>9.3f} {us[name] / base:>14.2f}x {us['interpreter evaluate'] / us[name]:>18.1f}x")
    out.append("")
    fast, interp = us["compiled unmet"], us["interpreter evaluate"]
    d = m["disagreements"]
    out.append(f"all four agree on every case: {'yes' if d == 0 else f'NO ({d} disagreements)'}")
    out.append(f"target: compiled unmet within 2x of hand-written: {fast / base:.2f}x "
               f"-> {'met' if fast <= 2 * base else 'NOT met'}")
    out.append(f"target: compiled unmet at least 5x faster than the interpreter: {interp / fast:.1f}x "
               f"-> {'met' if interp >= 5 * fast else 'NOT met'}")
    out.append(f"compiled evaluate vs interpreter (same full results): {interp / us['compiled evaluate']:.1f}x faster")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=9, help="timed passes per contender (the interpreter gets a third)")
    ap.add_argument("--seed", type=int, default=20241127)
    ap.add_argument("--quick", action="store_true", help="1,000 cases and 3 repeats")
    args = ap.parse_args(argv)
    if args.quick:
        args.cases, args.repeats = 1_000, 3
    m = measure(args.cases, args.repeats, args.seed)
    print(report(m))
    return 0 if m["disagreements"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
