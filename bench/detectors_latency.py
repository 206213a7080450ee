"""Latency of ``Scanner.scan`` (p50 / p95 / max per text size).

    python -m bench.detectors_latency [--runs 300] [--no-spacy] [--threads 1]

Text sizes: a short prompt (~20 words), ~100 words, ~500 words (mixed French office / clinical
prose with a few identifiers), and a 500-word text with many capitalised names (worst case for the
spaCy gate). The scanner is built once, as the gateway does.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from detectors.scanner import build_default_scanner  # noqa: E402

SHORT = "Peux-tu reformuler ce paragraphe pour le rendre plus clair et plus concis, s'il te plaît ?"
SHORT_SENSITIVE = "Patiente de 54 ans, diabète de type 2, HbA1c à 9 %, hospitalisée en cardiologie le 12/03."
PARA = (
    "Dans le cadre de la réorganisation des consultations externes, l'équipe propose d'harmoniser les horaires "
    "d'ouverture, de renforcer l'accueil téléphonique et de simplifier la prise de rendez-vous en ligne. Les "
    "délais d'attente ont augmenté de 15 % en 2024 selon le tableau de bord du pôle. Le groupe de travail se "
    "réunira le 14 mars pour valider le calendrier. Merci de transmettre vos remarques avant la fin du mois, "
    "en précisant les contraintes propres à chaque unité et les besoins en formation des agents d'accueil. "
)
NAMES = (
    "Ont participé à la réunion Claire Dubois, Antoine Lefebvre, Sophie Moreau et Julien Girard. Nathalie Roux "
    "a présenté le bilan, puis Laurent Fontaine et Isabelle Mercier ont discuté du planning avec Thomas Bernard. "
)


def words(text: str, n: int) -> str:
    out = []
    while len(" ".join(out).split()) < n:
        out.append(text)
    return " ".join(" ".join(out).split()[:n])


def measure(scanner, text: str, runs: int) -> dict:
    for _ in range(10):
        scanner.scan(text)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        scanner.scan(text)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"p50": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))], "max": times[-1]}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--no-spacy", action="store_true")
    ap.add_argument("--threads", type=int, default=1, help="also measure throughput with N threads")
    args = ap.parse_args(argv)
    scanner = build_default_scanner({"spacy": not args.no_spacy})
    cases = {
        "short benign (~15 words)": SHORT,
        "short sensitive (~17 words)": SHORT_SENSITIVE,
        "100 words": words(PARA, 100),
        "500 words": words(PARA + " Contact : secretariat 01 42 34 56 78. ", 500),
        "500 words, many names": words(PARA + NAMES, 500),
    }
    print(f"{'text':30s} {'p50 ms':>8s} {'p95 ms':>8s} {'max ms':>8s}")
    for label, text in cases.items():
        r = measure(scanner, text, args.runs)
        print(f"{label:30s} {r['p50']:8.2f} {r['p95']:8.2f} {r['max']:8.2f}")
    if args.threads > 1:
        text = cases["500 words"]
        n = args.runs * 2
        with ThreadPoolExecutor(args.threads) as ex:
            t = time.perf_counter()
            list(ex.map(scanner.scan, [text] * n))
            dt = time.perf_counter() - t
        print(f"throughput 500 words, {args.threads} threads: {n / dt:.0f} texts/s")


if __name__ == "__main__":
    main()
