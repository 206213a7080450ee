"""Benchmarks: detection quality (``bench.detection``) and latency (``bench.detectors_latency``)."""
