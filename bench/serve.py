"""`mtus serve` under load: POST /v1/check latency and throughput with 1 and 2 workers, against the in-process call.

    python bench/serve.py              # about a minute on 2 cores
    python bench/serve.py --quick      # fewer requests
    python bench/serve.py --json out.json

The floor is what a request costs without HTTP: the same function calls the
endpoint makes (read the body as a case file, read and route the case,
decide, the letter as JSON), timed in this process. Each server is a fresh
`mtus serve --workers N` on a free loopback port; the bodies are
bench/jsonl.py's TPI cases (JSON, as an integration would send them).

Latency: one client, one request at a time on a kept-alive connection, p50
and p99. Throughput: C clients (threads, each its own connection) sending
for a fixed number of requests, requests per second. The clients share the
machine's 2 cores with the server, so throughput is a floor, not a ceiling.
Then the CLI's hostile inputs (tests/hostile/) sent over HTTP: each one's
status and time. Nothing here is a test: timings on a shared machine are not.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import jsonl  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def _summary(samples_s: list[float], wall: float) -> dict:
    ms = [x * 1000 for x in samples_s]
    return {"n": len(ms), "p50_ms": round(_pct(ms, 50), 3), "p99_ms": round(_pct(ms, 99), 3),
            "mean_ms": round(statistics.fmean(ms), 3), "per_s": round(len(ms) / wall, 1)}


def in_process(bodies: list[bytes]) -> dict:
    """The endpoint's work without HTTP: the functions /v1/check calls, one body at a time."""
    from mtus.compiler.check.letter import decide, letter_json
    from mtus.compiler.check.pack import open_pack
    from mtus.compiler.check.runtime import to_json_value
    from mtus.compiler.tools.serve import read_case_body, warm

    pack = open_pack(None)
    warm(pack)
    reader = pack.reader()

    def one(body: bytes) -> bytes:
        case = reader.read(read_case_body(body, "request.json"), "request.json")
        data = letter_json(decide(case, pack, "imr"))
        return json.dumps(data, indent=2, sort_keys=True, default=to_json_value).encode()

    for b in bodies[:50]:
        one(b)
    samples = []
    start = time.perf_counter()
    for b in bodies:
        t = time.perf_counter()
        one(b)
        samples.append(time.perf_counter() - t)
    return _summary(samples, time.perf_counter() - start)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`mtus serve --workers N` in its own process, stopped on exit."""

    def __init__(self, workers: int):
        self.port = _free_port()
        self.proc = subprocess.Popen([sys.executable, "-c", "from mtus.compiler.tools.cli import main; main()", "serve",
                                      "--port", str(self.port), "--workers", str(workers)], cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _ = self.request("GET", "/health")
                if status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise SystemExit(f"mtus serve --workers {workers} did not start")
            time.sleep(0.2)

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def request(self, method: str, path: str, body: bytes = b"", conn=None,
                kind: str = "application/json") -> tuple[int, bytes]:
        c = conn or self.connect()
        c.request(method, path, body=body or None, headers={"content-type": kind} if body else {})
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        return r.status, data

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def latency(server: Server, bodies: list[bytes]) -> dict:
    conn = server.connect()
    for b in bodies[:50]:  # warm every worker's code paths
        server.request("POST", "/v1/check", b, conn)
    samples = []
    start = time.perf_counter()
    for b in bodies:
        t = time.perf_counter()
        status, _ = server.request("POST", "/v1/check", b, conn)
        samples.append(time.perf_counter() - t)
        assert status == 200, status
    wall = time.perf_counter() - start
    conn.close()
    return _summary(samples, wall)


def throughput(server: Server, bodies: list[bytes], clients: int) -> dict:
    samples: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()

    def client(part: list[bytes]) -> None:
        conn = server.connect()
        mine = []
        for b in part:
            t = time.perf_counter()
            status, _ = server.request("POST", "/v1/check", b, conn)
            mine.append(time.perf_counter() - t)
            if status != 200:
                errors.append(status)
        conn.close()
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=client, args=(bodies[i::clients],)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out = _summary(samples, time.perf_counter() - start)
    out["clients"] = clients
    out["non_200"] = len(errors)
    return out


def hostile(server: Server) -> list[dict]:
    """The CLI's hostile case files (tests/hostile/cases) and a hostile batch, over HTTP: status and time of each."""
    out = []
    folder = ROOT / "tests" / "hostile" / "cases"
    for path in sorted(folder.iterdir()):
        kind = "application/json" if path.suffix == ".json" else "application/yaml"
        t = time.perf_counter()
        status, _ = server.request("POST", "/v1/check", path.read_bytes(), kind=kind)
        out.append({"input": path.name, "status": status, "ms": round((time.perf_counter() - t) * 1000, 1)})
    good = next(jsonl.lines(1))
    batch = "\n".join([good, "{not json", "[" * 100_000, '"\\ud800"', "x" * (1 << 20) + "y", good]) + "\n"
    t = time.perf_counter()
    status, data = server.request("POST", "/v1/check/jsonl", batch.encode(), kind="application/x-ndjson")
    out.append({"input": "batch: 6 hostile and good lines (1 MiB line)", "status": status,
                "records": data.count(b"\n"), "ms": round((time.perf_counter() - t) * 1000, 1)})
    big = b"date: 2014-12-18\nrequests:\n" + b"  - item: trigger point injections\n" * 200_000
    t = time.perf_counter()
    status, _ = server.request("POST", "/v1/check", big, kind="application/yaml")
    out.append({"input": f"a case of {len(big) / 2**20:.1f} MiB (over the body limit)", "status": status,
                "ms": round((time.perf_counter() - t) * 1000, 1)})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer requests")
    ap.add_argument("--clients", type=int, default=4, help="concurrent clients for the throughput runs")
    ap.add_argument("--json", help="write every figure to this file")
    args = ap.parse_args()
    n = 300 if args.quick else 2000
    bodies = [line.encode() for line in jsonl.lines(n)]
    load = os.getloadavg()
    results: dict = {"requests": n, "load_before": [round(x, 2) for x in load]}
    print(f"{n} TPI cases as JSON bodies; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on "
          f"{os.cpu_count()} cores")
    results["in_process"] = floor = in_process(bodies)
    print(f"in process (no HTTP)      p50 {floor['p50_ms']:7.2f} ms  p99 {floor['p99_ms']:7.2f} ms  "
          f"{floor['per_s']:8.1f} cases/s")
    for workers in (1, 2):
        server = Server(workers)
        try:
            lat = latency(server, bodies)
            thr = throughput(server, bodies, args.clients)
            results[f"workers_{workers}"] = {"latency": lat, "throughput": thr}
            print(f"HTTP, {workers} worker(s), 1 client  p50 {lat['p50_ms']:7.2f} ms  p99 {lat['p99_ms']:7.2f} ms  "
                  f"{lat['per_s']:8.1f} requests/s")
            print(f"HTTP, {workers} worker(s), {args.clients} clients p50 {thr['p50_ms']:7.2f} ms  "
                  f"p99 {thr['p99_ms']:7.2f} ms  {thr['per_s']:8.1f} requests/s  ({thr['non_200']} not 200)")
            if workers == 1:
                results["hostile"] = rows = hostile(server)
                print("hostile inputs over HTTP (1 worker):")
                for r in rows:
                    print(f"  {r['status']}  {r['ms']:8.1f} ms  {r['input']}")
        finally:
            server.stop()
    results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print(f"load average after: {results['load_after'][0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
