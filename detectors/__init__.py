"""French detectors: normalisation, recognizers and the scanner that runs them."""

from detectors.base import CATEGORIES, Finding, Recognizer, ScanResult
from detectors.scanner import Scanner, build_default_scanner

__all__ = ["CATEGORIES", "Finding", "Recognizer", "ScanResult", "Scanner", "build_default_scanner"]
