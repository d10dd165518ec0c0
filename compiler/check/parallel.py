"""Parallel batch (`--jobs N`): the main process cuts the input into byte blocks of whole lines, workers decide them.

The main process never decodes, pickles per line or encodes: it reads a block
(BLOCK bytes, cut after its last line feed), counts its line feeds for the next
block's first line number, hands it to a worker, and writes each block's output
(bytes, already encoded by the worker) in input order. A worker splits its
block into lines exactly as batch.JsonLines does and decides each line with
batch._line, so the output is byte for byte that of one process. At most
jobs * WINDOW blocks are in flight, and a line longer than MAX_LINE_BYTES is
skipped by the main process while it is read (never held whole).
"""

from __future__ import annotations

import signal
from collections import deque

from mtus.compiler.check import batch

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Callable, Iterable, Iterator, Optional, Union

    from mtus.compiler.check.pack import Pack

#: Bytes read per block (about 1,100 TPI case lines): enough that a block's fixed costs (a task, two
#: pickles, a write) are small beside its lines', small enough to keep memory flat; under MAX_LINE_BYTES,
#: so that a worker can decode a block at once.
BLOCK = 512 * 1024
#: Blocks in flight per worker: the next one is queued while a worker decides its current one.
WINDOW = 2



class WorkerError(Exception):
    """A worker process ended without answering (killed, out of memory): the batch cannot be finished."""


_state: Optional[tuple] = None  # in a worker: (pack, options, why it must refuse work or None)


def _init(source: Union[Pack, str, None], digest: str, opts: batch.Options, max_line: int) -> None:
    """A worker's start: the pack (inherited when forked, else opened from its spec); Ctrl-C is left to the
    main process (no traceback per worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _state
    batch.MAX_LINE_BYTES = max_line  # the main process's limit: its lines and the workers' are cut alike
    from mtus.compiler.check.pack import Pack, open_pack

    if isinstance(source, Pack):
        _state = (source, opts, None)
        return
    try:
        pack = open_pack(source)
    except Exception as e:  # noqa: BLE001 - said by the first task, in the main process, not as a worker traceback
        _state = (None, opts, f"a worker could not open the pack: {e}")
        return
    refusal = None if pack.digest == digest else (f"the worker opened pack sha256 {pack.digest}, not {digest}; "
                                                  "pass pack_spec for the pack being checked")
    _state = (pack, opts, refusal)


def _start_method() -> str:
    """fork where the system has it and this process runs one thread (a fork copies only the calling thread,
    so another thread's lock could stay held in the child): the workers inherit the open pack, imported
    modules and caches, and start in milliseconds; else spawn, the workers opening the pack again."""
    import multiprocessing
    import threading

    return "fork" if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1 else "spawn"


def _lines(block: bytes, feeds: int) -> Iterable[str]:
    """The lines of a block holding `feeds` line feeds, as batch.JsonLines yields them: each with its line
    feed (the input's last line perhaps without), bytes that are not UTF-8 as U+FFFD, a line over
    MAX_LINE_BYTES as a LongLine."""
    limit = batch.MAX_LINE_BYTES
    if len(block) <= limit:  # no line can be long: decode the block at once (C loops, not one per line)
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            lines = text.splitlines(True)
            # splitlines also splits at \r, \x0b, \x1c, U+2028...: if it found no more lines than there are
            # line feeds, it split only at them (\r\n ends a line as \n does, the \r kept in the line)
            if len(lines) == feeds + (not text.endswith("\n")) or not text:
                return lines
    return _lines_one_by_one(block, limit)


def _lines_one_by_one(block: bytes, limit: int) -> Iterator[str]:
    parts = block.split(b"\n")
    last = parts.pop()  # what follows the block's last line feed: empty unless the input ends without one
    for raw in parts:
        yield batch.LongLine(len(raw) + 1) if len(raw) > limit else raw.decode("utf-8", "replace") + "\n"
    if last:
        yield batch.LongLine(len(last)) if len(last) > limit else last.decode("utf-8", "replace")


def _work(start: int, block: bytes, feeds: int) -> tuple[int, int, int, bytes]:
    """A worker's task: the block whose first line is number `start` -> (result lines, decided, certified,
    their text encoded)."""
    assert _state is not None
    pack, opts, refusal = _state
    if refusal is not None:
        raise RuntimeError(refusal)
    texts = []
    decided = certified = 0
    line_result = batch._line
    for n, line in enumerate(_lines(block, feeds), start):
        if line and not line.isspace():  # line.strip() without copying the line
            ok, yes, text = line_result(pack, n, line, opts)
            decided += ok
            certified += yes
            texts.append(text)
    count = len(texts)
    texts.append("")  # so that the join ends the last record with a line feed too
    # one encode per block, none in the main process (records are ASCII: json escapes the rest)
    return count, decided, certified, "\n".join(texts).encode("utf-8")


def _blocks(read: Callable[[int], bytes], size: int) -> Iterator[tuple[int, Union[bytes, int], int]]:
    """(number of its first line, a block of whole lines, its line feeds), or (line number, byte length, 1) for
    a line over MAX_LINE_BYTES, whose bytes are dropped as they are read: only a line feed ends a line (as in
    JsonLines)."""
    limit = batch.MAX_LINE_BYTES
    lineno = 1
    head: list = []  # the start of a line read so far, not ended yet
    held = 0  # its length
    data = read(size)
    while data:
        cut = data.rfind(b"\n")
        if cut < 0:
            head.append(data)
            held += len(data)
        else:
            head.append(memoryview(data)[:cut + 1])  # copied once, by the join
            block = b"".join(head)
            feeds = block.count(b"\n")
            yield lineno, block, feeds
            lineno += feeds
            rest = data[cut + 1:]
            head, held = ([rest], len(rest)) if rest else ([], 0)
        if held <= limit:
            data = read(size)
            continue
        head = []  # a long line: count the rest of it without keeping it
        while True:
            data = read(size)
            end = data.find(b"\n")
            if end >= 0 or not data:
                break
            held += len(data)
        if end < 0:  # the input ends inside it
            yield lineno, held, 0
            return
        yield lineno, held + end + 1, 1
        lineno += 1
        held = 0
        data = data[end + 1:] or read(size)
    if head:
        yield lineno, b"".join(head), 0  # the last line, without a line feed


def results(stream: IO[bytes], pack: Pack, spec: Optional[str], jobs: int, opts: batch.Options,
            block: int = BLOCK, window: int = WINDOW) -> Iterator[tuple[int, int, int, bytes]]:
    """Each block's results in input order, decided by `jobs` worker processes (forked with `pack`, or
    spawned opening the pack `spec`, which must be `pack`); at most jobs * window blocks are read ahead of
    the output."""
    import multiprocessing
    import sys
    from concurrent.futures import ProcessPoolExecutor

    method = _start_method()
    if method == "fork":  # a forked child flushes the std streams it inherits when it ends: empty them first
        sys.stdout.flush()
        sys.stderr.flush()
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(method), initializer=_init,
                               initargs=(pack if method == "fork" else spec, pack.digest, opts, batch.MAX_LINE_BYTES))
    pending: deque = deque()
    done = 0  # result lines handed on, for the message if a worker dies
    finished = False
    try:
        for start, part, feeds in _blocks(stream.read, block):
            if isinstance(part, int):  # a long line's error record: no worker needed
                ok, yes, text = batch._line(pack, start, batch.LongLine(part), opts)
                pending.append((1, int(ok), int(yes), (text + "\n").encode("utf-8")))
            else:
                pending.append(pool.submit(_work, start, part, feeds))
            # the window full, wait for the oldest block; else write what is ready (a slow producer's lines)
            while pending and (len(pending) >= jobs * window or _ready(pending[0])):
                got = _answer(pending.popleft(), done)
                done += got[0]
                yield got
        while pending:
            got = _answer(pending.popleft(), done)
            done += got[0]
            yield got
        finished = True
    finally:
        # an error, Ctrl-C or a reader that stopped: drop the blocks not started (the workers finish theirs)
        pool.shutdown(wait=finished, cancel_futures=not finished)


def _ready(task) -> bool:
    return isinstance(task, tuple) or task.done()


def _answer(task, done: int) -> tuple[int, int, int, bytes]:
    """A task's result, waiting for it; a worker that died is a WorkerError that says so."""
    if isinstance(task, tuple):
        return task
    from concurrent.futures.process import BrokenProcessPool

    try:
        return task.result()
    except BrokenProcessPool:
        raise WorkerError(f"a worker process stopped without answering (killed, or out of memory?) after "
                          f"{done:,} result line(s) were written; the output is incomplete") from None


def byte_writer(out: IO[str]) -> Callable[[bytes], object]:
    """How to write encoded records to `out`: to its byte buffer when it has one (stdout), else decoded."""
    buffer = getattr(out, "buffer", None)
    if buffer is None:
        return lambda data: out.write(data.decode("utf-8"))
    out.flush()  # whatever was written as text comes first
    return buffer.write
