"""Latency the gateway adds on the API path, and throughput kept, against a local fake provider.

    .venv/bin/python -m bench.gateway_latency [--requests 400] [--concurrency 8]

Starts the fake provider (the tests' real HTTP server) and `gardefou serve` in its own process with
an SQLite audit file, then sends the same requests directly to the provider and through the gateway.
Reports p50/p95 of each and the difference (the gateway's added latency) for a short prompt and a
500-word prompt, plus requests per second at the given concurrency. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.testing.provider import start_fake_provider  # noqa: E402

SHORT = "Peux-tu reformuler cette phrase pour un courriel à l'équipe : la réunion est reportée à jeudi ?"
PARAGRAPH = (
    "Le conseil d'administration a examiné le rapport annuel sur l'accueil du public dans les services "
    "de l'établissement. Les délais d'attente ont diminué grâce à la réorganisation des guichets et à la "
    "prise de rendez-vous en ligne. Les agents ont suivi une formation sur l'accessibilité numérique et "
    "les usagers ont exprimé une satisfaction globale en hausse. "
)


def long_prompt(words: int = 500) -> str:
    text = ""
    while len(text.split()) < words:
        text += PARAGRAPH
    return " ".join(text.split()[:words])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def paired(client: httpx.AsyncClient, direct: tuple[str, dict], gateway: tuple[str, dict], n: int):
    """Alternate one direct and one gateway request, n times: machine noise hits both alike, and the
    p50 of the per-pair difference is the latency the gateway adds."""
    d_lat, g_lat = [], []
    for i in range(n + 20):
        pair = []
        for url, body in (direct, gateway) if i % 2 else (gateway, direct):
            t0 = time.perf_counter()
            r = await client.post(url, json=body)
            pair.append((url, (time.perf_counter() - t0) * 1000))
            assert r.status_code == 200, r.text
        if i >= 20:  # warm-up
            times = dict(pair)
            d_lat.append(times[direct[0]])
            g_lat.append(times[gateway[0]])
    return d_lat, g_lat


async def measure(client: httpx.AsyncClient, url: str, body: dict, n: int, concurrency: int) -> tuple[list[float], float]:
    lat: list[float] = []
    sem = asyncio.Semaphore(concurrency)

    async def one():
        async with sem:
            t0 = time.perf_counter()
            r = await client.post(url, json=body)
            lat.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text

    for _ in range(20):  # warm-up
        await one()
    lat.clear()
    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    return lat, n / (time.perf_counter() - t0)


async def run(args) -> None:
    fake = start_fake_provider()
    tmp = Path(tempfile.mkdtemp(prefix="gardefou-bench-"))
    port = free_port()
    cfg = {
        "listen": {"host": "127.0.0.1", "port": port},
        "audit": {"url": f"sqlite:///{tmp / 'audit.db'}"},
        "services": [{"id": "mistral", "base_url": f"{fake.url}/v1"}],
        # one load generator stands for many clients: the per-client limits would only measure themselves
        "limits": {"client_requests_per_minute": 1_000_000, "client_concurrency": 10_000},
    }
    (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "MISTRAL_API_KEY": "bench"}
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--config", str(tmp / "config.yaml")],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=64)) as client:
            for _ in range(600):
                try:
                    if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise SystemExit("gateway did not become ready")
            print(f"{'prompt':<10} {'direct p50':>11} {'gateway p50':>12} {'added p50':>10} {'added p95':>10} "
                  f"{'throughput kept':>16}")
            for label, text in (("short", SHORT), ("500 words", long_prompt())):
                direct = (f"{fake.url}/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": text}]})
                via = (f"http://127.0.0.1:{port}/v1/chat/completions",
                       {"model": "mistral/m", "messages": [{"role": "user", "content": text}]})
                d_lat, g_lat = await paired(client, direct, via, args.requests)
                added = sorted(g - d for g, d in zip(g_lat, d_lat))
                _, d_rps = await measure(client, *direct, args.requests, args.concurrency)
                _, g_rps = await measure(client, *via, args.requests, args.concurrency)
                print(f"{label:<10} {statistics.median(d_lat):9.2f}ms {statistics.median(g_lat):10.2f}ms "
                      f"{statistics.median(added):8.2f}ms {pct(added, 0.95):8.2f}ms {g_rps / d_rps:15.2f}x")
            print(f"(sequential pairs: {args.requests}; throughput at concurrency {args.concurrency})")
            print(f"gateway process memory: {rss_mib(proc.pid):.0f} MiB resident after the run")
    finally:
        proc.terminate()
        proc.wait(10)
        fake.server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
