"""`mtus lsp`: the Language Server Protocol over stdio, for editors (pygls).

A thin layer: diagnostics are `dsl.check_text`'s (the codes and messages of
`mtus lint`), formatting is `dsl.format.format_text` (`mtus fmt`), and hover,
go to definition, completion and document symbols are dsl/navigate.py's. This
module only converts positions and shapes the answers.

Positions: the front end counts characters in the text with `\\n` line ends (and
no byte order mark); the protocol counts UTF-16 code units (or what the client
negotiated) on the editor's lines. `_Positions` converts between the two.
"""

from __future__ import annotations

import asyncio
import logging
from importlib import metadata
from typing import BinaryIO, Optional
from urllib.parse import unquote

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from mtus.dsl import diagnostics as diag
from mtus.dsl.format import FormatError, format_text
from mtus.dsl.navigate import Analysis, Completion, Symbol, complete, outline
from mtus.dsl.source import Span

log = logging.getLogger(__name__)

_SYMBOL_KINDS = {
    "guideline": lsp.SymbolKind.Module, "formulary": lsp.SymbolKind.Module, "fact": lsp.SymbolKind.Variable,
    "field": lsp.SymbolKind.Field, "table": lsp.SymbolKind.Struct, "criterion": lsp.SymbolKind.Boolean,
    "when": lsp.SymbolKind.Namespace, "example": lsp.SymbolKind.Event, "ingredient": lsp.SymbolKind.Constant,
    "product": lsp.SymbolKind.Object, "value": lsp.SymbolKind.Constant,
}
_COMPLETION_KINDS = {
    "fact": lsp.CompletionItemKind.Variable, "field": lsp.CompletionItemKind.Field,
    "table": lsp.CompletionItemKind.Struct, "criterion": lsp.CompletionItemKind.Function,
    "named": lsp.CompletionItemKind.Constant,
    "value": lsp.CompletionItemKind.EnumMember, "keyword": lsp.CompletionItemKind.Keyword,
    "type": lsp.CompletionItemKind.TypeParameter, "outcome": lsp.CompletionItemKind.Keyword,
}


def _version() -> str:
    try:
        return metadata.version("mtus")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


#: Documents longer than this are checked when opened and saved, not as they change, and get no
#: hover, completion or symbols: a guideline is a few kilobytes, and an analysis grows with the text.
MAX_LIVE_CHARS = 100_000
#: Changes within this many seconds are checked once, after the last (a fast typist's keystrokes).
DEBOUNCE_SECONDS = 0.25
#: The largest message read from the client; a larger one is skipped without being held in memory.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
#: The longest header line read from the client.
MAX_HEADER_BYTES = 4096


class MtusServer(LanguageServer):
    def __init__(self):
        super().__init__("mtus", _version(), text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.analyses: dict[str, Analysis] = {}
        self.last_parsed: dict[str, Analysis] = {}  # the last version with a syntax tree, for completion
        self.changes: dict[str, int] = {}  # uri -> changes received, for the debounce

    def document(self, uri: str) -> Optional[TextDocument]:
        """An open document, or None: never a file read from disk for a uri the client did not open."""
        return self.workspace.text_documents.get(unquote(uri))

    def live(self, uri: str) -> Optional[TextDocument]:
        """An open document small enough to analyse on request."""
        doc = self.document(uri)
        return doc if doc is not None and len(doc.source) <= MAX_LIVE_CHARS else None

    def analyse(self, uri: str) -> Analysis:
        doc = self.document(uri)  # callers pass only open documents
        current = self.analyses.get(uri)
        if current is not None and current.text == _Positions(doc).text:
            return current
        analysis = Analysis(doc.source, _path(uri))
        self.analyses[uri] = analysis
        if analysis.tree is not None:
            self.last_parsed[uri] = analysis
        return analysis

    def publish(self, uri: str) -> None:
        doc = self.document(uri)
        if doc is None:
            return
        if len(doc.source) > MAX_LIVE_CHARS:  # checking it would hold up every other request
            items = [lsp.Diagnostic(range=lsp.Range(start=lsp.Position(line=0, character=0),
                                                    end=lsp.Position(line=0, character=0)),
                                    message=f"the document is over {MAX_LIVE_CHARS:,} characters, too long to check "
                                            "as you edit\nhint: check it with `mtus lint`",
                                    severity=lsp.DiagnosticSeverity.Warning, code="E901", source="mtus")]
        else:
            analysis = self.analyse(uri)
            pos = _Positions(doc)
            items = [_diagnostic(d, pos, uri) for d in analysis.result.diagnostics]
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=uri, diagnostics=items, version=doc.version))


def _path(uri: str) -> str:
    return to_fs_path(uri) or uri


class _Positions:
    """Front-end offsets and spans <-> protocol positions, for one version of a document."""

    def __init__(self, doc: TextDocument):
        self.doc = doc
        source = doc.source
        self.bom = source.startswith("\ufeff")
        self.text = (source[1:] if self.bom else source).replace("\r\n", "\n").replace("\r", "\n")
        self.starts = [0]
        for i, c in enumerate(self.text):
            if c == "\n":
                self.starts.append(i + 1)
        self.lines = doc.lines

    def position(self, line: int, column: int) -> lsp.Position:
        """1-based line and column of the front end -> a protocol position."""
        line0 = max(0, line - 1)
        char = max(0, column - 1) + (1 if self.bom and line0 == 0 else 0)
        if line0 >= len(self.lines):
            return lsp.Position(line=len(self.lines), character=0)
        return self.doc.position_codec.position_to_client_units(self.lines, lsp.Position(line=line0, character=char))

    def range(self, span: Span) -> lsp.Range:
        return lsp.Range(start=self.position(span.line, span.column), end=self.position(span.end_line, span.end_column))

    def offset(self, position: lsp.Position) -> int:
        """A protocol position -> an offset in the front end's text."""
        if position.line >= len(self.lines):
            return len(self.text)
        server = self.doc.position_codec.position_from_client_units(self.lines, position)
        char = server.character - (1 if self.bom and server.line == 0 else 0)
        line_text = self.lines[server.line].rstrip("\r\n")
        char = max(0, min(char, len(line_text)))
        return self.starts[min(server.line, len(self.starts) - 1)] + char

    def whole(self) -> lsp.Range:
        if not self.lines:
            return lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=0, character=0))
        last = self.lines[-1]
        if last.endswith(("\n", "\r")):
            end = lsp.Position(line=len(self.lines), character=0)
        else:
            end = self.doc.position_codec.position_to_client_units(
                self.lines, lsp.Position(line=len(self.lines) - 1, character=len(last)))
        return lsp.Range(start=lsp.Position(line=0, character=0), end=end)


def _diagnostic(d: diag.Diagnostic, pos: _Positions, uri: str) -> lsp.Diagnostic:
    related = [
        lsp.DiagnosticRelatedInformation(location=lsp.Location(uri=uri, range=pos.range(n.span)), message=n.message)
        for n in d.notes if n.span is not None and n.span.path == d.span.path
    ]
    message = d.message + "".join(f"\nnote: {n.message}" for n in d.notes if n.span is None)
    if d.hint:
        message += f"\nhint: {d.hint}"
    return lsp.Diagnostic(
        range=pos.range(d.span),
        message=message,
        severity=lsp.DiagnosticSeverity.Error if d.is_error else lsp.DiagnosticSeverity.Warning,
        code=d.code,
        source="mtus",
        related_information=related or None,
    )


def _symbol(s: Symbol, pos: _Positions) -> lsp.DocumentSymbol:
    rng = pos.range(s.span)
    sel = pos.range(s.selection)
    if (sel.start.line, sel.start.character) < (rng.start.line, rng.start.character) or \
            (sel.end.line, sel.end.character) > (rng.end.line, rng.end.character):
        rng = lsp.Range(start=min(rng.start, sel.start, key=lambda p: (p.line, p.character)),
                        end=max(rng.end, sel.end, key=lambda p: (p.line, p.character)))
    return lsp.DocumentSymbol(
        name=s.name, detail=s.detail or None, kind=_SYMBOL_KINDS[s.kind], range=rng, selection_range=sel,
        children=[_symbol(c, pos) for c in s.children] or None)


def _completion_item(c: Completion, pos: _Positions, offset: int) -> lsp.CompletionItem:
    item = lsp.CompletionItem(
        label=c.label, kind=_COMPLETION_KINDS.get(c.kind, lsp.CompletionItemKind.Text), detail=c.detail or None,
        documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=c.documentation) if c.documentation
        else None)
    text = c.insert or c.label
    if c.insert and "$1" in c.insert:
        item.insert_text_format = lsp.InsertTextFormat.Snippet
    if c.replace_from is not None:
        start_line = pos.text.count("\n", 0, c.replace_from) + 1
        start_col = c.replace_from - pos.text.rfind("\n", 0, c.replace_from)
        end_line = pos.text.count("\n", 0, offset) + 1
        end_col = offset - pos.text.rfind("\n", 0, offset)
        item.text_edit = lsp.TextEdit(
            range=lsp.Range(start=pos.position(start_line, start_col), end=pos.position(end_line, end_col)),
            new_text=text)
    elif c.insert:
        item.insert_text = text
    return item


def create_server() -> MtusServer:
    server = MtusServer()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: MtusServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: MtusServer, params: lsp.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        seen = ls.changes[uri] = ls.changes.get(uri, 0) + 1
        await asyncio.sleep(DEBOUNCE_SECONDS)
        if ls.changes.get(uri) != seen:  # a later change came: it will check the text
            return
        ls.publish(uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: MtusServer, params: lsp.DidSaveTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: MtusServer, params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.analyses.pop(uri, None)
        ls.last_parsed.pop(uri, None)
        ls.changes.pop(uri, None)
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(ls: MtusServer, params: lsp.HoverParams) -> Optional[lsp.Hover]:
        uri = params.text_document.uri
        doc = ls.live(uri)
        if doc is None:
            return None
        pos = _Positions(doc)
        target = ls.analyse(uri).at(pos.offset(params.position))
        if target is None:
            return None
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=target.hover),
                         range=pos.range(target.span))

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: MtusServer, params: lsp.DefinitionParams) -> Optional[lsp.Location]:
        uri = params.text_document.uri
        doc = ls.live(uri)
        if doc is None:
            return None
        pos = _Positions(doc)
        target = ls.analyse(uri).at(pos.offset(params.position))
        if target is None or target.declaration is None:
            return None
        return lsp.Location(uri=uri, range=pos.range(target.declaration))

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=[".", '"']))
    def completion(ls: MtusServer, params: lsp.CompletionParams) -> lsp.CompletionList:
        uri = params.text_document.uri
        doc = ls.live(uri)
        if doc is None:
            return lsp.CompletionList(is_incomplete=False, items=[])
        pos = _Positions(doc)
        analysis = ls.analyse(uri)
        tree = analysis.tree if analysis.tree is not None else getattr(ls.last_parsed.get(uri), "tree", None)
        offset = pos.offset(params.position)
        items = [_completion_item(c, pos, offset) for c in complete(pos.text, offset, tree)]
        return lsp.CompletionList(is_incomplete=False, items=items)

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def document_symbol(ls: MtusServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
        uri = params.text_document.uri
        doc = ls.live(uri)
        if doc is None:
            return []
        pos = _Positions(doc)
        analysis = ls.analyse(uri)
        return [_symbol(s, pos) for s in outline(analysis.tree, analysis.source)]

    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    def formatting(ls: MtusServer, params: lsp.DocumentFormattingParams) -> Optional[list[lsp.TextEdit]]:
        uri = params.text_document.uri
        doc = ls.live(uri)
        if doc is None:
            return None
        try:
            formatted = format_text(doc.source, _path(uri))
        except FormatError as e:
            ls.window_show_message(lsp.ShowMessageParams(
                type=lsp.MessageType.Warning, message=f"mtus: cannot format {_path(uri)}: {e.message}"))
            return None
        if formatted == doc.source:
            return []
        return [lsp.TextEdit(range=_Positions(doc).whole(), new_text=formatted)]

    return server


class BoundedInput:
    """The client's byte stream, read with bounded memory: pygls reads headers by line and bodies by length.

    A header line longer than MAX_HEADER_BYTES, or a body longer than
    MAX_MESSAGE_BYTES, is skipped while it is read (at most 1 MiB of it in
    memory) and stands as a line or a body pygls ignores; a Content-Length too
    long to be a number is one that is skipped. The server never exits or fills
    memory for what a client sends.
    """

    _SKIPPED_BODY = b"{}"  # not a message: pygls logs it and reads the next one

    def __init__(self, stream: BinaryIO):
        self._stream = stream

    def readline(self) -> bytes:
        line = self._stream.readline(MAX_HEADER_BYTES + 1)
        if len(line) > MAX_HEADER_BYTES and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = self._stream.readline(1 << 20)
            return b"X-Skipped: a header line too long\r\n"
        if line.startswith(b"Content-Length:") and len(line.strip()) > len(b"Content-Length: ") + 12:
            return b"Content-Length: %d\r\n" % (MAX_MESSAGE_BYTES + 1)  # not a length to allocate
        return line

    def read(self, n: int) -> bytes:
        if n <= MAX_MESSAGE_BYTES:
            return self._stream.read(n)
        left = n
        while left > 0:
            chunk = self._stream.read(min(left, 1 << 20))
            if not chunk:
                return b""  # the client closed the stream
            left -= len(chunk)
        return self._SKIPPED_BODY


def serve() -> None:
    """Run the server on stdin/stdout until the client says exit."""
    import sys

    create_server().start_io(stdin=BoundedInput(sys.stdin.buffer))
