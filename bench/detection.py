"""Detection benchmark.

Builds the labelled synthetic corpus (``bench/corpus.py``), runs it through the same code path as
``gardefou scan --jsonl`` (``gateway.scan.scan_text`` for a compliant external service: block if any
sensitive category)
and prints, per category, the leak rate (sensitive prompt not blocked) and the false-block rate
(benign prompt blocked), the recall per structured identifier type and per evasion form, and the
throughput. Then does the same on the real French texts of ``../shared/data/real-fr`` (or
``$GARDEFOU_REAL_FR``) when that folder exists.

    python -m bench.detection [--seed 2026] [--scale 1] [--no-spacy] [--show-errors] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.corpus import build_corpus  # noqa: E402
from detectors.scanner import build_default_scanner  # noqa: E402
from gateway.scan import scan_text  # noqa: E402

REAL_FILES = {"health_vignettes": "block", "medical_knowledge": "allow", "admin_benign": "allow"}
# Prompts in staff's own words, written independently of the rules. Each development set, once used to
# choose rules and thresholds, becomes training data of the classifier (dev1-6 are in
# detectors/training/corpus/staff_dev*.jsonl); dev7 is the current development set; held-out, fresh,
# fresh2 and fresh3 are never looked at item by item and never tuned on.
STAFF_SETS = {"dev7": ROOT / "bench" / "data" / "staff_dev7.jsonl",
              "dev8": ROOT / "bench" / "data" / "staff_dev8.jsonl",
              "dev9": ROOT / "bench" / "data" / "staff_dev9.jsonl",
              "dev10": ROOT / "bench" / "data" / "staff_dev10.jsonl",
              "dev11": ROOT / "bench" / "data" / "staff_dev11.jsonl",
              "held-out": ROOT / "bench" / "data" / "staff_holdout.jsonl",
              "fresh": ROOT / "bench" / "data" / "staff_fresh.jsonl",
              # written by independent helpers after dev4, measured once per change of rules or model
              "fresh2": ROOT / "bench" / "data" / "staff_fresh2.jsonl",
              # written by another independent helper with dev7's two writers, measured only in aggregate
              "fresh3": ROOT / "bench" / "data" / "staff_fresh3.jsonl"}


def report_staff(scanner, name: str, path: Path, show_errors: bool = False) -> dict:
    """Leak per category (by the item's main category) and false blocks, on a labelled JSONL set."""
    items = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    outs, dt = run_set(scanner, items)
    per = defaultdict(lambda: [0, 0])
    fb = [0, 0]
    for it, o in zip(items, outs):
        blocked = o["decision"] == "block"
        if it["expected"] == "block":
            c = it["categories"][0]
            per[c][1] += 1
            per[c][0] += not blocked
        else:
            fb[1] += 1
            fb[0] += blocked
        if show_errors and name.startswith("dev") and blocked != (it["expected"] == "block"):
            print(f"   !! {it['id']} {it['expected']} -> {o['categories']} :: {it['text'][:120]!r}")
    leaks = sum(e for e, _ in per.values())
    total = sum(n for _, n in per.values())
    print(f"== Staff prompts, {name} ({path.name}): {len(items)} prompts, {1000 * dt / len(items):.2f} ms/prompt")
    print(f"     {'ALL sensitive':13s} {'leak':11s} {pct(leaks, total)}")
    for c in ("personal", "health", "confidential", "secret"):
        e, n = per[c]
        print(f"     {c:13s} {'leak':11s} {pct(e, n)}")
    print(f"     {'benign':13s} {'false-block':11s} {pct(*fb)}")
    return {"n": len(items), "leak": leaks / max(total, 1), "false_block": fb[0] / max(fb[1], 1),
            "per_category": {c: {"leaks": e, "n": n} for c, (e, n) in per.items()}, "benign": {"blocked": fb[0], "n": fb[1]}}


def real_fr_dir() -> Path | None:
    env = os.environ.get("GARDEFOU_REAL_FR")
    for cand in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "data" / "real-fr",
                                                Path("/work/shared/data/real-fr")]:
        if cand.is_dir():
            return cand
    return None


def run_set(scanner, records):
    t0 = time.perf_counter()
    outs = [scan_text(scanner, r["text"]) for r in records]
    dt = time.perf_counter() - t0
    return outs, dt


def pct(a, b):
    return f"{100.0 * a / b:5.1f} % ({a}/{b})" if b else "   n/a"


def report_synthetic(records, outs, dt, show_errors=False):
    print(f"== Synthetic corpus: {len(records)} prompts, {sum(len(r['text']) for r in records)} chars")
    print(f"   throughput: {len(records) / dt:,.0f} prompts/s ({1000 * dt / len(records):.2f} ms/prompt, 1 thread)")
    by_cat = defaultdict(lambda: [0, 0])
    errors = []
    for r, o in zip(records, outs):
        d = o["decision"]
        c = r["category"]
        by_cat[c][1] += 1
        if d != r["expected"]:
            by_cat[c][0] += 1
            errors.append((r, o))
    print("   per category (leak = sensitive not blocked; false-block = benign blocked):")
    sens_err = sens_n = 0
    for c in ("personal", "health", "confidential", "secret", "benign"):
        e, n = by_cat[c]
        label = "false-block" if c == "benign" else "leak"
        print(f"     {c:13s} {label:11s} {pct(e, n)}")
        if c != "benign":
            sens_err += e
            sens_n += n
    print(f"     {'ALL sensitive':13s} {'leak':11s} {pct(sens_err, sens_n)}")
    # Was the *expected* category among those raised (not only "blocked for some reason")?
    print("   expected category raised (sensitive prompts):")
    for c in ("personal", "health", "confidential", "secret"):
        rows = [(r, o) for r, o in zip(records, outs) if r["category"] == c and r["expected"] == "block"]
        hit = sum(c in o["categories"] for r, o in rows)
        print(f"     {c:13s} {pct(hit, len(rows))}")
    # Recall per structured identifier type and evasion form.
    rec_type = defaultdict(lambda: [0, 0])
    rec_ev = defaultdict(lambda: [0, 0])
    for r, o in zip(records, outs):
        t = r.get("id_type")
        if not t or r["expected"] != "block":
            continue
        found = any(f["type"] == t for f in o["findings"])
        rec_type[t][0] += found
        rec_type[t][1] += 1
        key = f"{t}/{r.get('evasion', 'plain')}"
        rec_ev[key][0] += found
        rec_ev[key][1] += 1
    print("   recall per identifier type:")
    for t in sorted(rec_type):
        f, n = rec_type[t]
        print(f"     {t:15s} {pct(f, n)}")
    missed = [k for k, (f, n) in sorted(rec_ev.items()) if f < n]
    print(f"   identifier x evasion forms: {len(rec_ev)} combinations, {len(rec_ev) - len(missed)} at 100 %")
    for k in missed:
        f, n = rec_ev[k]
        print(f"     below 100 %: {k:30s} {pct(f, n)}")
    evasions = defaultdict(lambda: [0, 0])
    for k, (f, n) in rec_ev.items():
        ev = k.split("/", 1)[1]
        evasions[ev][0] += f
        evasions[ev][1] += n
    print("   recall per evasion form (all identifier types):")
    for ev in sorted(evasions):
        f, n = evasions[ev]
        print(f"     {ev:15s} {pct(f, n)}")
    if show_errors:
        for r, o in errors:
            print(f"   !! {r['expected']:5s} {r['category']:12s} {r['kind']:18s} {r.get('id_type', '')} {r.get('evasion', '')}"
                  f" -> {o['categories']} {[f['type'] for f in o['findings']]} :: {r['text'][:140]!r}")
    return {"n": len(records), "leak": sens_err / max(sens_n, 1),
            "false_block": by_cat["benign"][0] / max(by_cat["benign"][1], 1),
            "per_category": {c: {"errors": e, "n": n} for c, (e, n) in by_cat.items()},
            "recall_per_type": {t: f / n for t, (f, n) in rec_type.items()}, "prompts_per_s": len(records) / dt}


def report_real(scanner, folder: Path, show_errors=False):
    print(f"== Real French texts: {folder}")
    summary = {}
    for name, expected in REAL_FILES.items():
        path = folder / f"{name}.jsonl"
        if not path.exists():
            continue
        items = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
        outs, dt = run_set(scanner, items)
        wrong = [(it, o) for it, o in zip(items, outs) if o["decision"] != expected]
        blocked = sum(o["decision"] == "block" for o in outs)
        label = "blocked (target high)" if expected == "block" else "blocked (target low)"
        print(f"   {name:18s} {label:22s} {pct(blocked, len(items))}   {1000 * dt / len(items):.2f} ms/text")
        cats = Counter(c for o in outs for c in o["categories"])
        print(f"   {'':18s} categories raised: {dict(cats)}")
        # per recognizer, the texts of this set it reported something in (aggregate: no item is named)
        recs = Counter(r for o in outs for r in {f["recognizer"].split(":")[0] for f in o["findings"]})
        print(f"   {'':18s} recognizers raised: {dict(recs)}")
        summary[name] = {"n": len(items), "blocked": blocked, "expected": expected}
        if show_errors:
            for it, o in wrong:
                print(f"   !! {name} {it['id']} -> {o['categories']} {[(f['type'], f['recognizer']) for f in o['findings']]}")
    return summary


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--no-spacy", action="store_true")
    ap.add_argument("--show-errors", action="store_true")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    scanner = build_default_scanner({"spacy": not args.no_spacy})
    print(f"scanner built in {time.perf_counter() - t:.1f} s: {', '.join(scanner.names)}")
    records = build_corpus(args.seed, args.scale)
    outs, dt = run_set(scanner, records)
    figures = {"synthetic": report_synthetic(records, outs, dt, args.show_errors)}
    for name, path in STAFF_SETS.items():
        if path.exists():
            figures[f"staff_{name}"] = report_staff(scanner, name, path, args.show_errors)
    folder = real_fr_dir()
    if folder:
        figures["real_fr"] = report_real(scanner, folder, args.show_errors)
    else:
        print("== Real French texts: folder not found (set GARDEFOU_REAL_FR), skipped")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
