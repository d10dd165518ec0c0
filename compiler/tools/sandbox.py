"""Worker processes for untrusted work, with a hard time and memory limit: the playground's evaluations run here.

A worker is a fresh Python process that limits itself before taking any job:
its address space (RLIMIT_AS), the files it may write (RLIMIT_FSIZE 0: it
writes none) and, before each job, its CPU time (RLIMIT_CPU, a backstop).
The server's side enforces the wall-clock limit: a job not answered in time
gets its worker killed (SIGKILL) and replaced on the next job. A job is a
module-level function named "module:function", called with one JSON
payload and answering JSON, one line each way over the worker's pipes; it
gets nothing of the server's memory. The module's `prepare()`,
if it has one, runs once when the worker starts.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import select
import subprocess
import sys
import threading
import time
from typing import Any, Optional


class SandboxError(Exception):
    """A job that did not finish: over its time or memory, or its worker died."""


class Busy(SandboxError):
    """Every worker stayed busy for as long as a job may wait."""


def _limit_self(memory: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # Python ignores SIGXFSZ: a write fails with EFBIG


def _cpu_backstop(seconds: float) -> None:
    """Let this job use `seconds` more CPU time (rounded up, plus one) before the kernel ends the process."""
    import resource

    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(used.ru_utime + used.ru_stime + seconds) + 1
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def _send(out, kind: str, answer: Any) -> None:
    out.write((json.dumps([kind, answer]) + "\n").encode("utf-8"))
    out.flush()


def main(argv: list[str]) -> None:
    """The worker (`python -m mtus.compiler.tools.sandbox TARGET MEMORY SECONDS`): one JSON job per line of stdin.

    It limits itself, imports the job's function, says it is ready, then
    answers each job with one JSON line `[kind, answer]` until stdin closes.
    """
    target, memory, seconds = argv[0], int(argv[1]), float(argv[2])
    out = os.fdopen(os.dup(1), "wb")  # the answers' channel; what the job prints goes to stderr
    os.dup2(2, 1)
    _limit_self(memory)
    module, name = target.split(":")
    try:
        loaded = importlib.import_module(module)
        func = getattr(loaded, name)
        prepare = getattr(loaded, "prepare", None)
        if prepare is not None:  # what every job needs, loaded once before the first job's clock starts
            prepare()
    except MemoryError:
        _send(out, "error", "the worker could not start within its memory limit")
        return
    _send(out, "ready", None)
    for line in sys.stdin.buffer:
        _cpu_backstop(seconds)
        try:
            answer = func(json.loads(line))
        except MemoryError:
            _send(out, "memory", None)
            return  # a process that ran out of memory is not trusted with the next job
        except Exception as e:  # noqa: BLE001 - the job's defect is its answer, the worker goes on
            _send(out, "error", f"{type(e).__name__}: {e}")
            continue
        _send(out, "ok", answer)


class _Worker:
    def __init__(self, target: str, memory: int, seconds: float, start_seconds: float):
        # a fresh interpreter: nothing of the server's memory or open files is inherited
        self.process = subprocess.Popen([sys.executable, "-m", "mtus.compiler.tools.sandbox", target, str(memory),
                                         str(seconds)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        close_fds=True)
        self._buffer = b""
        try:
            kind, message = self.receive(start_seconds)
        except SandboxError:
            self.kill()
            raise SandboxError("the worker did not start in time") from None
        if kind != "ready":
            self.kill()
            raise SandboxError(message or "the worker stopped while starting")

    def send(self, payload: Any) -> None:
        self.process.stdin.write((json.dumps(payload) + "\n").encode("utf-8"))
        self.process.stdin.flush()

    def receive(self, seconds: float) -> tuple[str, Any]:
        """The next answer line, or SandboxError when none is complete within `seconds` (or the worker ended)."""
        deadline = time.monotonic() + seconds
        fd = self.process.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise SandboxError("no answer in time")
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return "ended", None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        kind, answer = json.loads(line)
        return kind, answer

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(5)
        for pipe in (self.process.stdin, self.process.stdout):
            pipe.close()


class Sandbox:
    """Up to `workers` processes running `target`; run() is blocking and thread-safe."""

    def __init__(self, target: str, seconds: float = 5.0, memory: int = 1 << 30, workers: int = 1,
                 start_seconds: float = 30.0):
        self.target, self.seconds, self.memory = target, seconds, memory
        self.start_seconds = start_seconds
        self._idle: list[_Worker] = []
        self._slots = threading.BoundedSemaphore(workers)
        self._lock = threading.Lock()
        self.started = 0  # workers started so far (a replaced worker counts again)

    def _take(self) -> _Worker:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        self.started += 1
        return _Worker(self.target, self.memory, self.seconds, self.start_seconds)

    def start(self) -> None:
        """Start one worker now, so the first job does not wait for it."""
        worker = self._take()
        with self._lock:
            self._idle.append(worker)

    def run(self, payload: Any, wait: Optional[float] = None) -> Any:
        """The job's answer; SandboxError if it ran out of time or memory or failed, Busy if no worker freed up."""
        if not self._slots.acquire(timeout=self.seconds * 2 if wait is None else wait):
            raise Busy("every playground worker is busy")
        try:
            worker = self._take()
            try:
                worker.send(payload)
                kind, answer = worker.receive(self.seconds)
            except SandboxError:
                worker.kill()
                raise SandboxError(f"the evaluation took longer than {self.seconds:g} s, the playground's limit"
                                   ) from None
            except OSError:  # the worker's pipe closed under us
                kind, answer = "ended", None
            if kind == "ended":
                worker.kill()
                raise SandboxError("the evaluation stopped: it needed more CPU time or memory than the "
                                   "playground allows")
            if kind == "memory":
                worker.kill()
                raise SandboxError(f"the evaluation needed more than {self.memory >> 20:,} MiB, the playground's limit")
            with self._lock:
                self._idle.append(worker)
            if kind == "error":
                raise SandboxError(f"the evaluation failed ({answer})")
            return answer
        finally:
            self._slots.release()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


if __name__ == "__main__":
    main(sys.argv[1:])
