"""`mtus lsp` against a hostile client: bounded memory, bounded time, only open documents, never an exit."""

from __future__ import annotations

import time

from tests.test_lsp import GUIDELINE, TIMEOUT, client  # noqa: F401 - the fixture: a session with the server

SMALL = GUIDELINE


def raw(c, data: bytes) -> None:
    c.proc.stdin.write(data)
    c.proc.stdin.flush()


def still_answers(c) -> None:
    """The server is alive and in step with the stream: a request gets its own answer."""
    assert c.request("textDocument/documentSymbol", {"textDocument": {"uri": "file:///never-opened.mtus"}}) == []


def peak_memory_mb(c) -> float:
    with open(f"/proc/{c.proc.pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


def test_a_huge_content_length_is_skipped_without_holding_it(client):  # noqa: F811
    from mtus.compiler.tools.lsp import MAX_MESSAGE_BYTES

    raw(client, b"Content-Length: " + b"9" * 40 + b"\r\n\r\n")  # too long to be a length: read as one to skip
    raw(client, b"x" * (MAX_MESSAGE_BYTES + 1))
    big = MAX_MESSAGE_BYTES + 5_000_000
    raw(client, b"Content-Length: %d\r\n\r\n" % big)
    for _ in range(big // (1 << 20)):
        raw(client, b"y" * (1 << 20))
    raw(client, b"y" * (big % (1 << 20)))
    still_answers(client)
    assert peak_memory_mb(client) < 200


def test_headers_without_a_length_and_overlong_header_lines_are_ignored(client):  # noqa: F811
    raw(client, b"X-Nothing: here\r\n\r\n")
    raw(client, b"X-Long: " + b"z" * 10_000_000 + b"\r\n\r\n")
    still_answers(client)
    assert peak_memory_mb(client) < 200


def test_documents_never_opened_are_never_read(client, tmp_path):  # noqa: F811
    secret = tmp_path / "secret.mtus"
    secret.write_text(SMALL)
    for uri in ("file:///dev/zero", secret.as_uri()):
        start = time.monotonic()
        where = {"textDocument": {"uri": uri}, "position": {"line": 5, "character": 4}}
        assert client.request("textDocument/hover", where) is None
        assert client.request("textDocument/definition", where) is None
        assert client.request("textDocument/completion", where)["items"] == []
        assert client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}}) == []
        assert client.request("textDocument/formatting", {"textDocument": {"uri": uri},
                                                          "options": {"tabSize": 2, "insertSpaces": True}}) is None
        assert time.monotonic() - start < TIMEOUT / 2
    still_answers(client)


def test_a_1_mb_document_costs_one_quick_diagnostic_per_change(client, tmp_path):  # noqa: F811
    from mtus.compiler.tools.lsp import MAX_LIVE_CHARS

    uri = (tmp_path / "big.mtus").as_uri()
    text = SMALL + "# " + "x" * (1024 * 1024) + "\n"
    start = time.monotonic()
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "mtus", "version": 1,
                                                            "text": text}})
    published = client.notification("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)
    assert [d["code"] for d in published["diagnostics"]] == ["E901"]
    assert f"{MAX_LIVE_CHARS:,} characters" in published["diagnostics"][0]["message"]
    for version in range(2, 12):  # ten keystrokes: checked once, after the last
        client.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                                "text": "#"}]})
    published = client.notification("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)
    assert published["version"] == 11
    where = {"textDocument": {"uri": uri}, "position": {"line": 5, "character": 4}}
    assert client.request("textDocument/hover", where) is None
    assert time.monotonic() - start < 20  # the checks of a 1 MB text take about 20 s each
    still_answers(client)
