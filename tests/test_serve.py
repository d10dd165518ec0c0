"""`mtus serve`'s API in-process (Starlette's TestClient): the CLI's answers over HTTP, its errors as JSON, its bounds."""

from __future__ import annotations

import json
import logging
import warnings

import pytest
from click.testing import CliRunner

from mtus.compiler.tools.cli import main
from tests.conftest import ROOT

with warnings.catch_warnings():  # Starlette 1.x prefers httpx2 for its TestClient; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from mtus.compiler.tools.serve import create_app  # noqa: E402
from mtus.compiler.tools.serve_asgi import Limits  # noqa: E402

SEED = ROOT / "docs/examples/seed-2014-12-18.yaml"
TPI_CASE = {"case": "api-1", "date": "2014-12-18", "requests": [{"item": "Trigger point injections"}],
            "facts": {"twitch_response": "present", "referred_pain": "present", "symptom_onset": "2014-03-02",
                      "conservative_care_failed": "present", "radiculopathy": "absent"}}


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield TestClient(create_app())


def cli(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False, color=False)


def _client(**limits):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TestClient(create_app(limits=Limits(**limits)), raise_server_exceptions=False)


# ------------------------------------------------------------- /v1/check
def test_check_answers_the_letter_json_of_the_cli(client):
    r = client.post("/v1/check", content=SEED.read_bytes(), headers={"content-type": "application/yaml"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    expected = json.loads(cli("check", str(SEED), "--format", "json").stdout)
    assert r.json() == expected
    assert r.json()["requests"][0]["determination"] == "upheld"


@pytest.mark.parametrize("fmt,wording", [("text", "imr"), ("markdown", "ur"), ("text", "ur")])
def test_check_text_and_markdown_are_the_cli_letter(client, fmt, wording):
    r = client.post(f"/v1/check?format={fmt}&wording={wording}", content=SEED.read_bytes())
    assert r.status_code == 200
    assert r.text == cli("check", str(SEED), "--format", fmt, "--wording", wording).stdout
    assert r.headers["content-type"].startswith("text/plain" if fmt == "text" else "text/markdown")


def test_check_takes_json_bodies_and_explain(client):
    r = client.post("/v1/check?format=text&explain=true", json=TPI_CASE)
    assert r.status_code == 200
    assert "OVERTURNED" in r.text and "trigger_points" in r.text  # the criterion trace names each criterion
    assert r.text == cli("check", "-", "--format", "text", "--explain", input=json.dumps(TPI_CASE)).stdout


def test_a_bad_case_gets_the_cli_problems_as_json_422(client):
    bad = b"date: 2014-13-45\nrequests: []\n"
    r = client.post("/v1/check", content=bad)
    assert r.status_code == 422
    err = r.json()["error"]
    assert [(p["key"], p["line"]) for p in err["problems"]] == [("date", 1), ("requests", 2)]
    assert err["problems"][0]["message"] == "2014-13-45 is not a calendar date"
    # the same problems, in the same words, as `mtus check -` prints them
    assert err["text"].replace("request:", "<stdin>:") == cli("check", "-", input=bad.decode()).stderr
    assert r.json()["request_id"] == r.headers["x-request-id"]


@pytest.mark.parametrize("body,key,message", [
    (b"", "", "the request body is empty"),
    (b"\xff\xfe\x00", "", "not UTF-8 text"),
    (b"{not json", "", "this is not valid JSON"),
    (b"date: 2014-12-18\nrequests:\n  - item: x\nextra: &a 1\n", "", "anchors (&name) and aliases"),
])
def test_unreadable_bodies_are_422_naming_the_problem(client, body, key, message):
    r = client.post("/v1/check", content=body)
    assert r.status_code == 422
    p = r.json()["error"]["problems"][0]
    assert p["key"] == key and message in p["message"]


def test_strict_refuses_facts_no_guideline_reads(client):
    case = dict(TPI_CASE, facts=dict(TPI_CASE["facts"], other_modalities_failed="present"))
    assert client.post("/v1/check", json=case).status_code == 200
    r = client.post("/v1/check?strict=true", json=case)
    assert r.status_code == 422 and r.json()["error"]["problems"][0]["key"] == "facts.other_modalities_failed"


def test_no_item_decided_is_422_with_the_letter(client):
    case = {"date": "2014-12-18", "requests": [{"item": "a weekend at the spa"}]}
    r = client.post("/v1/check", json=case)
    assert r.status_code == 422
    err = r.json()["error"]
    assert "no item was decided" in err["message"]
    assert err["letter"]["requests"][0]["outcome"] == "not addressed"


@pytest.mark.parametrize("query,name", [("format=pdf", "format"), ("wording=legal", "wording"),
                                        ("explain=perhaps", "explain")])
def test_bad_options_are_400(client, query, name):
    r = client.post(f"/v1/check?{query}", content=SEED.read_bytes())
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith(f"invalid value for {name}")


# ------------------------------------------------------- /v1/check/jsonl
def _jsonl_input() -> str:
    other = dict(TPI_CASE, case="api-2", facts={"radiculopathy": "present"})
    return "\n".join([json.dumps(TPI_CASE), "not json", "", json.dumps({"x": 1}), json.dumps(other),
                      json.dumps({"date": "2014-12-18", "requests": [{"item": "Norco 10/325 #120"}]})]) + "\n"


@pytest.mark.parametrize("query,options", [("", []), ("format=text", ["--format", "text"]),
                                           ("explain=true&wording=ur", ["--explain", "--wording", "ur"])])
def test_jsonl_streams_the_records_of_the_cli(client, query, options):
    r = client.post(f"/v1/check/jsonl?{query}", content=_jsonl_input())
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    expected = cli("check", "--jsonl", "-", *options, input=_jsonl_input()).stdout
    assert r.text == expected
    assert [rec["line"] for rec in map(json.loads, r.text.splitlines())] == [1, 2, 4, 5, 6]


def _raw(app, path: str, chunks: list[bytes]) -> tuple[int, bytes]:
    """Call the ASGI app with the body in these chunks, as a server receives them (TestClient sends one)."""
    import anyio

    messages = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    messages.append({"type": "http.request", "body": b"", "more_body": False})
    sent: list = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [], "http_version": "1.1", "scheme": "http", "server": ("127.0.0.1", 80),
             "client": ("127.0.0.1", 5000), "root_path": "", "asgi": {"version": "3.0"}}
    anyio.run(app, scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def test_jsonl_reads_a_body_sent_in_pieces(client):
    text = _jsonl_input().encode()
    status, body = _raw(client.app, "/v1/check/jsonl", [text[i:i + 7] for i in range(0, len(text), 7)])
    assert status == 200
    assert body.decode() == cli("check", "--jsonl", "-", input=_jsonl_input()).stdout


def test_jsonl_over_the_stream_limit_ends_with_an_error_record():
    line = json.dumps(TPI_CASE).encode() + b"\n"
    status, body = _raw(_client(max_stream_body=len(line) * 3 + 10).app, "/v1/check/jsonl", [line] * 10)
    records = [json.loads(x) for x in body.decode().splitlines()]
    assert [rec["error"] is None for rec in records] == [True, True, True, False]
    assert records[-1]["line"] == 4 and "larger than the limit" in records[-1]["error"][0]["message"]


def test_jsonl_refuses_an_over_long_line_without_holding_it(client):
    from mtus.compiler.check.batch import MAX_LINE_BYTES

    long = [b"x" * (1 << 20)] * ((MAX_LINE_BYTES >> 20) + 2) + [b"\n" + json.dumps(TPI_CASE).encode()]
    status, body = _raw(client.app, "/v1/check/jsonl", long)
    first, second = [json.loads(x) for x in body.decode().splitlines()]
    assert "the line is longer than" in first["error"][0]["message"]
    assert second["line"] == 2 and second["error"] is None


# --------------------------------------------------- guidelines, template
def test_guidelines_lists_the_pack(client, source_pack):
    r = client.get("/v1/guidelines").json()
    assert [g["id"] for g in r["guidelines"]] == sorted(source_pack.guidelines)
    tpi = next(g for g in r["guidelines"] if g["id"] == "tpi")
    assert tpi["citation"]["pages"] == "122" and {"kind": "cpt", "value": "20552"} in tpi["services"]
    assert r["pack"]["name"] == "mtus-bundled"


def test_a_guideline_is_the_rationale_json_with_its_prose(client):
    r = client.get("/v1/guidelines/tpi")
    assert r.status_code == 200
    data = r.json()
    expected = json.loads(cli("rationale", "--guideline", "tpi", "--format", "json").stdout)[0]
    assert {k: v for k, v in data.items() if k not in ("rationale", "in_force")} == expected
    assert data["rationale"] == cli("rationale", "--guideline", "tpi").stdout
    assert data["facts"]["radiculopathy"]["silence_means"].startswith("presumed absent")
    assert data["in_force"]["until"] == "2016-07-28"


def test_unknown_guideline_is_404_listing_them(client):
    r = client.get("/v1/guidelines/nope")
    assert r.status_code == 404 and "tpi" in r.json()["error"]["message"]


def test_template_is_the_cli_template(client):
    r = client.get("/v1/template/Trigger point injections")
    assert r.status_code == 200
    assert r.text == cli("template", "Trigger point injections").stdout
    routed = client.get("/v1/template/Norco 10%2F325 %23120?format=json").json()
    assert routed["guideline"] == "opioids" and routed["template"].startswith("# A case file for")
    assert client.get("/v1/template/20552?format=json").json()["guideline"] == "tpi"


def test_template_for_nothing_known_is_404_with_the_closest(client):
    r = client.get("/v1/template/trigger point injektions")
    assert r.status_code == 404
    assert "closest: tpi" in r.json()["error"]["message"]


def test_guideline_source_is_the_bundled_file(client):
    r = client.get("/v1/guidelines/tpi/source")
    assert r.text == (ROOT / "guidelines/tpi.mtus").read_text(encoding="utf-8")


# ------------------------------------------------------------- service
def test_health_names_the_pack(client):
    r = client.get("/health").json()
    assert r["status"] == "ok" and len(r["pack"]["sha256"]) == 64


def test_openapi_describes_every_route(client):
    doc = client.get("/openapi.json").json()
    routes = {r.path.replace("{item:path}", "{item}") for r in client.app.app.routes if r.path != "/static"}
    assert set(doc["paths"]) == routes
    assert doc["components"]["schemas"]["Letter"]["title"]  # the letter's own schema, `mtus schema --output letter`
    assert "twitch_response" in json.dumps(doc["components"]["schemas"]["Case"])


def test_request_ids_are_kept_or_made(client):
    assert client.get("/health", headers={"x-request-id": "claim-42.a"}).headers["x-request-id"] == "claim-42.a"
    made = client.get("/health", headers={"x-request-id": "bad id; drop table"}).headers["x-request-id"]
    assert len(made) == 32 and made != client.get("/health").headers["x-request-id"]


def test_every_request_is_one_json_access_log_line(client, caplog):
    with caplog.at_level(logging.INFO, logger="mtus.serve.access"):
        client.post("/v1/check?format=text", content=SEED.read_bytes(), headers={"x-request-id": "log-1"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "mtus.serve.access"]
    assert len(lines) == 1
    line = lines[0]
    assert (line["request_id"], line["method"], line["path"], line["status"]) == ("log-1", "POST", "/v1/check", 200)
    assert line["bytes_in"] == len(SEED.read_bytes()) and line["bytes_out"] > 1000 and line["ms"] > 0


def test_unknown_paths_are_json_404(client):
    r = client.get("/v2/anything")
    assert r.status_code == 404 and r.json()["error"]["hint"] == "GET /openapi.json lists the endpoints"


# -------------------------------------------------------------- bounds
def test_a_declared_body_over_the_limit_is_413_before_it_is_read():
    r = _client(max_body=1000).post("/v1/check", content=b"x" * 2000)
    assert r.status_code == 413 and "1,000 bytes" in r.json()["error"]["message"]


def test_an_undeclared_body_over_the_limit_is_413_as_it_arrives():
    def pieces():
        for _ in range(100):
            yield b"# padding\n" * 10
    r = _client(max_body=5000).post("/v1/check", content=pieces())
    assert r.status_code == 413


def test_over_the_concurrency_limit_is_503_with_retry_after():
    c = _client(concurrency=2)
    c.app.busy = 2  # two requests in flight
    r = c.post("/v1/check", content=SEED.read_bytes())
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert c.get("/health").status_code == 200  # liveness is never refused
    c.app.busy = 0
    assert c.post("/v1/check", content=SEED.read_bytes()).status_code == 200


def test_over_the_time_limit_is_503():
    r = _client(timeout=1e-9).post("/v1/check", content=SEED.read_bytes())
    assert r.status_code == 503 and "time limit" in r.json()["error"]["message"]


@pytest.mark.parametrize("host,answered", [("127.0.0.1:8000", True), ("localhost", True), ("[::1]:8000", True),
                                           ("evil.example", False), ("127.0.0.1.evil.example:80", False), ("", False)])
def test_a_loopback_server_answers_only_its_own_names(host, answered):
    """Against DNS rebinding: a page from another site that resolves its name to 127.0.0.1 is refused."""
    from mtus.compiler.tools.serve import limits_for

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = TestClient(create_app(limits=limits_for("127.0.0.1")))
    r = c.get("/health", headers={"host": host})
    assert r.status_code == (200 if answered else 400)
    if not answered:
        assert "answers requests for 127.0.0.1" in r.json()["error"]["message"]
    assert limits_for("0.0.0.0").hosts is None  # a server on another address answers any name


def test_no_endpoint_writes_a_file(client, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    client.post("/v1/check", content=SEED.read_bytes())
    client.post("/v1/check/jsonl", content=_jsonl_input())
    for path in ("/v1/guidelines", "/v1/guidelines/tpi", "/v1/template/tpi", "/health", "/openapi.json"):
        assert client.get(path).status_code == 200
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------ /v1/playground
TPI_SOURCE = (ROOT / "guidelines/tpi.mtus").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def playground():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with TestClient(create_app()) as c:  # the lifespan ends the sandbox's workers
            yield c


def test_the_playground_letter_is_the_letter_of_the_compiled_pack(playground):
    r = playground.post("/v1/playground", json={"source": TPI_SOURCE, "case": SEED.read_text(encoding="utf-8")})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["diagnostics"] == [] and answer["guideline"] == {"id": "tpi", "title": "Trigger point injections"}
    checked = playground.post("/v1/check?explain=true", content=SEED.read_bytes()).json()
    # the interpreter's decision, phrased by the same letter code, is the compiled checker's
    assert answer["letter"]["json"]["requests"] == checked["requests"]
    assert answer["letter"]["json"]["pack"]["name"] == "playground"
    assert "Determination: UPHELD." in answer["letter"]["text"]
    assert "**Determination: Upheld.**" in answer["letter"]["markdown"]


def test_a_guideline_error_is_a_diagnostic_at_its_line_and_column(playground):
    bad = TPI_SOURCE.replace("twitch_response and referred_pain", "twitch_response and refered_pain")
    line = TPI_SOURCE[:TPI_SOURCE.index("twitch_response and referred_pain")].count("\n") + 1
    column = TPI_SOURCE.splitlines()[line - 1].index("referred_pain") + 1
    answer = playground.post("/v1/playground", json={"source": bad, "case": "date: 2014-12-18"}).json()
    assert [(d["code"], d["span"]["line"], d["span"]["column"]) for d in answer["diagnostics"]] == [("E201", line, column)]
    assert answer["diagnostics"][0]["hint"] == "did you mean `referred_pain`?"
    assert answer["letter"] is None and answer["summary"] == "1 error, 0 warnings"
    # the same diagnostics as `mtus lint --format json`, but for the file's name
    linted = json.loads(cli("lint", "--format", "json", "-", input=bad).stdout)
    assert [dict(d, span=dict(d["span"], path=None)) for d in linted] == \
        [dict(d, span=dict(d["span"], path=None)) for d in answer["diagnostics"]]


def test_a_case_problem_names_its_line(playground):
    case = "date: 2014-12-18\nrequests:\n  - item: Trigger point injections\nfacts:\n  twitch_response: maybe\n"
    answer = playground.post("/v1/playground", json={"source": TPI_SOURCE, "case": case}).json()
    assert answer["letter"] is None
    assert [(p["key"], p["line"]) for p in answer["case_problems"]] == [("facts.twitch_response", 5)]


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"source": 3}', b'{"source": "", "wording": "x"}'])
def test_a_bad_playground_body_is_400(playground, body):
    assert playground.post("/v1/playground", content=body).status_code == 400


def test_playground_text_is_never_compiled_to_python(monkeypatch):
    """The evaluation, run here in-process, works with the code generator and module loading broken."""
    from mtus.compiler.build import codegen
    from mtus.compiler.check import pack
    from mtus.compiler.tools import playground_eval

    playground_eval.prepare()  # the bundled formulary, compiled (if the cache is cold) before the refusal

    def refuse(*args, **kwargs):
        raise AssertionError("playground text was turned into Python")
    monkeypatch.setattr(codegen, "generate_module", refuse)
    monkeypatch.setattr(pack, "_module_from_text", refuse)
    answer = playground_eval.evaluate({"source": TPI_SOURCE, "case": SEED.read_text(encoding="utf-8")})
    assert answer["letter"]["json"]["requests"][0]["determination"] == "upheld"


def test_the_page_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for name in ("playground.css", "playground.js", "editor.js", "form.js"):
        assert f"/static/{name}" in page.text
        assert client.get(f"/static/{name}").status_code == 200


BUNDLED = sorted(p.stem for p in (ROOT / "guidelines").glob("*.mtus") if p.stem != "formulary")


@pytest.mark.parametrize("gid", BUNDLED)
def test_every_bundled_guideline_in_the_playground_decides_as_the_pack(playground, gid):
    """Its fill-in case, dated: the interpreter's letter in the playground is the compiled pack's, request by request."""
    case = playground.get(f"/v1/template/{gid}").text.replace("date: YYYY-MM-DD", "date: 2015-03-02")
    source = (ROOT / "guidelines" / f"{gid}.mtus").read_text(encoding="utf-8")
    answer = playground.post("/v1/playground", json={"source": source, "case": case}).json()
    assert not [d for d in answer["diagnostics"] if d["severity"] == "error"] and answer["case_problems"] == []
    checked = playground.post("/v1/check?explain=true", content=case.encode()).json()
    assert answer["letter"]["json"]["requests"] == checked["requests"]
