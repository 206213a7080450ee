"""Inline SVG charts rendered on the server (no script, no external resource)."""

from __future__ import annotations

from datetime import date, timedelta

from markupsafe import Markup, escape

from policies.vocabulary import DECISION_PLURALS_FR, DECISIONS

COLORS = {"allow": "#2e7d32", "warn": "#ef6c00", "block": "#c62828", "refuse": "#757575"}
LABELS = DECISION_PLURALS_FR


def _nice_max(v: int) -> int:
    if v <= 5:
        return max(v, 1)
    mag = 10 ** (len(str(v)) - 1)
    for step in (1, 2, 5, 10):
        if v <= step * mag:
            return step * mag
    return v


def fill_days(groups: list[dict]) -> list[dict]:
    """Add the days without any request (zero bars), so that time reads evenly left to right."""
    try:
        days = [date.fromisoformat(g["key"]) for g in groups]
    except (TypeError, ValueError):
        return groups
    if (days[-1] - days[0]).days > 3660:
        return groups
    known = {g["key"]: g for g in groups}
    out, d = [], days[0]
    while d <= days[-1]:
        key = d.isoformat()
        out.append(known.get(key) or {"key": key, "count": 0, **dict.fromkeys(DECISIONS, 0)})
        d += timedelta(days=1)
    return out


def day_fr(key: str | None) -> str:
    """``2026-03-02`` → ``02/03/2026`` (a key that is not a date is shown as is)."""
    try:
        return date.fromisoformat(key or "").strftime("%d/%m/%Y")
    except ValueError:
        return str(key)


def volume_by_day(groups: list[dict], width: int = 1100, height: int = 240) -> Markup:
    """Stacked bars per day, by decision (``refuse`` its own colour, never added to ``block``)."""
    if not groups:
        return Markup('<p class="empty">Aucune requête sur la période.</p>')
    groups = fill_days(groups)
    left, bottom, top, right = 44, 28, 10, 8
    w, h = width - left - right, height - top - bottom
    ymax = _nice_max(max(g["count"] for g in groups))
    n = len(groups)
    slot = w / n
    bar = max(slot * 0.8, 1)
    parts = [
        f'<svg class="chart" role="img" aria-label="Volume de requêtes par jour et par décision" '
        f'viewBox="0 0 {width} {height}" width="100%">'
    ]
    for frac in (0, 0.5, 1):
        y = top + h - frac * h
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{int(ymax * frac)}</text>')
    for i, g in enumerate(groups):
        x = left + i * slot + (slot - bar) / 2
        y = top + h
        for d in DECISIONS:
            v = g.get(d, 0)
            if not v:
                continue
            bh = v / ymax * h
            y -= bh
            parts.append(
                f'<rect class="bar-{d}" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{bh:.1f}" fill="{COLORS[d]}">'
                f'<title>{escape(day_fr(g["key"]))} : {v} {LABELS[d]}</title></rect>'
            )
    for i in sorted({0, n // 2, n - 1}):
        x = left + i * slot + slot / 2
        anchor = "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle"
        parts.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="{anchor}" font-size="11">'
                     f'{escape(day_fr(groups[i]["key"]))}</text>')
    parts.append("</svg>")
    legend = "".join(
        f'<span class="legend"><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" '
        f'fill="{COLORS[d]}"/></svg> {LABELS[d]}</span>' for d in DECISIONS
    )
    return Markup("".join(parts) + f'<div class="legends">{legend}</div>')


def hbars(groups: list[dict], title: str, labels: dict | None = None, width: int = 380) -> Markup:
    """Horizontal bars (top N), each split by decision."""
    if not groups:
        return Markup('<p class="empty">Aucune donnée.</p>')
    row, label_w = 24, 150
    height = row * len(groups) + 4
    vmax = max(g["count"] for g in groups)
    w = width - label_w - 44
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
             f'width="100%">']
    for i, g in enumerate(groups):
        y = i * row + 2
        key = g["key"] if g["key"] is not None else "(non renseigné)"
        name = (labels or {}).get(key, key)
        short = name if len(name) <= 22 else name[:21] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
                     f'<title>{escape(name)}</title>{escape(short)}</text>')
        x = label_w
        for d in DECISIONS:
            v = g.get(d, 0)
            if not v:
                continue
            bw = v / vmax * w
            parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{bw:.1f}" height="{row - 8}" fill="{COLORS[d]}">'
                         f'<title>{escape(name)} : {v} {LABELS[d]}</title></rect>')
            x += bw
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 15}" font-size="12">{g["count"]}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
