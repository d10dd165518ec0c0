"""Batch checking: JSON Lines in, one JSON result per line out, in input order.

A bad line (invalid JSON, an unusable case) becomes an error record with its
line number and the run goes on. Memory stays flat: lines are streamed, and
with several jobs at most a bounded number of byte blocks is in flight
(check/parallel.py).
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal

from mtus.compiler.check.casefile import MAX_TEXT_CHARS, CaseError, _long_int, shape_problem
from mtus.compiler.check.letter import WORDINGS, NotAddressed, _not_addressed_json, decide, letter_json, render
from mtus.compiler.check.pack import Pack, PackError
from mtus.compiler.check.runtime import CERTIFIED, MODIFIED, NOT_CERTIFIED, Record, to_json_value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any, Callable, Iterable, Iterator, Optional, Union

#: Lines longer than this are error records (a case is a few kilobytes).
MAX_LINE_BYTES = 1024 * 1024


class Summary(Record):
    """What a batch run did, counted as its results are written (equal to another that counted the same)."""

    __slots__ = ("lines", "decided", "errors", "certified")
    __hash__ = None  # counted in place, so not hashable (as attrs.define made it)

    def __init__(self, lines: int = 0, decided: int = 0, errors: int = 0, certified: int = 0) -> None:
        self.lines = lines
        self.decided = decided
        self.errors = errors
        self.certified = certified  # decided cases whose every request is certified (--exit-code)

    def text(self) -> str:
        return f"{self.lines} line(s): {self.decided} decided, {self.errors} error(s)"


class Options(Record):
    """How each line is decided and what its record carries (see docs/case-files.md, JSON Lines)."""

    __slots__ = ("wording", "explain", "strict", "letter")
    wording: str
    explain: bool  # each request's `criteria`: the per-criterion trace
    strict: bool  # a fact no requested guideline reads makes the line an error
    letter: Optional[str]  # "text", "markdown" or "json": the record's `letter`

    def __init__(self, wording: str = "imr", explain: bool = False, strict: bool = False,
                 letter: Optional[str] = None) -> None:
        self.wording = wording
        self.explain = explain
        self.strict = strict
        self.letter = letter

    @property
    def fast(self) -> bool:
        """Whether a line may take the fast path: compact records in the default wording."""
        return self.wording == "imr" and not self.explain and self.letter is None


def _error(lineno: int, case_id, problems: list) -> dict:
    """An error record: the same keys as a decided one, with `error` set and no requests."""
    return {"line": lineno, "case": case_id, "requests": [], "warnings": [], "letter": None, "error": problems}


def _not_addressed(req, wording: str) -> dict:
    """An item no guideline decides, in the same shape as a decided request (see the JSONL schema)."""
    na = _not_addressed_json(NotAddressed(req), wording)
    return {"item": na["item"], "guideline": None, "certified": None, "outcome": na["outcome"],
            "determination": na["determination"], "modified": None, "unmet": [], "criteria": None,
            "not_addressed": na["not_addressed"]}


def _case_id(data) -> Optional[str]:
    """The case id of a line that could not be used, when it has a readable one."""
    cid = data.get("case") if isinstance(data, dict) else None
    return str(cid) if isinstance(cid, (str, int)) and not isinstance(cid, bool) else None


class LongLine(str):
    """Stands for a line longer than MAX_LINE_BYTES, which is never held in memory; its text is its length."""


def _result(pack: Pack, lineno: int, line: str, opts: Options):
    """A line's record: _fast's (decided, certified, text) when the line is plain and valid, else _record's dict."""
    if opts.fast:
        done = _fast(pack, lineno, line)
        if done is not None:
            return done
    return _record(pack, lineno, line, opts)


def _record(pack: Pack, lineno: int, line: str, opts: Options) -> dict:
    if isinstance(line, LongLine) or len(line) > MAX_LINE_BYTES:
        return _error(lineno, None, [{"key": "", "message": f"the line is longer than {MAX_LINE_BYTES:,} bytes",
                                      "hint": None}])
    try:
        # json.loads(line, parse_float=Decimal) without building a decoder per line
        data = _DECODER.decode(line) if not line.startswith("\ufeff") else json.loads(line, parse_float=Decimal)
    except (ValueError, RecursionError) as e:
        try:  # perhaps only an integer too long for int(): read as a case file is, the reader names the key
            data = _LONG_INT_DECODER.decode(line)
        except (ValueError, RecursionError):
            return _error(lineno, None, [{"key": "", "message": f"not valid JSON: {e}", "hint": None}])
    try:
        if len(line) > MAX_TEXT_CHARS:  # only then can a text be too long; a short line is not walked
            problem = shape_problem(data, f"line {lineno}")
            if problem is not None:
                raise CaseError([problem])
        case = pack.reader().read(data, f"line {lineno}", strict=opts.strict)
    except CaseError as e:
        return _error(lineno, _case_id(data), [{"key": p.key, "message": p.message, "hint": p.hint}
                                               for p in e.problems])
    warnings = [{"key": w.key, "message": w.message, "hint": w.hint} for w in case.warnings]
    if opts.explain or opts.letter:
        letter = decide(case, pack, opts.wording)
        full = letter_json(letter, explain=opts.explain)
        requests = [_not_addressed(d.request, opts.wording) if isinstance(d, NotAddressed) else
                    {"item": r["item"], "guideline": r["guideline"], "certified": r["certified"],
                     "outcome": r["outcome"], "determination": r["determination"], "modified": r["modified"],
                     "unmet": d.result.unmet_ids(), "criteria": r["criteria"] if opts.explain else None,
                     "not_addressed": None}
                    for r, d in zip(full["requests"], letter.decisions)]
        text = (full if opts.letter == "json" else render(letter, opts.letter, opts.explain)) if opts.letter else None
        return {"line": lineno, "case": case.id, "requests": requests, "warnings": warnings, "letter": text,
                "error": None}
    requests = []
    for req in case.requests:
        if req.guideline is None:  # an item-level result: the other items are still decided
            requests.append(_not_addressed(req, opts.wording))
            continue
        g = pack.guidelines[req.guideline]
        # the compact record needs only the unmet ids: the checker's fast path
        unmet = g.module.unmet(req.facts, case.date)
        certified = not unmet
        record = {"item": req.item, "guideline": req.guideline, "certified": certified,
                  "outcome": CERTIFIED if certified else NOT_CERTIFIED,
                  "determination": _word(opts.wording, CERTIFIED if certified else NOT_CERTIFIED),
                  "modified": None, "unmet": unmet, "criteria": None, "not_addressed": None}
        if unmet and any(c.allows_fewer for c in g.info.criteria):
            modified = g.evaluate(req.facts, case.date).modified
            if modified is not None:  # partial certification needs the full evaluation
                record["outcome"] = MODIFIED
                record["determination"] = _word(opts.wording, MODIFIED)
                record["modified"] = modified.to_json()
        requests.append(record)
    return {"line": lineno, "case": case.id, "requests": requests, "warnings": warnings, "letter": None,
            "error": None}


def _word(wording: str, outcome: str) -> str:
    """The determination as the letter words it, lower-cased (as in letter_json)."""
    return WORDINGS[wording].words[outcome].lower()


_DECODER = json.JSONDecoder(parse_float=Decimal)
#: Used only when _DECODER fails: a custom parse_int would slow every line's integers.
_LONG_INT_DECODER = json.JSONDecoder(parse_float=Decimal, parse_int=_long_int)
#: json.dumps(record, sort_keys=True, separators=(",", ":"), default=to_json_value), built once
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=to_json_value)


def _encode(record: dict) -> str:
    return _ENCODER.encode(record)


#: A text as _ENCODER writes it (ASCII, escaped): json's own C function.
_str = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


def _fast(pack: Pack, lineno: int, line: str) -> Optional[tuple[bool, bool, str]]:
    """The compact record of a plain, valid line read by the fast path (check/batchread.py), written by
    _fast_text; None for any other line (the case reader decides it)."""
    if isinstance(line, LongLine) or len(line) > MAX_TEXT_CHARS or line.startswith("\ufeff"):
        return None
    try:
        data = _fast_decoder()(line)
    except (ValueError, RecursionError):  # msgspec's DecodeError is a ValueError; json says what is wrong
        return None
    fast = pack.fast_reader()
    checkers = fast.checkers
    got = fast.read(data)
    if got is None:
        return None
    cid, date, requests = got
    parts = []
    every = True
    for item, gid, facts in requests:
        unmet_of, allows_fewer, evaluate = checkers.get(gid) or _checker(pack, gid, checkers)
        unmet = unmet_of(facts, date)
        modified = None
        if unmet and allows_fewer:
            modified = evaluate(facts, date).modified  # partial certification needs the full evaluation
        every = every and not unmet
        parts.append(_request_text(item, gid, unmet, modified))
    return True, every, (f'{{"case":{"null" if cid is None else _str(cid)},"error":null,"letter":null,'
                         f'"line":{lineno},"requests":[{",".join(parts)}],"warnings":[]}}')


_WORDS: dict[tuple, str] = {}  # (guideline id, outcome) -> the record's text for them
_TEXTS: dict[tuple, str] = {}  # (item, guideline id, unmet ids) -> a request's record text (batch lines repeat them)


def _request_text(item: str, gid: str, unmet: list, modified) -> str:
    """One compact request record, as _encode writes it (keys sorted, no spaces, ASCII)."""
    if modified is None:
        key = (item, gid, *unmet)
        text = _TEXTS.get(key)
        if text is None:
            text = _request_text_of(item, gid, unmet, None)
            if len(_TEXTS) < 4096:
                _TEXTS[key] = text
        return text
    return _request_text_of(item, gid, unmet, modified)


def _request_text_of(item: str, gid: str, unmet: list, modified) -> str:
    outcome = MODIFIED if modified is not None else CERTIFIED if not unmet else NOT_CERTIFIED
    words = _WORDS.get((gid, outcome))
    if words is None:
        words = _WORDS[(gid, outcome)] = (f'"determination":{_str(_word("imr", outcome))},"guideline":{_str(gid)},')
    return (f'{{"certified":{"false" if unmet else "true"},"criteria":null,{words}"item":{_str(item)},'
            f'"modified":{"null" if modified is None else _encode(modified.to_json())},"not_addressed":null,'
            f'"outcome":{_str(outcome)},"unmet":[{",".join(map(_str, unmet))}]}}')


def _fast_decoder():
    """msgspec's JSON decoder, numbers with a fraction or exponent as Decimal, as _DECODER reads them."""
    global _MSGSPEC
    if _MSGSPEC is None:
        import msgspec

        _MSGSPEC = msgspec.json.Decoder(float_hook=Decimal).decode
    return _MSGSPEC


_MSGSPEC = None


def _checker(pack: Pack, gid: str, checkers: dict) -> tuple:
    """(unmet, whether a criterion allows fewer, evaluate) of a guideline's checker, kept per fast reader."""
    g = pack.guidelines[gid]
    found = checkers[gid] = (g.module.unmet, any(c.allows_fewer for c in g.info.criteria), g.module.evaluate)
    return found


def _line(pack: Pack, lineno: int, line: str, opts: Options) -> tuple[bool, bool, str]:
    """(decided: no error and some item decided?, every request certified?, the JSON result line).

    Nothing raised by one line stops the run: it is that line's error record.
    """
    try:
        record = _result(pack, lineno, line, opts)
        if type(record) is tuple:  # written by the fast path
            return record
        decided = record["error"] is None and any(r["guideline"] is not None for r in record["requests"])
        return decided, decided and all(r["certified"] for r in record["requests"]), _encode(record)
    except PackError as e:  # a checker refused when first used: every line of its guideline says so
        problem = {"key": "", "message": str(e), "hint": None}
    except Exception as e:  # noqa: BLE001 - a defect must cost one line, not the run (and never a traceback)
        problem = {"key": "", "message": f"mtus could not check this line ({type(e).__name__}: {e})",
                   "hint": "this is a defect in mtus: please report it with the line"}
    return False, False, _encode(_error(lineno, None, [problem]))


def result_lines(pack: Pack, start: int, lines: list[str], opts: Options) -> str:
    """The result lines of `lines`, numbered from `start` (blank ones skipped), each ending in a line feed:
    what check_stream writes for them (the HTTP server's JSON Lines answer uses it)."""
    return "".join(_line(pack, n, line, opts)[2] + "\n" for n, line in enumerate(lines, start) if line.strip())


def error_line(lineno: int, message: str, hint: Optional[str] = None) -> str:
    """An error record for line `lineno`, as check_stream writes one (without the line feed)."""
    return _encode(_error(lineno, None, [{"key": "", "message": message, "hint": hint}]))


def _one_by_one(pack: Pack, lines: Iterable[str], opts: Options) -> Iterator[tuple[int, int, int, str]]:
    """In this process, each result written as soon as its line is read (a slow producer is not kept waiting)."""
    for n, line in enumerate(lines, 1):
        if line.strip():
            ok, yes, text = _line(pack, n, line, opts)
            yield 1, int(ok), int(yes), text + "\n"


def check_stream(lines: Union[Iterable[str], "JsonLines"], out: IO[str], pack: Pack, *,
                 pack_spec: Optional[str] = None, jobs: int = 1, wording: str = "imr", explain: bool = False,
                 progress: Optional[IO[str]] = None, block: Optional[int] = None, window: Optional[int] = None,
                 strict: bool = False, letter: Optional[str] = None) -> Summary:
    """Decide every case of a JSON Lines stream; write one result line per input line.

    With jobs > 1, `lines` must be a JsonLines (its bytes are handed to the
    workers in blocks, check/parallel.py), and the workers open the pack from
    `pack_spec` (the bundled pack if None), which must be `pack`; at most
    jobs * window blocks of `block` bytes are read ahead of the output.
    """
    summary = Summary()
    opts = Options(wording, explain, strict, letter)
    results: Iterator[tuple[int, int, int, Any]]
    if jobs <= 1:
        results = _one_by_one(pack, lines, opts)
        write: Callable[[Any], object] = out.write
    else:
        from mtus.compiler.check import parallel

        if not isinstance(lines, JsonLines):
            raise TypeError("several jobs read the input's bytes: pass a JsonLines (open_lines), not texts")
        results = parallel.results(lines.stream, pack, pack_spec, jobs, opts, block or parallel.BLOCK,
                                   window or parallel.WINDOW)
        write = parallel.byte_writer(out)
    try:
        for count, decided, certified, text in results:
            write(text)
            before = summary.lines
            summary.lines += count
            summary.decided += decided
            summary.certified += certified
            summary.errors += count - decided
            if progress is not None and summary.lines // 1000 > before // 1000:
                for done in range((before // 1000 + 1) * 1000, summary.lines + 1, 1000):
                    progress.write(f"\r{done:,} cases")
                progress.flush()
    finally:
        close = getattr(results, "close", None)
        if close is not None:  # the workers stop at once on an error or Ctrl-C, not when collected
            close()
    if progress is not None and summary.lines >= 1000:
        progress.write("\n")
    return summary


class JsonLines:
    """The lines of a JSON Lines file or stdin, read bounded: only a line feed ends a line.

    A line over MAX_LINE_BYTES is skipped while it is read (a LongLine stands
    for it), so memory stays bounded even for an input without line feeds. A
    bare carriage return is part of its line (as in JSON), so line numbers
    count what `wc -l` counts. Undecodable bytes become U+FFFD, and the line's
    JSON says what is wrong.
    """

    def __init__(self, stream: IO[bytes], owned: bool):
        self.stream = stream  # several jobs read it in blocks (check/parallel.py)
        self._stream = stream
        self._owned = owned

    def __enter__(self) -> "JsonLines":
        return self

    def __exit__(self, *exc) -> None:
        if self._owned:
            self._stream.close()

    def __iter__(self) -> Iterator[str]:
        readline = self._stream.readline
        while True:
            raw = readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            if len(raw) > MAX_LINE_BYTES and raw[-1:] != b"\n":
                size = len(raw)
                while raw[-1:] != b"\n":  # skip the rest of the line, holding at most 1 MiB of it
                    raw = readline(1 << 20)
                    if not raw:
                        break
                    size += len(raw)
                yield LongLine(size)
                continue
            yield raw.decode("utf-8", errors="replace")


def open_lines(path: str) -> JsonLines:
    """The lines of `path` ('-': stdin). Refuses devices and folders (a FIFO is a stream, as stdin is)."""
    if path == "-":
        return JsonLines(sys.stdin.buffer, owned=False)
    import os
    import stat

    f = open(path, "rb")
    mode = os.fstat(f.fileno()).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        f.close()
        raise OSError(0, "not a regular file or a pipe")
    return JsonLines(f, owned=True)
