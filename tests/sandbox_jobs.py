"""Jobs for tests/test_serve_sandbox.py, run in sandbox workers (compiler/tools/sandbox.py): each tests one limit."""

from __future__ import annotations

import resource
import time


def echo(payload):
    return payload


def sleep(payload):
    time.sleep(payload["seconds"])
    return "woke up"


def hog(payload):
    block = bytearray(payload["bytes"])  # more than the worker's address space allows
    return len(block)


def write(payload):
    with open(payload["path"], "w") as f:
        f.write("x" * 10)
    return "wrote"


def limits(payload):
    return {"as": resource.getrlimit(resource.RLIMIT_AS)[0], "fsize": resource.getrlimit(resource.RLIMIT_FSIZE)[0],
            "cpu": resource.getrlimit(resource.RLIMIT_CPU)[0]}


def fail(payload):
    raise ValueError("a defect in the job")
