"""Hostile inputs under the size limits: time and peak memory of each, as the user runs it.

    python bench/hostile.py            # every scenario, about a minute
    python bench/hostile.py --only yaml-text,requests

Each scenario writes its input to a temporary folder and runs one `mtus`
command on it in a fresh process, with a pack cache warmed once; the figures
are that process's wall time and peak resident memory (getrusage of the
child). `baseline` (an ordinary case) gives the scale of the machine now. Targets (issue 11):
case inputs under 2 s and 200 MB, or refused by a documented count limit;
a 1 MB guideline linted in under 5 s and compiled in under 10 s, under 500 MB,
or refused early. Nothing here is a test: timings on a shared machine are not.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

MIB = 1024 * 1024
DATE = "2014-12-18"
ITEM = "trigger point injections"

#: Runs a command and prints its wall time, peak memory (KiB on Linux) and exit status.
_MEASURE = ("import resource, subprocess, sys, time\n"
            "t = time.perf_counter()\n"
            "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
            "t = time.perf_counter() - t\n"
            "print(t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)\n"
            "sys.stderr.buffer.write(r.stderr[-400:])\n")


def _case(facts_yaml: str = "", requests: str = f"  - item: {ITEM}\n") -> str:
    return f"date: {DATE}\nrequests:\n{requests}facts:\n{facts_yaml}"


def yaml_text(d):
    """A 5 MiB YAML case file (just under the limit) whose one text value is the bulk."""
    head = _case("  diagnoses:\n    - ")
    return "case.yaml", head + "x" * (5 * MIB - len(head) - 2) + "\n"


def yaml_list(d):
    """A 5 MiB YAML case file of a list of short texts (the parser's worst plain shape)."""
    head = _case("  diagnoses:\n")
    n = (5 * MIB - len(head) - 100) // len("    - abcdefgh\n")
    return "case.yaml", head + "    - abcdefgh\n" * n


def yaml_mappings(d):
    """A 5 MiB YAML case file of small mappings (a history far over its entry limit)."""
    head = _case("  prior_injections:\n")
    row = "    - {date: 2014-01-01, relief: 60%}\n"
    return "case.yaml", head + row * ((5 * MIB - len(head) - 100) // len(row))


def requests(d):
    """50,000 requests in one case (JSON)."""
    return "case.json", json.dumps({"date": DATE, "requests": [{"item": ITEM}] * 50_000, "facts": {}})


def requests_at_limit(d):
    """1,000 requests in one case (the limit): each decided and written into the letter."""
    return "case.json", json.dumps({"date": DATE, "requests": [{"item": ITEM}] * 1_000, "facts": {}})


def unroutable_at_limit(d):
    """1,000 requests whose items no guideline governs (the request limit)."""
    return "case.json", json.dumps({"date": DATE, "requests": [{"item": f"unknown treatment {i}"}
                                                               for i in range(1_000)], "facts": {}})


def unroutable(d):
    """50,000 requests whose items no guideline governs (each needs a 'closest' hint)."""
    return "case.json", json.dumps({"date": DATE, "requests": [{"item": f"unknown treatment {i}"}
                                                               for i in range(50_000)], "facts": {}})


def unknown_facts(d):
    """60,000 fact keys that no guideline declares (each needs a 'did you mean' hint)."""
    return "case.json", json.dumps({"date": DATE, "requests": [{"item": ITEM}],
                                    "facts": {f"unknown_fact_{i}": True for i in range(60_000)}})


def jsonl_long_line(d):
    """One 200 MiB batch line without a line feed, then a good case: bounded memory, the run goes on."""
    path = os.path.join(d, "cases.jsonl")
    with open(path, "w") as f:
        f.write('{"x": "')
        for _ in range(200):
            f.write("y" * MIB)
        f.write('"}\n')
        f.write(json.dumps({"date": DATE, "requests": [{"item": ITEM}], "facts": {}}) + "\n")
    return "cases.jsonl", None


def guideline_expression_at_limit(d):
    """A guideline of one long `a or a or ...` criterion, at the front end's size limit (refused: too many tokens)."""
    from mtus.dsl.frontend import MAX_FILE_BYTES

    head = _guideline("  c: a")
    return "big.mtus", head + " or a" * ((MAX_FILE_BYTES - len(head) - 100) // 5) + '\n    says "x"\n'


def guideline_criteria_at_limit(d):
    """A guideline of many short criteria, at the front end's size limit (refused: too many tokens)."""
    from mtus.dsl.frontend import MAX_FILE_BYTES

    return "big.mtus", guideline_criteria(d, MAX_FILE_BYTES)[1]


def guideline_expression_at_token_limit(d):
    """One long `a or a or ...` criterion just under the token limit (each `or a` is two tokens)."""
    from mtus.dsl.parser import MAX_TOKENS

    head = _guideline("  c: a")
    return "big.mtus", head + " or a" * ((MAX_TOKENS - 100) // 2) + '\n    says "x"\n'


def guideline_criteria_at_token_limit(d):
    """Short criteria just under the token limit (each is nine tokens with its line ends and indents)."""
    from mtus.dsl.parser import MAX_TOKENS

    head = _guideline("")
    return "big.mtus", head + "".join(f'  c{i}: a\n    says "a"\n' for i in range((MAX_TOKENS - 100) // 9))


def _guideline(criteria: str, facts: str = "  a: finding \"a\"\n") -> str:
    return (f'guideline big "Big"\n  source "MTUS Chronic Pain Medical Treatment Guidelines" section "2" page 1\n\n'
            f"facts\n{facts}\ncriteria\n{criteria}")


def guideline_expression(d):
    """A 1 MB guideline of one long `a or a or ...` criterion."""
    head = _guideline("  c: a")
    return "big.mtus", head + " or a" * ((MIB - len(head) - 100) // 5) + '\n    says "x"\n'


def guideline_criteria(d, size: int = MIB):
    """A 1 MB guideline of many short criteria."""
    head = _guideline("")
    one = '  c{}: a\n    says "a"\n'
    out, i, limit = [head], 0, size
    size = len(head)
    while size < limit - 100:
        line = one.format(i)
        out.append(line)
        size += len(line)
        i += 1
    return "big.mtus", "".join(out)


def guideline_parentheses(d):
    """A 1 MB guideline of nested parentheses (refused at the nesting limit)."""
    head = _guideline("  c: ")
    n = (MIB - len(head) - 100) // 2
    return "big.mtus", head + "(" * n + "a" + ")" * n + '\n    says "x"\n'


def baseline(d):
    """The seed case of docs/examples: an ordinary `mtus check`, for scale on this machine now."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "docs", "examples", "seed-2014-12-18.yaml"), encoding="utf-8") as f:
        return "case.yaml", f.read()


CASE_CMD = ["check", "{path}"]
SCENARIOS = {
    "baseline": (baseline, CASE_CMD),
    "yaml-text": (yaml_text, CASE_CMD),
    "yaml-list": (yaml_list, CASE_CMD),
    "yaml-mappings": (yaml_mappings, CASE_CMD),
    "requests": (requests, CASE_CMD),
    "unroutable": (unroutable, CASE_CMD),
    "requests-at-limit": (requests_at_limit, CASE_CMD),
    "unroutable-at-limit": (unroutable_at_limit, CASE_CMD),
    "unknown-facts": (unknown_facts, CASE_CMD),
    "jsonl-long-line": (jsonl_long_line, ["check", "--jsonl", "{path}"]),
    "lint-expression": (guideline_expression, ["lint", "{path}"]),
    "compile-expression": (guideline_expression, ["compile", "{path}", "-o", "{dir}/pack"]),
    "lint-criteria": (guideline_criteria, ["lint", "{path}"]),
    "compile-criteria": (guideline_criteria, ["compile", "{path}", "-o", "{dir}/pack"]),
    "lint-parentheses": (guideline_parentheses, ["lint", "{path}"]),
    "lint-expression-at-limit": (guideline_expression_at_limit, ["lint", "{path}"]),
    "compile-expression-at-limit": (guideline_expression_at_limit, ["compile", "{path}", "-o", "{dir}/pack"]),
    "lint-criteria-at-limit": (guideline_criteria_at_limit, ["lint", "{path}"]),
    "compile-criteria-at-limit": (guideline_criteria_at_limit, ["compile", "{path}", "-o", "{dir}/pack"]),
    "lint-expression-at-token-limit": (guideline_expression_at_token_limit, ["lint", "{path}"]),
    "compile-expression-at-token-limit": (guideline_expression_at_token_limit,
                                          ["compile", "{path}", "-o", "{dir}/pack"]),
    "lint-criteria-at-token-limit": (guideline_criteria_at_token_limit, ["lint", "{path}"]),
    "compile-criteria-at-token-limit": (guideline_criteria_at_token_limit, ["compile", "{path}", "-o", "{dir}/pack"]),
}


def mtus_command() -> list[str]:
    exe = shutil.which("mtus", path=os.path.dirname(sys.executable)) or shutil.which("mtus")
    return [exe] if exe else [sys.executable, "-c", "from mtus.compiler.tools.cli import main; main()"]


def run(name: str, cache: str) -> dict:
    make, args = SCENARIOS[name]
    with tempfile.TemporaryDirectory() as d:
        filename, text = make(d)
        path = os.path.join(d, filename)
        if text is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        size = os.path.getsize(path)
        cmd = mtus_command() + [a.format(path=path, dir=d) for a in args]
        env = dict(os.environ, MTUS_CACHE_DIR=cache)  # one warm cache: the bundled pack is not recompiled
        r = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], capture_output=True, text=True, env=env)
        seconds, kib, status = r.stdout.split()
        tail = r.stderr.strip().splitlines()
    return {"scenario": name, "input_bytes": size, "seconds": round(float(seconds), 2),
            "peak_mb": round(int(kib) / 1024), "exit": int(status), "says": tail[0][:150] if tail else ""}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated scenario names: " + ", ".join(SCENARIOS))
    ap.add_argument("--json", help="also write the figures to this file")
    opts = ap.parse_args()
    names = opts.only.split(",") if opts.only else list(SCENARIOS)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    rows = []
    cache = tempfile.mkdtemp(prefix="mtus-bench-cache-")
    run("baseline", cache)  # warms the cache
    for name in names:
        row = run(name, cache)
        rows.append(row)
        print(f"{row['scenario']:34} {row['input_bytes'] / MIB:7.2f} MiB  {row['seconds']:7.2f} s  "
              f"{row['peak_mb']:5} MB  exit {row['exit']}  {row['says']}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    shutil.rmtree(cache, ignore_errors=True)
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
