"""`mtus lsp`, end to end: a real client session over stdio, JSON-RPC framed as the protocol says.

The session starts `mtus lsp` in a subprocess and speaks to it as an editor does:
initialize; open a guideline with a misspelled fact (the diagnostic must be the one
`mtus lint --format json` reports, at the right range counted in UTF-16 code units,
with an emoji earlier on the line); fix it with an incremental change (an empty
list comes back); hover on a fact and a criterion; complete fact names, keywords,
`one of` values inside quotes (while the line does not parse yet), history fields
and outcomes; go to definition; document symbols; format a messy document; shut
down. Then dsl/navigate.py on its own, and `mtus lsp` without pygls.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time

import pytest

from mtus.compiler.tools.lint import lint_paths
from mtus.dsl.format import format_text
from mtus.dsl.navigate import Analysis, complete
from tests.conftest import GUIDELINES, ROOT

TIMEOUT = 60

GUIDELINE = '''# A guideline with one mistake.
guideline tpi "Trigger point injections"
  source "MTUS Chronic Pain Medical Treatment Guidelines" section "2" page 122

facts
  twitch_response: finding "trigger points with a twitch response on palpation"
  mood: one of {"calm 😀", "anxious"} "the patient's mood"
  substance: one of {"local anesthetic", "saline"} "injected substance"
  injections: count "injections requested per session"
  prior: history "prior injections"
    date: date "date of the injection"
    relief: percent "pain relief"

criteria
  trigger_points: twitch_response
    says "a twitch response"
  per_session: mood = "calm 😀" and injectons <= 4
    says "no more than 3-4 injections per session"
  anesthetic: substance = "local anesthetic"
  when any(prior)
    repeat: last(prior).relief >= 50%

example "four injections"
  given request.date = 2014-12-18, twitch_response = present, mood = "calm 😀", injections = 4
  given prior = []
  expect certified because repeat not applicable
'''


class Client:
    """A minimal LSP client: Content-Length framing over the server's stdin and stdout."""

    def __init__(self, command: list[str]):
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        self.messages: queue.Queue = queue.Queue()
        self.notifications: list[dict] = []
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    self.messages.put(None)
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            self.messages.put(json.loads(out.read(length).decode("utf-8")))

    def send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def notify(self, method: str, params: dict) -> None:
        self.send({"method": method, "params": params})

    def _next(self, deadline: float) -> dict:
        message = self.messages.get(timeout=max(0.1, deadline - time.monotonic()))
        if message is None:
            raise AssertionError("the server closed its output: " + self.proc.stderr.read().decode()[-2000:])
        if "method" in message and "id" in message:  # a request from the server: accept it
            self.send({"id": message["id"], "result": None})
        elif "method" in message:
            self.notifications.append(message)
        return message

    def request(self, method: str, params: dict):
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        deadline = time.monotonic() + TIMEOUT
        while True:
            message = self._next(deadline)
            if message.get("id") == self.next_id and "method" not in message:
                assert "error" not in message, message
                return message.get("result")

    def notification(self, method: str, where=lambda params: True) -> dict:
        """The first notification (already received or coming) with that method and matching params."""
        deadline = time.monotonic() + TIMEOUT
        seen = 0
        while True:
            for n in self.notifications[seen:]:
                if n["method"] == method and where(n["params"]):
                    self.notifications.remove(n)
                    return n["params"]
            seen = len(self.notifications)
            self._next(deadline)


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def position(text: str, needle: str, skip: int = 0, after: int = 0) -> dict:
    """The protocol position of the (skip+1)-th needle in text, `after` characters into it."""
    at = -1
    for _ in range(skip + 1):
        at = text.index(needle, at + 1)
    at += after
    line = text.count("\n", 0, at)
    start = text.rfind("\n", 0, at) + 1
    return {"line": line, "character": utf16(text[start:at])}


@pytest.fixture
def client(tmp_path):
    c = Client([sys.executable, "-c", "from mtus.compiler.tools.cli import main; main()", "lsp"])
    result = c.request("initialize", {
        "processId": os.getpid(), "rootUri": tmp_path.as_uri(),
        "capabilities": {
            "general": {"positionEncodings": ["utf-16"]},
            "textDocument": {"hover": {"contentFormat": ["markdown", "plaintext"]},
                             "documentSymbol": {"hierarchicalDocumentSymbolSupport": True},
                             "completion": {"completionItem": {"snippetSupport": True}},
                             "publishDiagnostics": {"relatedInformation": True}}}})
    caps = result["capabilities"]
    assert caps["hoverProvider"] and caps["definitionProvider"] and caps["documentSymbolProvider"]
    assert caps["documentFormattingProvider"] and '"' in caps["completionProvider"]["triggerCharacters"]
    c.notify("initialized", {})
    yield c
    assert c.request("shutdown", None) is None
    c.notify("exit", None)
    assert c.proc.wait(timeout=TIMEOUT) == 0
    c.proc.stdout.close()
    c.proc.stderr.close()
    c.proc.stdin.close()


def test_session(client, tmp_path):
    path = tmp_path / "tpi.mtus"
    path.write_text(GUIDELINE, encoding="utf-8")
    uri = path.as_uri()
    lint = json.loads(lint_paths([str(path)], "json").output)
    assert [d["code"] for d in lint] == ["E201"]

    # open a document with an error: the diagnostic of `mtus lint`, where it is
    client.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "mtus", "version": 1, "text": GUIDELINE}})
    published = client.notification("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)
    (d,) = published["diagnostics"]
    assert d["code"] == lint[0]["code"] and d["source"] == "mtus" and d["severity"] == 1
    assert d["message"].splitlines()[0] == lint[0]["message"]
    assert "hint: " + lint[0]["hint"] in d["message"]
    start = position(GUIDELINE, "injectons")
    assert d["range"] == {"start": start, "end": {"line": start["line"], "character": start["character"] + 9}}
    line = GUIDELINE.splitlines()[start["line"]]
    assert start["character"] == line.index("injectons") + 1  # the emoji is two UTF-16 units

    # fix it: an incremental change; the diagnostics are cleared
    client.notify("textDocument/didChange", {
        "textDocument": {"uri": uri, "version": 2},
        "contentChanges": [{"range": d["range"], "text": "injections"}]})
    fixed = GUIDELINE.replace("injectons", "injections")
    published = client.notification("textDocument/publishDiagnostics",
                                     lambda p: p["uri"] == uri and p.get("version") == 2)
    assert published["diagnostics"] == []

    # hover: a fact (its type and label) and a criterion (says and citation)
    hover = client.request("textDocument/hover", {
        "textDocument": {"uri": uri}, "position": position(fixed, "injections <= 4", after=3)})
    assert hover["contents"]["kind"] == "markdown"
    assert "`injections`: count" in hover["contents"]["value"]
    assert "injections requested per session" in hover["contents"]["value"]
    assert "Read by: `per_session`" in hover["contents"]["value"]
    start = position(fixed, "injections <= 4")
    assert hover["range"]["start"] == start
    hover = client.request("textDocument/hover", {
        "textDocument": {"uri": uri}, "position": position(fixed, "per_session:", after=2)})
    text = hover["contents"]["value"]
    assert "`per_session`" in text and "no more than 3-4 injections per session" in text
    assert "MTUS Chronic Pain Medical Treatment Guidelines, section 2, page 122" in text
    hover = client.request("textDocument/hover", {
        "textDocument": {"uri": uri}, "position": position(fixed, "relief >= 50%", after=1)})
    assert "**field** `relief` of `prior`: percent" in hover["contents"]["value"]
    assert client.request("textDocument/hover", {
        "textDocument": {"uri": uri}, "position": position(fixed, "criteria")}) is None

    # go to definition: from a use to the declaration, from an example's reason to the criterion
    loc = client.request("textDocument/definition", {
        "textDocument": {"uri": uri}, "position": position(fixed, "injections <= 4", after=2)})
    decl = position(fixed, "injections: count")
    assert loc["uri"] == uri and loc["range"]["start"] == decl
    loc = client.request("textDocument/definition", {
        "textDocument": {"uri": uri}, "position": position(fixed, "repeat not applicable", after=1)})
    assert loc["range"]["start"] == position(fixed, "repeat: last")

    # completion: names and keywords in a condition
    items = client.request("textDocument/completion", {
        "textDocument": {"uri": uri}, "position": position(fixed, "twitch_response\n    says", after=3)})
    labels = {i["label"] for i in items["items"]}
    assert {"twitch_response", "injections", "substance", "request.date", "and", "documented"} <= labels
    fact = next(i for i in items["items"] if i["label"] == "injections")
    assert fact["detail"] == "count" and fact["kind"] == 6  # Variable
    # a history's fields after `last(prior).`
    items = client.request("textDocument/completion", {
        "textDocument": {"uri": uri}, "position": position(fixed, "last(prior).relief", after=len("last(prior)."))})
    assert [i["label"] for i in items["items"]] == ["date", "relief"]

    # `one of` values inside quotes, while the line being typed does not parse
    typing = fixed.replace('    repeat: last', '    pick: substance = "lo\n    repeat: last')
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 3},
                                              "contentChanges": [{"text": typing}]})
    published = client.notification("textDocument/publishDiagnostics",
                                     lambda p: p["uri"] == uri and p.get("version") == 3)
    assert [x["code"] for x in published["diagnostics"]] == ["E102"]  # the string is not closed
    items = client.request("textDocument/completion", {
        "textDocument": {"uri": uri}, "position": position(typing, '"lo\n', after=3)})
    values = {i["label"]: i for i in items["items"]}
    assert set(values) == {"local anesthetic", "saline"}
    edit = values["local anesthetic"]["textEdit"]
    assert edit["newText"] == "local anesthetic"
    assert edit["range"]["start"] == position(typing, '"lo\n', after=1)  # replaces what is typed inside the quotes
    # outcomes after a criterion in `expect ... because`
    items = client.request("textDocument/completion", {
        "textDocument": {"uri": uri}, "position": position(typing, "repeat not applicable", after=7)})
    assert {"met", "not met", "not documented", "not applicable"} <= {i["label"] for i in items["items"]}

    # document symbols: the guideline, its facts (a history with its fields) and criteria
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 4},
                                              "contentChanges": [{"text": fixed}]})
    symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    (g,) = symbols
    assert g["name"] == "tpi" and g["kind"] == 2  # Module
    names = [s["name"] for s in g["children"]]
    assert names[:5] == ["twitch_response", "mood", "substance", "injections", "prior"]
    assert "trigger_points" in names and "per_session" in names and "four injections" in names
    prior = next(s for s in g["children"] if s["name"] == "prior")
    assert [f["name"] for f in prior["children"]] == ["date", "relief"]
    when = next(s for s in g["children"] if s["name"].startswith("when"))
    assert [c["name"] for c in when["children"]] == ["repeat"]

    # formatting: a messy document, one edit that makes it `mtus fmt`'s text
    messy = (fixed.replace("  injections: count", "  injections :count").replace("<= 4", "<=4")
             .replace("\n\ncriteria", "\n\n\n\ncriteria"))
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 5},
                                              "contentChanges": [{"text": messy}]})
    edits = client.request("textDocument/formatting", {
        "textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": True}})
    (edit,) = edits
    assert edit["range"]["start"] == {"line": 0, "character": 0}
    assert edit["range"]["end"] == {"line": messy.count("\n"), "character": 0}
    assert edit["newText"] == format_text(messy) == format_text(fixed)
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 6},
                                              "contentChanges": [{"text": edit["newText"]}]})
    assert client.request("textDocument/formatting", {
        "textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": True}}) == []

    # closing the document clears its diagnostics
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    published = client.notification("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)
    assert published["diagnostics"] == []


def test_formulary_and_a_syntax_error(client, tmp_path):
    uri = (tmp_path / "formulary.mtus").as_uri()
    text = ('formulary drugs "Drugs"\n  source "FDA labels" page 1\n\ningredients\n  "hydrocodone": "opioid"\n\n'
            'products\n  "Norco": "hydrocodone", "acetaminophen" as "tablet"\n')
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "mtus", "version": 1,
                                                            "text": text}})
    (d,) = client.notification("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)["diagnostics"]
    assert d["code"] == "E207" and d["range"]["start"] == position(text, '"acetaminophen"')
    symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    assert [s["name"] for s in symbols[0]["children"]] == ["hydrocodone", "Norco"]
    loc = client.request("textDocument/definition", {
        "textDocument": {"uri": uri}, "position": position(text, '"hydrocodone"', skip=1, after=2)})
    assert loc["range"]["start"] == position(text, '"hydrocodone"')
    # a syntax error: one diagnostic; formatting is refused and says why
    broken = text.replace('as "tablet"', 'as')
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                              "contentChanges": [{"text": broken}]})
    (d,) = client.notification("textDocument/publishDiagnostics",
                               lambda p: p["uri"] == uri and p.get("version") == 2)["diagnostics"]
    assert d["code"] in ("E110", "E111")
    assert client.request("textDocument/formatting", {
        "textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": True}}) is None
    shown = client.notification("window/showMessage")
    assert "cannot format" in shown["message"]


def test_without_pygls_a_clear_message():
    """`mtus lsp` with pygls missing: exit 2 and how to install it, not a traceback."""
    blocked = ("import sys; sys.modules['pygls'] = None; sys.modules['lsprotocol'] = None\n"
               "from mtus.compiler.tools.cli import main; main()")
    r = subprocess.run([sys.executable, "-c", blocked, "lsp"], capture_output=True, text=True, timeout=TIMEOUT,
                       cwd=ROOT, stdin=subprocess.DEVNULL)
    assert r.returncode == 2
    assert "pip install 'mtus[lsp]'" in r.stderr and "Traceback" not in r.stderr


# ------------------------------------------------------- dsl/navigate.py alone
def at(text: str, marker: str = "‸"):
    offset = text.index(marker)
    return text.replace(marker, ""), offset


def labels(text: str, tree=None) -> list[str]:
    text, offset = at(text)
    if tree is None:  # as the server does: the last version that parsed
        tree = Analysis(text).tree or Analysis(HEAD).tree
    return [c.label for c in complete(text, offset, tree)]


HEAD = GUIDELINE.replace("injectons", "injections").split("\nexample")[0]


@pytest.mark.parametrize("where, expected", [
    ("  x: count(‸", ["prior"]),                                        # a history goes here
    ("  x: count(prior where rel‸", ["date", "relief"]),              # the entry's fields first
    ("  x: substance in {\"saline\", \"‸", ["local anesthetic", "saline"]),
    ("  x: prior.‸", ["date", "relief"]),
    ("  x: request.‸", ["date"]),
    ("  x: twitch_response\n    ‸", ["when", "exclude", "let", "says", "shows", "cite", "allows fewer"]),
    ("  x: twitch_response\n‸", ["facts", "tables", "criteria", "example"]),
    ("  x: twitch_response\n    allows fewer ‸", ["injections"]),
    ("  x: twitch_response  # a comment ‸", []),
])
def test_completion_contexts(where, expected):
    got = labels(HEAD + "\n" + where + "\n")
    assert got[:len(expected)] == expected if expected else got == []


def test_completion_in_examples_and_declarations():
    text = HEAD + '\nexample "e"\n  given mood = ‸\n'
    assert labels(text) == ['"calm 😀"', '"anxious"']
    text = HEAD + '\nexample "e"\n  given prior = [{date: 2014-01-01, ‸\n'
    assert labels(text, Analysis(HEAD).tree) == ["date", "relief"]
    text = HEAD + '\nexample "e"\n  expect not certified because ‸\n'
    assert labels(text) == ["trigger_points", "per_session", "anesthetic", "repeat"]
    text = HEAD.replace("  injections: count", "  injections: ‸")
    assert labels(text, Analysis(HEAD).tree)[:3] == ["finding", "number", "count"]
    line = [x for x in HEAD.splitlines() if x.startswith("  injections: count")][0]
    text = HEAD.replace(line, '  injections: count "n" from item ‸')
    assert labels(text, Analysis(HEAD).tree) == ["quantity", "levels", "length", "purchase", "frequency", "hours", "days"]
    text = HEAD.replace(line, '  injections: count "n" ‸')
    assert labels(text, Analysis(HEAD).tree) == ["default", "from product", "from item quantity"]


def test_every_name_in_the_bundled_guidelines_has_a_declaration():
    """Hover and go to definition find the declaration of every name the guidelines use."""
    for path in sorted(GUIDELINES.glob("*.mtus")):
        a = Analysis(path.read_text(encoding="utf-8"), str(path))
        assert a.tree is not None
        for span, kind, name in a.references():
            if kind == "request":
                continue
            target = a.at(span.start)
            assert target is not None and target.declaration is not None, (path.name, kind, name, span.line)
            assert a.text[target.declaration.start:target.declaration.end].strip('"') == \
                name.rpartition(".")[2] or kind in ("ingredient", "product"), (path.name, name)


def test_hover_says_a_fact_is_read_from_the_items_quantity():
    text = (GUIDELINES / "tpi.mtus").read_text(encoding="utf-8")
    hover = Analysis(text, "tpi.mtus").hover("fact", "injections")
    assert "From the request item's quantity" in hover and "unless the case gives it" in hover
    assert "request item" not in Analysis(text, "tpi.mtus").hover("fact", "substance")
