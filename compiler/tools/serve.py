"""`mtus serve`: the decision API (and the playground page) over the library functions `mtus check` calls.

Every endpoint answers from the pack opened at start-up and writes no file:
a case body is read as `mtus check` reads a case file (check/casefile.py),
decided by check/letter.py, and rendered by the same renderers; batches go
through check/batch.py record by record. Errors are the CLI's diagnostics as
JSON with a 4xx status. serve_asgi.py bounds every request; docs/api.md is
the reference.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
from pathlib import Path
from typing import Any, Optional

import uvicorn
from uvicorn.protocols.http.auto import AutoHTTPProtocol
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from mtus.compiler.check.casefile import MAX_CASE_BYTES, CaseError, Problem, parse_case_text
from mtus.compiler.check.letter import RENDERERS, WORDINGS, decide, letter_json, render
from mtus.compiler.check.pack import Pack, PackError, open_pack
from mtus.compiler.check.runtime import to_json_value
from mtus.compiler.tools.serve_asgi import BodyTooLarge, Guard, Limits, error_body

LOG = logging.getLogger("mtus.serve")

#: The page's files: HTML, CSS and JavaScript written by hand, no build step.
PLAYGROUND = Path(__file__).resolve().parent / "playground"
#: The environment variable that carries --pack to uvicorn's worker processes (they build the app themselves).
PACK_ENV = "MTUS_SERVE_PACK"
HOST_ENV = "MTUS_SERVE_HOST"

_CONTENT_TYPES = {"text": "text/plain; charset=utf-8", "markdown": "text/markdown; charset=utf-8",
                  "json": "application/json"}


class _RecordStream(StreamingResponse):
    """A streamed answer that reads its own request body as it goes.

    StreamingResponse would listen for a disconnect on `receive` meanwhile (for
    servers older than ASGI 2.4), taking the body's messages from the reader.
    """

    async def __call__(self, scope, receive, send) -> None:
        await self.stream_response(send)


class ApiError(Exception):
    """An answer other than 200: its status, message, hint and the problems (as the CLI lists them)."""

    def __init__(self, status: int, message: str, hint: Optional[str] = None, problems=(), **extra):
        super().__init__(message)
        self.status, self.message, self.hint, self.problems, self.extra = status, message, hint, list(problems), extra


def _dumps(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, default=to_json_value) + "\n").encode("utf-8")


def _json(data: Any, status: int = 200) -> Response:
    return Response(_dumps(data), status, media_type="application/json")


def _choice(request: Request, name: str, choices, default: str) -> str:
    """A query option, refused as click refuses a bad --option value."""
    value = request.query_params.get(name, default)
    if value not in choices:
        raise ApiError(400, f"invalid value for {name}: {value!r} is not one of "
                       + ", ".join(repr(c) for c in choices), f"?{name}={default}")
    return value


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "false").lower()
    if value not in ("true", "false", "1", "0", "yes", "no", ""):
        raise ApiError(400, f"invalid value for {name}: {value!r} is not true or false", f"?{name}=true")
    return value in ("true", "1", "yes", "")


def _case_name(request: Request) -> str:
    """The name problems are reported under: JSON when the client says so, else read as `mtus check` reads a file."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return "request.json" if kind.endswith("json") else "request"


def read_case_body(body: bytes, name: str) -> Any:
    """A request body as `mtus check` reads a case file: the same size limit, UTF-8, YAML or JSON."""
    if len(body) > MAX_CASE_BYTES:
        raise CaseError([Problem(name, "", f"the case is more than {MAX_CASE_BYTES:,} bytes, the limit")])
    if not body.strip():
        raise CaseError([Problem(name, "", "the request body is empty: send a case file (YAML or JSON)",
                                 hint="see docs/case-files.md, or GET /v1/template/ITEM for one to fill in")])
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise CaseError([Problem(name, "", f"the case file is not UTF-8 text (byte {e.start})",
                                 hint="save it as UTF-8")]) from None
    return parse_case_text(text, name)


def _case_error(e: CaseError) -> ApiError:
    return ApiError(422, f"the case cannot be used: {e.problems[0].message}" if len(e.problems) == 1 else
                    f"the case cannot be used: {len(e.problems)} problems", e.problems[0].hint if len(e.problems) == 1
                    else None, [p.to_json() for p in e.problems], text=e.render())


class Api:
    """The endpoints, bound to one opened pack."""

    def __init__(self, pack: Pack, pack_spec: Optional[str], limits: Limits):
        self.pack = pack
        self.pack_spec = pack_spec
        self.limits = limits
        self._sandbox = None

    def close(self) -> None:
        if self._sandbox is not None:
            self._sandbox.close()

    # -------------------------------------------------------------- check
    def _check(self, body: bytes, name: str, fmt: str, wording: str, explain: bool, strict: bool) -> Response:
        try:
            case = self.pack.reader().read(read_case_body(body, name), name, strict=strict)
        except CaseError as e:
            raise _case_error(e) from None
        try:
            letter = decide(case, self.pack, wording)
            out = letter_json(letter, explain) if fmt == "json" else render(letter, fmt, explain)
        except PackError as e:  # a checker refused on first use (cli.py says the same)
            raise ApiError(500, f"error: {e}") from None
        if not letter.decided:
            raise ApiError(422, f"{name}: no item was decided by the guidelines in the pack",
                           "name the treatment as the request writes it; GET /v1/guidelines lists what the pack "
                           "decides", letter=letter_json(letter, explain))
        if fmt == "json":
            return _json(out)
        return Response(out, media_type=_CONTENT_TYPES[fmt])

    async def check(self, request: Request) -> Response:
        fmt = _choice(request, "format", list(RENDERERS), "json")
        wording = _choice(request, "wording", list(WORDINGS), "imr")
        explain, strict = _flag(request, "explain"), _flag(request, "strict")
        body = await request.body()
        return await run_in_threadpool(self._check, body, _case_name(request), fmt, wording, explain, strict)

    async def check_jsonl(self, request: Request) -> Response:
        from mtus.compiler.tools.serve_jsonl import records

        fmt = request.query_params.get("format")
        letter = None if fmt is None else _choice(request, "format", list(RENDERERS), "json")
        wording = _choice(request, "wording", list(WORDINGS), "imr")
        explain, strict = _flag(request, "explain"), _flag(request, "strict")
        return _RecordStream(records(self.pack, request, wording, explain, strict, letter),
                                 media_type="application/x-ndjson")

    # --------------------------------------------------------- guidelines
    async def guidelines(self, request: Request) -> Response:
        out = []
        for gid in sorted(self.pack.guidelines):
            info = self.pack.guidelines[gid].info
            out.append({"id": gid, "title": info.title, "citation": info.citation.to_json(),
                        "citation_text": info.citation_text, "version": info.version,
                        "in_force": info.in_force.to_json() if info.in_force else None,
                        "services": [s.to_json() for s in info.services]})
        return _json({"pack": self._pack_json(), "guidelines": out})

    def _guideline(self, request: Request):
        gid = request.path_params["id"]
        if gid not in self.pack.guidelines:
            raise ApiError(404, f"no guideline `{gid}` in the pack; guidelines: {', '.join(sorted(self.pack.guidelines))}",
                           "GET /v1/guidelines lists them")
        return self.pack.guidelines[gid]

    async def guideline(self, request: Request) -> Response:
        from mtus.compiler.check.rationale import Explainer
        from mtus.compiler.tools.reference import guideline_json

        g = self._guideline(request)
        data = guideline_json(g.info)
        data["in_force"] = g.info.in_force.to_json() if g.info.in_force else None
        data["rationale"] = Explainer(g.info).outline()  # the prose `mtus rationale` prints
        return _json(data)

    async def guideline_source(self, request: Request) -> Response:
        """The bundled guideline's .mtus source, for the playground to start from."""
        g = self._guideline(request)
        if self.pack_spec is not None:
            raise ApiError(404, "the server's pack is not the bundled one: its sources are not served",
                           "paste the guideline's source into the playground")
        from mtus.guidelines import bundled_dir

        path = bundled_dir() / f"{g.id}.mtus"
        if not path.is_file():
            raise ApiError(404, f"no source file for `{g.id}` among the bundled guidelines")
        return Response(path.read_text(encoding="utf-8"), media_type="text/plain; charset=utf-8")

    async def template(self, request: Request) -> Response:
        from mtus.compiler.tools.template import TemplateError, resolve, template_for

        item = request.path_params["item"]
        fmt = _choice(request, "format", ["yaml", "json"], "yaml")
        try:
            resolved = resolve(self.pack, item)
        except TemplateError as e:
            raise ApiError(404, str(e), "give the item as the request writes it, a CPT code, a drug, or a guideline id"
                           ) from None
        text = template_for(self.pack.guidelines[resolved.guideline].info, resolved.item)
        if fmt == "json":
            return _json({"guideline": resolved.guideline, "item": resolved.item, "template": text})
        return Response(text, media_type="application/yaml; charset=utf-8")

    # --------------------------------------------------------- playground
    def sandbox(self):
        """The playground's worker processes (compiler/tools/sandbox.py), started on first use."""
        if self._sandbox is None:
            from mtus.compiler.tools.playground_eval import TARGET
            from mtus.compiler.tools.sandbox import Sandbox

            self._sandbox = Sandbox(TARGET, self.limits.sandbox_seconds, self.limits.sandbox_memory,
                                    self.limits.sandbox_workers)
        return self._sandbox

    async def playground(self, request: Request) -> Response:
        """Lint a guideline typed into the page and decide the page's case with it, in a sandbox worker."""
        from mtus.compiler.tools.sandbox import Busy, SandboxError

        try:
            data = json.loads(await request.body())
        except ValueError as e:
            raise ApiError(400, f"the body is not JSON: {e}", '{"source": "guideline ...", "case": "date: ..."}'
                           ) from None
        if not isinstance(data, dict) or not all(isinstance(data.get(k, ""), str) for k in ("source", "case")):
            raise ApiError(400, "the body must be a JSON object with the texts `source` and `case`",
                           '{"source": "guideline ...", "case": "date: ...", "wording": "imr"}')
        wording = data.get("wording", "imr")
        if wording not in WORDINGS:
            raise ApiError(400, f"invalid value for wording: {wording!r} is not one of "
                           + ", ".join(repr(w) for w in WORDINGS))
        payload = {"source": data.get("source", ""), "case": data.get("case", ""), "wording": wording}
        try:
            answer = await run_in_threadpool(self.sandbox().run, payload)
        except Busy as e:
            raise ApiError(503, str(e), "try again in a few seconds") from None
        except SandboxError as e:
            raise ApiError(422, str(e), "a guideline typed into the playground is evaluated within a time and "
                           "memory limit; `mtus check --pack FILE` has none") from None
        return _json(answer)

    # ---------------------------------------------------------- service
    def _pack_json(self) -> dict:
        return {"name": self.pack.name, "version": self.pack.version, "sha256": self.pack.digest}

    async def page(self, request: Request) -> Response:
        """The playground and reviewer's form (compiler/tools/playground/, static files shipped in the wheel)."""
        return FileResponse(PLAYGROUND / "index.html", media_type="text/html; charset=utf-8")

    async def health(self, request: Request) -> Response:
        from mtus.compiler.check.pack import compiler_version

        return _json({"status": "ok", "mtus": compiler_version(), "pack": self._pack_json(),
                      "guidelines": len(self.pack.guidelines)})

    async def openapi(self, request: Request) -> Response:
        from mtus.compiler.tools.serve_openapi import openapi

        return _json(openapi(self.pack))


def _error_handler(request: Request, exc: Exception) -> Response:
    rid = getattr(request.state, "request_id", None)
    if isinstance(exc, BodyTooLarge):
        return _json(error_body(413, str(exc), rid, hint="send one case per request, or many as JSON Lines to "
                                                          "/v1/check/jsonl"), 413)
    if isinstance(exc, ApiError):
        return _json(error_body(exc.status, exc.message, rid, exc.problems, exc.hint, **exc.extra), exc.status)
    from starlette.exceptions import HTTPException

    if isinstance(exc, HTTPException):  # an unknown path or method
        hint = "GET /openapi.json lists the endpoints"
        return _json(error_body(exc.status_code, str(exc.detail), rid, hint=hint), exc.status_code)
    LOG.exception("request %s failed", rid)  # the log keeps the traceback; the client gets none
    return _json(error_body(500, f"mtus could not answer this request ({type(exc).__name__})", rid,
                            hint="this is a defect in mtus: please report it with the request id"), 500)


def create_app(pack_spec: Optional[str] = None, limits: Optional[Limits] = None, pack: Optional[Pack] = None,
               playground: bool = True):
    """The ASGI application: the API over the pack of `pack_spec` (None: the bundled pack), inside the Guard."""
    from starlette.exceptions import HTTPException

    pack = pack or open_pack(pack_spec)
    limits = limits or Limits()
    api = Api(pack, pack_spec, limits)
    routes = [
        Route("/v1/check", api.check, methods=["POST"]),
        Route("/v1/check/jsonl", api.check_jsonl, methods=["POST"]),
        Route("/v1/guidelines", api.guidelines, methods=["GET"]),
        Route("/v1/guidelines/{id}", api.guideline, methods=["GET"]),
        Route("/v1/guidelines/{id}/source", api.guideline_source, methods=["GET"]),
        Route("/v1/template/{item:path}", api.template, methods=["GET"]),
        Route("/v1/playground", api.playground, methods=["POST"]),
        Route("/health", api.health, methods=["GET"]),
        Route("/", api.page, methods=["GET"]),
        Mount("/static", StaticFiles(directory=str(PLAYGROUND)), name="static"),
        Route("/openapi.json", api.openapi, methods=["GET"]),
    ]
    handlers = {ApiError: _error_handler, BodyTooLarge: _error_handler, HTTPException: _error_handler,
                Exception: _error_handler}
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        api.close()  # the playground's workers end with the server

    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
    app.state.api = api
    app.state.limits = limits
    return Guard(app, limits)


class NoDelayHTTP(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol with Nagle's algorithm off on every connection.

    uvicorn binds the socket itself when it starts several workers, as a
    socket whose protocol number is 0, and asyncio turns TCP_NODELAY on only
    for sockets that say IPPROTO_TCP: a response's headers and body then wait
    for the client's delayed ACK, 40 ms a request (bench/serve.py found it).
    """

    def connection_made(self, transport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        super().connection_made(transport)


def _log_to_stderr() -> None:
    """The access log (serve_asgi.ACCESS_LOG), one JSON object per line, on standard error."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")


def app_from_env():
    """The application uvicorn's worker processes build (`mtus serve --workers N`): --pack comes in PACK_ENV."""
    _log_to_stderr()
    app = create_app(os.environ.get(PACK_ENV) or None, limits=limits_for(os.environ.get(HOST_ENV, "")))
    warm(app.app.state.api.pack)
    return app


def warm(pack: Pack) -> None:
    """Execute every checker module now, so the first request does not pay for it."""
    for g in pack.guidelines.values():
        assert g.module is not None  # the property executes the module


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")


def limits_for(host: str) -> Limits:
    """A loopback server answers only Host headers naming the loopback (against DNS rebinding); others any."""
    return Limits(hosts=LOOPBACK_NAMES) if host in LOOPBACK_NAMES else Limits()


def run(pack: Pack, pack_spec: Optional[str], host: str, port: int, workers: int = 1, log_level: str = "info") -> None:
    """Serve until interrupted (uvicorn), with the access log as JSON lines on standard error.

    With several workers, uvicorn starts processes that each open the pack of `pack_spec` (PACK_ENV).
    """
    _log_to_stderr()
    if workers > 1:
        os.environ[PACK_ENV] = pack_spec or ""
        os.environ[HOST_ENV] = host
        uvicorn.run("mtus.compiler.tools.serve:app_from_env", factory=True, host=host, port=port, workers=workers,
                    access_log=False, log_level=log_level, http=NoDelayHTTP)
        return
    warm(pack)
    uvicorn.run(create_app(pack_spec, pack=pack, limits=limits_for(host)), host=host, port=port, access_log=False,
                log_level=log_level, http=NoDelayHTTP)
