"""Keep the detectors offline.

``tldextract`` (used by Presidio's e-mail recognizer and by ours to check top-level domains)
downloads the Public Suffix List on first use unless told otherwise. ``OFFLINE_TLD`` uses only the
snapshot bundled in the package, and ``patch_presidio()`` makes Presidio's recognizer use it too.
"""

from __future__ import annotations

import tldextract

OFFLINE_TLD = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


class _OfflineTldModule:
    """Stand-in for the ``tldextract`` module exposing only ``extract``."""

    extract = staticmethod(OFFLINE_TLD)
    TLDExtract = tldextract.TLDExtract


def patch_presidio() -> bool:
    """Point Presidio's e-mail recognizer at the offline extractor. Returns False if not installed."""
    try:
        from presidio_analyzer.predefined_recognizers.generic import email_recognizer
    except Exception:  # pragma: no cover - presidio missing or layout changed
        return False
    email_recognizer.tldextract = _OfflineTldModule()  # type: ignore[assignment]
    return True


def is_public_suffix(domain: str) -> bool:
    """True when ``domain`` ends with a known public suffix (from the bundled snapshot)."""
    return bool(OFFLINE_TLD(domain).suffix)
