"""The server's guard around every request: request ids, JSON access logs, and bounds on body size, time and concurrency.

A plain ASGI middleware (not Starlette's BaseHTTPMiddleware, which buffers
streamed responses): it counts the body as it is received, so a client that
lies about Content-Length or sends no length at all is still stopped at the
limit, and it answers every refusal as the API answers errors, in JSON.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Optional

import anyio
import attrs

ACCESS_LOG = logging.getLogger("mtus.serve.access")

#: A request id a client may choose (X-Request-ID): short, and safe to print in a log line.
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


@attrs.frozen
class Limits:
    """What one server process accepts (docs/api.md, "Limits")."""

    max_body: int = 5 * 1024 * 1024  # a case file's own limit (check/casefile.py MAX_CASE_BYTES)
    max_stream_body: int = 64 * 1024 * 1024  # POST /v1/check/jsonl, read as it streams
    timeout: float = 30.0  # seconds for a request's answer to start
    stream_timeout: float = 600.0  # seconds for a whole JSON Lines stream
    concurrency: int = 8  # requests to /v1/ handled at once; more get 503 at once rather than queueing
    sandbox_seconds: float = 5.0  # one playground evaluation, in its worker process
    sandbox_memory: int = 1024 * 1024 * 1024  # the worker's address space (RLIMIT_AS)
    sandbox_workers: int = 1
    #: The Host headers answered (names without the port); None answers any. A server on a loopback address
    #: answers only its own names, so a web page cannot reach it through DNS rebinding.
    hosts: Optional[tuple[str, ...]] = None


class BodyTooLarge(Exception):
    """The request body passed its limit while it was being received."""

    def __init__(self, limit: int):
        super().__init__(f"the request body is larger than the limit of {limit:,} bytes")
        self.limit = limit


def error_body(status: int, message: str, request_id: Optional[str], problems=(), hint: Optional[str] = None,
               **extra) -> dict:
    """The one shape of every error answer: {"error": {status, message, hint, problems}, "request_id"}."""
    return {"error": {"status": status, "message": message, "hint": hint, "problems": list(problems), **extra},
            "request_id": request_id}


def _streams(path: str) -> bool:
    return path == "/v1/check/jsonl"


class Guard:
    """ASGI middleware: the request id, the access log line, and the limits of `Limits`."""

    def __init__(self, app, limits: Limits):
        self.app = app
        self.limits = limits
        self.busy = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = given if _CLIENT_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        path = scope.get("path", "")
        streams = _streams(path)
        limit = self.limits.max_stream_body if streams else self.limits.max_body
        started = time.perf_counter()
        status = {"code": 0, "bytes": 0, "in": 0}

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message = dict(message, headers=list(message.get("headers", [])) + [(b"x-request-id", rid.encode())])
            elif message["type"] == "http.response.body":
                status["bytes"] += len(message.get("body", b""))
            await send(message)

        async def refuse(code: int, message: str, hint: Optional[str] = None, retry: bool = False):
            body = json.dumps(error_body(code, message, rid, hint=hint)).encode()
            extra = [(b"retry-after", b"1")] if retry else []
            await send_with_id({"type": "http.response.start", "status": code,
                                "headers": [(b"content-type", b"application/json"),
                                            (b"content-length", str(len(body)).encode())] + extra})
            await send_with_id({"type": "http.response.body", "body": body})

        async def counted_receive():
            message = await receive()
            if message["type"] == "http.request":
                status["in"] += len(message.get("body", b""))
                if status["in"] > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            declared = int(headers.get(b"content-length", b"0") or 0)
        except ValueError:
            declared = 0
        bounded = path.startswith("/v1/")
        host = headers.get(b"host", b"").decode("latin-1").lower()
        host = host[:host.rindex(":")] if ":" in host and not host.endswith("]") else host
        try:
            if self.limits.hosts is not None and host not in self.limits.hosts:
                await refuse(400, f"this server answers requests for {', '.join(self.limits.hosts)}, "
                             f"not {host[:100]!r}", "start it with --host to serve another name")
            elif declared > limit:
                await refuse(413, f"the request body is larger than the limit of {limit:,} bytes",
                             "send one case per request, or many as JSON Lines to /v1/check/jsonl")
            elif bounded and self.busy >= self.limits.concurrency:
                await refuse(503, f"the server is checking {self.busy} requests, its limit; try again",
                             "retry after a second, or start the server with more workers", retry=True)
            else:
                self.busy += bounded
                try:
                    with anyio.fail_after(self.limits.stream_timeout if streams else self.limits.timeout):
                        await self.app(scope, counted_receive, send_with_id)
                finally:
                    self.busy -= bounded
        except BodyTooLarge as e:
            if not status["code"]:
                await refuse(413, str(e), "send one case per request, or many as JSON Lines to /v1/check/jsonl")
        except TimeoutError:
            if not status["code"]:
                await refuse(503, "the request took longer than the server's time limit",
                             "check fewer cases per request")
        finally:
            ACCESS_LOG.info(json.dumps({
                "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "request_id": rid,
                "method": scope.get("method"), "path": path, "query": scope.get("query_string", b"").decode("latin-1"),
                "status": status["code"] or 499, "ms": round((time.perf_counter() - started) * 1000, 2),
                "bytes_in": status["in"], "bytes_out": status["bytes"],
                "client": (scope.get("client") or [None])[0]}, sort_keys=True))
