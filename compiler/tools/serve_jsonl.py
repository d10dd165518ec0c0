"""POST /v1/check/jsonl: the request body's lines decided as they arrive, one record per line, streamed back.

Each line goes through check/batch.py's per-line function, the one `mtus
check --jsonl` runs for every line, so the records are the same, error
records included. Lines are split here as batch.JsonLines splits a file
(only a line feed ends a line; a line over the limit is never held whole).
"""

from __future__ import annotations

import threading
from typing import AsyncIterator, Optional

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from mtus.compiler.check import batch
from mtus.compiler.check.pack import Pack
from mtus.compiler.tools.serve_asgi import BodyTooLarge


async def _lines(request: Request) -> AsyncIterator[list[str]]:
    """The body's lines, a received chunk's worth at a time (a long line is a batch.LongLine)."""
    pending = bytearray()
    skipping = 0  # bytes of an over-long line read so far, while its end is awaited
    async for chunk in request.stream():
        out: list[str] = []
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end + 1]
            if skipping:
                skipping += len(piece)
            else:
                pending += piece
                if len(pending) > batch.MAX_LINE_BYTES:
                    skipping, pending = len(pending), bytearray()
            if end < 0:
                break
            if skipping:
                out.append(batch.LongLine(skipping))
                skipping = 0
            else:
                out.append(pending.decode("utf-8", errors="replace"))
                pending = bytearray()
            start = end + 1
        if out:
            yield out
    if skipping:
        yield [batch.LongLine(skipping)]
    elif pending:
        yield [pending.decode("utf-8", errors="replace")]


#: check/batchread.py's fast reader (one per pack) is not thread-safe, and the threadpool runs streams side by
#: side: one chunk of lines is decided at a time (deciding is CPU-bound Python, so nothing runs slower for it).
_DECIDING = threading.Lock()


def _decide(pack: Pack, start: int, lines: list[str], opts: batch.Options) -> str:
    with _DECIDING:
        return batch.result_lines(pack, start, lines, opts)


async def records(pack: Pack, request: Request, wording: str, explain: bool, strict: bool,
                  letter: Optional[str]) -> AsyncIterator[str]:
    """The JSON Lines answer; a body over the limit ends it with one error record naming the line."""
    opts = batch.Options(wording, explain, strict, letter)
    n = 1
    try:
        async for lines in _lines(request):
            text = await run_in_threadpool(_decide, pack, n, lines, opts)
            n += len(lines)
            if text:
                yield text
    except BodyTooLarge as e:
        yield batch.error_line(n, f"{e}: the stream stops at this line", "split the input into several requests") + "\n"
