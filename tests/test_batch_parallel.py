"""`--jobs N` (check/parallel.py): byte blocks to the workers, the output of one process byte for byte."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtus.compiler.check import batch, parallel
from mtus.compiler.check.batch import JsonLines, check_stream
from mtus.compiler.check.casefile import read_case_file
from mtus.compiler.check.pack import open_pack
from mtus.compiler.check.runtime import to_json_value

ROOT = Path(__file__).resolve().parent.parent
GUIDELINES = str(ROOT / "guidelines")
CASES = [json.dumps(read_case_file(str(p)), default=to_json_value).encode()
         for p in sorted((ROOT / "tests" / "cases" / "tpi").iterdir())]


@pytest.fixture(scope="module")
def pack():
    return open_pack(GUIDELINES)  # the workers open the same spec (from the session's cache)


def _in_lines(stream: JsonLines) -> list:
    return [(n, type(x).__name__, str(x)) for n, x in enumerate(stream, 1)]


def _in_blocks(data: bytes, size: int) -> list:
    got = []
    for start, part, feeds in parallel._blocks(io.BytesIO(data).read, size):
        if isinstance(part, int):
            got.append((start, "LongLine", str(part)))
        else:
            assert feeds == part.count(b"\n")
            got += [(n, type(x).__name__, str(x)) for n, x in enumerate(parallel._lines(part, feeds), start)]
    return got


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"a", b"{}", b"\n", b"\n", b"\r", b" ", b"\xff", b"\xe2\x82", b"\xc3\xa9",
                                 b"\xf0\x9f\x98", b"\r\n", b"\xef\xbb\xbf"]), max_size=60).map(b"".join),
       st.integers(1, 40), st.integers(1, 12))
def test_blocks_cut_lines_as_the_one_process_reader_does(data, size, limit):
    """Whatever the bytes, block size and line limit: the same lines, numbers, long lines and U+FFFD."""
    old = batch.MAX_LINE_BYTES
    batch.MAX_LINE_BYTES = limit
    try:
        assert _in_blocks(data, size) == _in_lines(JsonLines(io.BytesIO(data), owned=True))
    finally:
        batch.MAX_LINE_BYTES = old


def test_a_long_line_is_dropped_while_it_is_read(monkeypatch):
    """The main process never holds more than a block beyond MAX_LINE_BYTES of a long line."""
    monkeypatch.setattr(batch, "MAX_LINE_BYTES", 100)
    data = b"x" * 10_000 + b"\n" + b"{}\n" + b"y" * 5_000
    held = []

    class Spy(io.BytesIO):
        def read(self, size=-1):
            held.append(size)
            return super().read(size)

    blocks = list(parallel._blocks(Spy(data).read, 16))
    assert blocks == [(1, 10_001, 1), (2, b"{}\n", 1), (3, 5_000, 0)]
    assert all(0 < s <= 16 for s in held)


def _tricky(limit: int) -> bytes:
    """Every kind of line a batch meets, around a line limit of `limit` bytes."""
    lines = [CASES[0], b"", b'{"date": "2014-02-30", "request": {"item": "trigger point injection"}}', b"{not json",
             b"   ", CASES[1], b'{"case": "\xff\xfe bad bytes", "date": "2014-12-18"}', b"\xef\xbb\xbf" + CASES[2],
             CASES[3].replace(b", ", b",\r "), b"[1, 2]", b'"a text"', b"x" * (limit - 1), b"x" * limit,
             b"x" * (limit + 1), b'{"case": "' + b"z" * (limit * 3) + b'"}', CASES[4] + b"   ", b"\t"]
    lines += CASES * 3
    return b"\n".join(lines) + b"\n" + CASES[5]  # the last line without a line feed


@pytest.mark.parametrize("block", [700, 1 << 18])
def test_two_jobs_write_what_one_process_writes(pack, monkeypatch, block):
    """Error records with their line numbers, blank lines, long lines, bad UTF-8, a BOM, a bare CR, a last
    line without a line feed, and block boundaries inside long and ordinary lines: byte for byte."""
    limit = 3000  # the workers are given the main process's limit
    monkeypatch.setattr(batch, "MAX_LINE_BYTES", limit)
    data = _tricky(limit)
    one, two = io.StringIO(), io.StringIO()
    summary_one = check_stream(JsonLines(io.BytesIO(data), owned=True), one, pack)
    summary_two = check_stream(JsonLines(io.BytesIO(data), owned=True), two, pack, pack_spec=GUIDELINES, jobs=2,
                               block=block)
    assert two.getvalue() == one.getvalue()
    assert summary_two == summary_one
    records = [json.loads(x) for x in one.getvalue().splitlines()]
    by_line = {r["line"]: r for r in records}
    assert 2 not in by_line and 5 not in by_line  # blank lines are skipped and keep the numbering
    assert "calendar date" in by_line[3]["error"][0]["message"] and "not valid JSON" in by_line[4]["error"][0]["message"]
    long = {n for n, r in by_line.items() if r["error"] and "longer than" in r["error"][0]["message"]}
    assert {14, 15} <= long and 12 not in long  # (13, of exactly the limit and a line feed, is one too)
    assert by_line[len(data.split(b"\n"))]["error"] is None  # the last line, without a line feed, is decided
    assert summary_one.errors > 5 and summary_one.decided > 20


class _Counted(io.BytesIO):
    """The input, counting the bytes the batch has read."""

    read_so_far = 0

    def read(self, size=-1):
        got = super().read(size)
        self.read_so_far += len(got)
        return got


class _Ahead(io.StringIO):
    """The output, recording how many input bytes were read beyond the last line answered."""

    def __init__(self, source: _Counted, ends: list):
        super().__init__()
        self.source, self.ends = source, ends
        self.written = 0
        self.most_ahead = 0

    def write(self, text):
        self.written += text.count("\n")
        self.most_ahead = max(self.most_ahead, self.source.read_so_far - self.ends[self.written - 1])
        return super().write(text)


def test_jobs_read_a_bounded_number_of_blocks_ahead_of_the_output(pack):
    """Memory does not grow with the input: at most jobs * window blocks (and the block being cut) are
    read ahead of the output (Pool.imap would read it all)."""
    data = b"".join(line + b"\n" for line in CASES * 150)  # over 2,000 lines: the progress counts thousands
    ends = [i + 1 for i, c in enumerate(data) if c == ord("\n")]
    block, window = 2048, 2
    assert len(data) > 20 * (2 * window + 1) * block
    source = _Counted(data)
    out = _Ahead(source, ends)
    progress = io.StringIO()
    summary = check_stream(JsonLines(source, owned=True), out, pack, pack_spec=GUIDELINES, jobs=2, block=block,
                           window=window, progress=progress)
    assert summary.lines == len(ends) and source.read_so_far == len(data)
    assert 0 < out.most_ahead <= (2 * window + 1) * block
    one, one_progress = io.StringIO(), io.StringIO()
    assert check_stream(JsonLines(io.BytesIO(data), owned=True), one, pack, progress=one_progress) == summary
    assert out.getvalue() == one.getvalue()
    assert progress.getvalue() == one_progress.getvalue() == \
        "".join(f"\r{k:,} cases" for k in range(1000, len(ends) + 1, 1000)) + "\n"


def test_spawned_workers_open_the_pack_and_write_what_one_process_writes(pack, monkeypatch):
    """Where fork is not used (another system, or another thread running), the workers open the pack again."""
    monkeypatch.setattr(parallel, "_start_method", lambda: "spawn")
    monkeypatch.setattr(batch, "MAX_LINE_BYTES", 3000)
    data = _tricky(3000)
    one, two = io.StringIO(), io.StringIO()
    check_stream(JsonLines(io.BytesIO(data), owned=True), one, pack)
    check_stream(JsonLines(io.BytesIO(data), owned=True), two, pack, pack_spec=GUIDELINES, jobs=2, block=4096)
    assert two.getvalue() == one.getvalue()


def test_fork_is_used_only_with_one_thread():
    assert parallel._start_method() == ("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert parallel._start_method() == "spawn"
    finally:
        stop.set()
        other.join()


def test_spawned_workers_refuse_another_pack_than_the_one_given(source_pack, monkeypatch):
    monkeypatch.setattr(parallel, "_start_method", lambda: "spawn")
    data = b"\n".join(CASES) + b"\n"
    with pytest.raises(RuntimeError, match="not .* pass pack_spec"):  # the workers open the bundled pack
        check_stream(JsonLines(io.BytesIO(data), owned=True), io.StringIO(), source_pack, pack_spec=None, jobs=2)


def test_several_jobs_need_the_input_bytes(pack):
    with pytest.raises(TypeError, match="JsonLines"):
        check_stream(["{}"], io.StringIO(), pack, pack_spec=GUIDELINES, jobs=2)


def _no_workers_left() -> bool:
    deadline = time.monotonic() + 20
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not multiprocessing.active_children()


def test_a_worker_killed_is_a_clear_error(pack):
    """A worker killed mid-run (the OOM killer, kill -9) ends the batch with a WorkerError, not a hang."""
    data = b"".join(line + b"\n" for line in CASES * 40)
    before = {p.pid for p in multiprocessing.active_children()}  # another test's workers may still be ending

    class Killing(io.BytesIO):
        reads = 0

        def read(self, size=-1):
            self.reads += 1
            if self.reads == 4:
                os.kill(next(p.pid for p in multiprocessing.active_children() if p.pid not in before), signal.SIGKILL)
            return super().read(size)

    out = io.StringIO()
    with pytest.raises(parallel.WorkerError, match="a worker process stopped without answering .* incomplete"):
        check_stream(JsonLines(Killing(data), owned=True), out, pack, pack_spec=GUIDELINES, jobs=2, block=2048)
    assert _no_workers_left()


def test_an_interrupt_stops_the_workers(pack):
    class Interrupted(io.BytesIO):
        reads = 0

        def read(self, size=-1):
            self.reads += 1
            if self.reads == 6:
                raise KeyboardInterrupt
            return super().read(size)

    data = b"".join(line + b"\n" for line in CASES * 40)
    with pytest.raises(KeyboardInterrupt):
        check_stream(JsonLines(Interrupted(data), owned=True), io.StringIO(), pack, pack_spec=GUIDELINES, jobs=2,
                     block=2048)
    assert _no_workers_left()


def test_cli_says_a_worker_died_without_a_traceback(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from mtus.compiler.tools.cli import main

    def dying(*args, **kw):
        yield 1, 1, 1, b"{}\n"
        raise parallel.WorkerError("a worker process stopped without answering")

    monkeypatch.setattr(parallel, "results", dying)
    src = tmp_path / "cases.jsonl"
    src.write_bytes(b"\n".join(CASES) + b"\n")
    r = CliRunner().invoke(main, ["check", "--jsonl", str(src), "--pack", GUIDELINES, "--jobs", "2"])
    assert r.exit_code == 2 and r.stdout == "{}\n"
    assert r.stderr == f"{src}: error: a worker process stopped without answering\n"


def test_ctrl_c_on_standard_input_says_aborted_and_no_traceback(tmp_path):
    """The whole process group gets SIGINT (as from a terminal) while the workers are deciding stdin's lines:
    the main process says Aborted!, the workers print nothing."""
    env = dict(os.environ, MTUS_CACHE_DIR=os.environ.get("MTUS_CACHE_DIR", str(tmp_path / "cache")))
    cmd = [sys.executable, "-c", "from mtus.compiler.tools.entry import main; main()",
           "check", "--jsonl", "-", "--pack", GUIDELINES, "--jobs", "2"]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, start_new_session=True)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        chunk = b"".join(line + b"\n" for line in CASES * 20)

        def feed():  # more than the blocks in flight, while results are read; the input stays open
            try:
                for _ in range(parallel.BLOCK * (2 * parallel.WINDOW + 2) // len(chunk) + 1):
                    proc.stdin.write(chunk)
                proc.stdin.flush()
            except BrokenPipeError:  # the batch was interrupted before reading it all
                pass

        threading.Thread(target=feed, daemon=True).start()
        first = proc.stdout.readline()  # a result: the workers are running
        assert json.loads(first)["line"] == 1
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 1
    assert "Traceback" not in err.decode() and err.decode().strip().endswith("Aborted!")


def test_standard_input_with_two_jobs_writes_what_one_process_writes(monkeypatch):
    from click.testing import CliRunner

    from mtus.compiler.tools.cli import main

    blocks = []

    def counted(*args, real=parallel._blocks):
        for got in real(*args):
            blocks.append(got[0])
            yield got

    monkeypatch.setattr(parallel, "_blocks", counted)

    data = _tricky(batch.MAX_LINE_BYTES)  # the real limit: a line over 1 MiB from standard input
    runner = CliRunner()
    one = runner.invoke(main, ["check", "--jsonl", "-", "--pack", GUIDELINES], input=data)
    two = runner.invoke(main, ["check", "--jsonl", "-", "--pack", GUIDELINES, "--jobs", "2"], input=data)
    assert one.exit_code == two.exit_code == 2  # some lines are errors
    assert two.stdout_bytes == one.stdout_bytes and two.stderr == one.stderr
    assert b"longer than 1,048,576 bytes" in one.stdout_bytes and len(blocks) > 1  # cut into blocks for the workers
