"""The playground's sandbox: worker processes with a hard time and memory limit, that write no file."""

from __future__ import annotations

import threading
import time

import pytest

from mtus.compiler.tools.sandbox import Busy, Sandbox, SandboxError
from tests.conftest import ROOT

MiB = 1 << 20


@pytest.fixture(autouse=True)
def _importable(monkeypatch):
    monkeypatch.chdir(ROOT)  # the workers import tests.sandbox_jobs from the working directory


def sandbox(job: str, **kw) -> Sandbox:
    return Sandbox(f"tests.sandbox_jobs:{job}", **kw)


def test_a_worker_answers_jobs_and_is_reused():
    box = sandbox("echo", memory=512 * MiB)
    try:
        assert [box.run({"n": i}) for i in range(3)] == [{"n": 0}, {"n": 1}, {"n": 2}]
        assert box.started == 1
    finally:
        box.close()


def test_the_worker_limits_itself_before_any_job():
    box = sandbox("limits", memory=300 * MiB, seconds=3)
    try:
        got = box.run({})
    finally:
        box.close()
    assert got["as"] == 300 * MiB and got["fsize"] == 0
    assert 0 < got["cpu"] < 60  # the CPU backstop: this job's time, not unlimited


def test_a_job_over_time_is_killed_and_the_next_job_gets_a_new_worker():
    box = sandbox("sleep", seconds=1, memory=512 * MiB)
    try:
        start = time.monotonic()
        with pytest.raises(SandboxError, match="took longer than 1 s"):
            box.run({"seconds": 30})
        assert time.monotonic() - start < 5
        assert box.run({"seconds": 0}) == "woke up"
        assert box.started == 2
    finally:
        box.close()


def test_a_job_over_memory_fails_and_its_worker_is_replaced():
    box = sandbox("hog", memory=400 * MiB, seconds=10)
    try:
        with pytest.raises(SandboxError, match="more than 400 MiB"):
            box.run({"bytes": 2000 * MiB})
        assert box.run({"bytes": 10 * MiB}) == 10 * MiB
        assert box.started == 2
    finally:
        box.close()


def test_a_worker_writes_no_byte_to_a_file(tmp_path):
    box = sandbox("write", memory=512 * MiB)
    target = tmp_path / "out.txt"
    try:
        with pytest.raises(SandboxError, match="File too large"):
            box.run({"path": str(target)})
    finally:
        box.close()
    assert not target.exists() or target.stat().st_size == 0


def test_a_failing_job_is_an_error_and_the_worker_goes_on():
    box = sandbox("fail", memory=512 * MiB)
    try:
        with pytest.raises(SandboxError, match="ValueError: a defect in the job"):
            box.run({})
        with pytest.raises(SandboxError):
            box.run({})
        assert box.started == 1
    finally:
        box.close()


def test_with_every_worker_busy_a_job_waits_then_is_refused():
    box = sandbox("sleep", seconds=5, memory=512 * MiB, workers=1)
    box.start()
    try:
        t = threading.Thread(target=box.run, args=({"seconds": 2},))
        t.start()
        time.sleep(0.3)
        with pytest.raises(Busy):
            box.run({"seconds": 0}, wait=0.2)
        t.join()
        assert box.run({"seconds": 0}) == "woke up"
    finally:
        box.close()
