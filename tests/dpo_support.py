"""Records for the DPO's pages (issue 15): browser-path requests to AI hosts outside the catalogue, and
charter blocks spread over two ISO weeks (2026-W10: 2-8 March 2026, and 2026-W11)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.audit import AuditStore
from tests.test_audit_chain import make_record

#: Monday 9 March 2026, 09:00 Paris (08:00 UTC): the second week of the seed
W11 = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)


def web_unknown(i: int, host: str, ts: datetime, *, decision: str = "block", client: str = "poste-1",
                department: str | None = "urgences", listed: bool = True) -> dict:
    rec = make_record(500 + i, ts=ts, decision=decision, service="x", client=client, department=department or "")
    rec.update(service_id=None, api="web", endpoint="connect", host=host, model=None, department=department,
               rule_ids=["service.unknown", "discovery.listed"] if listed else ["service.unknown"],
               reasons=["Le service d'IA n'est pas dans le catalogue."], prompt_parts=0, prompt_chars=0,
               forwarded=decision == "warn", status_code=403 if decision == "block" else None)
    return rec


def seed_unknown_hosts(store: AuditStore) -> dict[str, list[dict]]:
    """chat.deepseek.com: 5 requests by 3 clients of 2 departments, first in W10 (2 March); www.perplexity.ai:
    2 requests in W11 only (new that week); intranet.example.org: outside both catalogue and list."""
    out: dict[str, list[dict]] = {"deepseek": [], "perplexity": [], "other": []}
    t10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    for i, (client, dep, when) in enumerate((("poste-1", "urgences", t10), ("poste-2", "urgences", t10 + timedelta(hours=1)),
                                             ("poste-3", "pharmacie", W11), ("poste-1", "urgences", W11 + timedelta(hours=2)),
                                             ("poste-3", "pharmacie", W11 + timedelta(days=1)))):
        out["deepseek"].append(web_unknown(i, "chat.deepseek.com", when, client=client, department=dep))
    out["perplexity"].append(web_unknown(10, "www.perplexity.ai", W11 + timedelta(hours=3), client="poste-4",
                                         department="cardiologie"))
    out["perplexity"].append(web_unknown(11, "www.perplexity.ai", W11 + timedelta(hours=4), decision="warn",
                                         client="poste-4", department="cardiologie"))
    out["other"].append(web_unknown(20, "intranet.example.org", W11, client="poste-9", department=None, listed=False))
    for recs in out.values():
        for rec in recs:
            store.insert(rec)
    return out


def seed_week_blocks(store: AuditStore) -> list[dict]:
    """Charter blocks and other decisions in 2026-W11: 4 health blocks (3 urgences, 1 pharmacie), 2
    personal blocks (pharmacie), 3 allowed and 1 technical refusal; and 1 block in 2026-W10."""
    recs = []
    plan = [("block", ("health",), "urgences"), ("block", ("health", "personal"), "urgences"),
            ("block", ("health",), "urgences"), ("block", ("health",), "pharmacie"),
            ("block", ("personal",), "pharmacie"), ("block", ("personal",), "pharmacie"),
            ("allow", (), "urgences"), ("allow", (), "pharmacie"), ("allow", (), "urgences"), ("refuse", (), "urgences")]
    for i, (decision, cats, dep) in enumerate(plan):
        rec = make_record(700 + i, ts=W11 + timedelta(days=2, minutes=i), decision=decision,
                          service="mistral" if i % 2 else "openai", department=dep, categories=cats)
        store.insert(rec)
        recs.append(rec)
    old = make_record(799, ts=W11 - timedelta(days=3), decision="block", service="openai", department="urgences",
                      categories=("health",))
    store.insert(old)
    recs.append(old)
    return recs
