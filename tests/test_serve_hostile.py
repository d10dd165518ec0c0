"""The CLI's hostile inputs sent over HTTP: every one is a clear 4xx or an inert letter, never a 500 or a traceback."""

from __future__ import annotations

import io
import json
import warnings

import pytest

from mtus.compiler.tools.serve import create_app
from mtus.compiler.tools.serve_asgi import Limits
from tests.conftest import ROOT
from tests.test_hostile_inputs import CORPUS, HOSTILE, VALID

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

# not_utf8.mtus is about bytes; the page sends text (a browser has already replaced what is not UTF-8)
BAD_GUIDELINES = sorted(p for p in (ROOT / "tests" / "bad").glob("*.mtus") if p.stem != "not_utf8")


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with TestClient(create_app(), raise_server_exceptions=False) as c:
            yield c


def _unsafe(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 32 and c != "\n") or 0x7f <= ord(c) <= 0x9f or 0xd800 <= ord(c) <= 0xdfff]


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_hostile_case_file_is_a_422_naming_it_or_an_inert_letter(client, name):
    body = (HOSTILE / "cases" / name).read_bytes()
    kind = "application/json" if name.endswith(".json") else "application/yaml"
    for fmt in ("text", "markdown", "json"):
        r = client.post(f"/v1/check?format={fmt}", content=body, headers={"content-type": kind})
        assert r.status_code in (200, 422), r.text
        assert "Traceback" not in r.text
        if CORPUS[name] is None:
            assert r.status_code == 200, r.text
            assert not _unsafe(r.text), _unsafe(r.text)
        else:
            key, message = CORPUS[name]
            assert r.status_code == 422
            problems = r.json()["error"]["problems"]
            assert any(message in p["message"] and (not key or p["key"] == key) for p in problems), problems


def test_hostile_batch_lines_get_the_cli_records_over_http(client):
    from mtus.compiler.check.batch import JsonLines, check_stream
    from mtus.compiler.check.pack import open_pack

    good = json.dumps(VALID)
    lines = [good] + [(HOSTILE / "cases" / n).read_text(encoding="utf-8") for n in sorted(CORPUS) if n.endswith(".json")]
    lines += ["{not json", "[" * 100_000, '"\\ud800"', good]
    data = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    r = client.post("/v1/check/jsonl", content=data)
    assert r.status_code == 200
    out = io.StringIO()
    with JsonLines(io.BytesIO(data), owned=True) as stream:
        check_stream(stream, out, open_pack(None))
    assert r.text == out.getvalue()
    assert [json.loads(x)["line"] for x in r.text.splitlines()] == list(range(1, len(lines) + 1))


@pytest.mark.parametrize("path", [
    "/v1/template/%FF%FE", "/v1/template/" + "a" * 20_000, "/v1/guidelines/..%2F..%2Fetc%2Fpasswd",
    "/v1/guidelines/%2e%2e/source", "/static/../serve.py", "/static/%2e%2e/serve.py",
])
def test_hostile_paths_are_404_and_serve_no_other_file(client, path):
    r = client.get(path)
    assert r.status_code == 404, r.text
    assert "import" not in r.text  # no Python source came back


def test_repeated_and_odd_options_are_a_clean_400(client):
    body = (ROOT / "docs/examples/seed-2014-12-18.yaml").read_bytes()
    assert client.post("/v1/check?format=text&format=%00", content=body).status_code == 400
    assert client.post("/v1/check?wording=" + "u" * 10_000, content=body).status_code == 400


@pytest.mark.parametrize("path", BAD_GUIDELINES, ids=[p.stem for p in BAD_GUIDELINES])
def test_every_malformed_guideline_typed_into_the_playground_is_a_diagnostic(client, path):
    r = client.post("/v1/playground", json={"source": path.read_text(encoding="utf-8"), "case": "date: 2014-12-18"})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["diagnostics"] and all(d["span"]["line"] >= 1 for d in answer["diagnostics"])
    if any(d["severity"] == "error" for d in answer["diagnostics"]):
        assert answer["letter"] is None


@pytest.mark.parametrize("source", ["(" * 20_000, "guideline x \"x\"\n" + " or a" * 30_000, "\x00\ud800\x1b[2J",
                                    "x" * 300_000])
def test_oversized_and_absurd_guideline_text_is_refused_as_a_diagnostic(client, source):
    r = client.post("/v1/playground", content=json.dumps({"source": source, "case": ""}))  # \ud800 as JSON escapes it
    assert r.status_code == 200, r.text
    assert r.json()["diagnostics"][0]["severity"] == "error"


@pytest.mark.slow
def test_a_guideline_over_the_playground_time_is_cut_off_and_the_next_one_is_answered():
    """Near the front end's token limit a guideline takes seconds to check: over a short limit, its worker is killed."""
    big = "guideline big \"Big\"\n  source \"S\" page 1\nfacts\n  a: finding \"a\"\ncriteria\n  c: a" + " or a" * 9_000 + "\n"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with TestClient(create_app(limits=Limits(sandbox_seconds=0.05))) as c:
            c.post("/v1/playground", json={"source": "", "case": ""})  # the worker is up before the clock matters
            r = c.post("/v1/playground", json={"source": big, "case": ""})
            assert r.status_code == 422 and "took longer than 0.05 s" in r.json()["error"]["message"]
            sandbox = c.app.app.state.api.sandbox()
            started = sandbox.started
            sandbox.seconds = 10
            assert c.post("/v1/playground", json={"source": "", "case": ""}).status_code == 200
            assert sandbox.started == started + 1  # a new worker took the place of the killed one
