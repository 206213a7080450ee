"""Sobriety: the tokens of every forwarded answer, an energy and CO₂e estimate per request, and a
notice for long conversations.

* ``UsageMeter`` reads the provider's ``usage`` from an answer *as it is relayed*: it is fed each chunk
  after the chunk has gone to the client and never holds the answer back. Server-sent events are read
  line by line (only a line mentioning ``usage`` is parsed; a partial line is kept until its end, up to
  ``MAX_LINE``); a JSON answer is kept up to ``MAX_JSON`` bytes (beyond it only its last ``TAIL``
  bytes, where providers put ``usage``) and read once the relay is over. Both the OpenAI
  (``prompt_tokens`` / ``completion_tokens``, ``input_tokens`` / ``output_tokens`` for responses) and the
  Anthropic forms (``message_start`` then ``message_delta``; cache reads and writes counted as input)
  are understood.
* ``ImpactEstimator`` turns a model, its output tokens and the request's latency into an energy and a
  CO₂e estimate with EcoLogits (https://ecologits.ai, offline: its model table and electricity mixes
  ship with the package and are loaded once, at start-up). EcoLogits gives a range; the midpoint is
  stored, with the method and its version. A service EcoLogits does not know (or a model missing from
  its table) is recorded as ``unknown_model``, an answer without token counts as ``no_usage``: no
  figure is invented.
* ``long_conversation``: past ``sobriety.long_conversation.max_messages`` messages, or an estimated
  ``max_tokens`` (characters / 4) in one request, the request is marked and the answer carries a
  French notice suggesting a new conversation.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("gardefou.sobriety")

#: an SSE line longer than this is skipped (a provider's usage event is a few hundred bytes; the
#: ``response.completed`` event of the Responses API repeats the whole answer, hence the margin)
MAX_LINE = 1024 * 1024
#: a JSON answer up to this size is parsed whole; a larger one is searched in its last ``TAIL`` bytes
MAX_JSON = 1024 * 1024
TAIL = 64 * 1024

#: characters per token, for the long-conversation estimate before any answer (French and English
#: prose average 3.5 to 4.5 characters per token with the providers' tokenizers)
CHARS_PER_TOKEN = 4

LONG_CONVERSATION = "long_conversation"
NOTICE_LONG_FR = ("Conversation longue : pour économiser l'énergie et obtenir de meilleures réponses, "
                  "commencez une nouvelle conversation en résumant l'essentiel.")

#: a notice's French text (``X-Gardefou-Notice``, the browser path's banner)
NOTICES_FR = {LONG_CONVERSATION: NOTICE_LONG_FR}

#: ``impact_status`` values
ESTIMATED, UNKNOWN_MODEL, NO_USAGE = "estimated", "unknown_model", "no_usage"


@dataclass
class Usage:
    """Token counts reported by the provider, and the model it says it used."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    model: str | None = None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def read_usage(obj: Any, into: Usage) -> None:
    """Merge the usage of one JSON object (an answer or one event) into ``into``: a later figure
    replaces an earlier one (Anthropic's ``message_delta`` carries the final output count)."""
    if not isinstance(obj, dict):
        return
    holder = obj
    for key in ("message", "response"):  # Anthropic's message_start, OpenAI's response.completed
        inner = obj.get(key)
        if isinstance(inner, dict) and isinstance(inner.get("usage"), dict):
            holder = inner
    usage = holder.get("usage")
    model = holder.get("model")
    if isinstance(model, str) and model and len(model) <= 128:
        into.model = model
    if not isinstance(usage, dict):
        return
    inp = _int(usage.get("prompt_tokens"))
    if inp is None:
        inp = _int(usage.get("input_tokens"))
        if inp is not None:  # Anthropic: cached input is counted apart
            inp += sum(_int(usage.get(k)) or 0 for k in ("cache_creation_input_tokens", "cache_read_input_tokens"))
    out = _int(usage.get("completion_tokens"))
    if out is None:
        out = _int(usage.get("output_tokens"))
    if inp is not None:
        into.input_tokens = inp
    if out is not None:
        into.output_tokens = out


class UsageMeter:
    """Reads ``usage`` from an answer fed chunk by chunk (``feed``), then ``result()``."""

    def __init__(self, content_type: str | None, content_encoding: str | None = None):
        mime = (content_type or "").split(";", 1)[0].strip().lower()
        self.usage = Usage()
        self.kind = None if (content_encoding or "identity").lower() != "identity" else \
            "sse" if mime == "text/event-stream" else "json" if mime.endswith("json") else None
        self._line = bytearray()
        self._skip = False  # the current SSE line went past MAX_LINE
        self._body = bytearray()
        self._size = 0

    def feed(self, chunk: bytes) -> None:
        if self.kind == "sse":
            self._feed_sse(chunk)
        elif self.kind == "json":
            self._size += len(chunk)
            self._body += chunk
            if self._size > MAX_JSON and len(self._body) > 2 * TAIL:
                del self._body[:-TAIL]

    def _feed_sse(self, chunk: bytes) -> None:
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                if not self._skip:
                    self._line += chunk[start:]
                    if len(self._line) > MAX_LINE:
                        self._line.clear()
                        self._skip = True
                return
            if self._skip:
                self._skip = False
            elif self._line:
                self._line += chunk[start:end]
                self._event_line(bytes(self._line))
                self._line.clear()
            else:
                self._event_line(chunk[start:end])
            start = end + 1

    def _event_line(self, line: bytes) -> None:
        if not line.startswith(b"data:") or b"usage" not in line:
            return
        try:
            read_usage(json.loads(line[5:].strip()), self.usage)
        except (ValueError, RecursionError):
            pass

    def result(self) -> Usage:
        """The usage read (the JSON answer is parsed here: call it off the event loop)."""
        if self.kind == "json" and self._body:
            body, self._body = bytes(self._body), bytearray()
            if b'"usage"' not in body:  # most answers of the browser path: nothing to parse
                return self.usage
            if self._size <= MAX_JSON:
                try:
                    read_usage(json.loads(body), self.usage)
                except (ValueError, RecursionError):
                    pass
            else:
                _usage_in_tail(body, self.usage)
        return self.usage


def _usage_in_tail(tail: bytes, into: Usage) -> None:
    """The last ``"usage": {...}`` object of a large answer's tail."""
    at = tail.rfind(b'"usage"')
    if at < 0:
        return
    brace = tail.find(b"{", at)
    if brace < 0:
        return
    try:
        obj, _ = json.JSONDecoder().raw_decode(tail[brace:].decode("utf-8", "replace"))
    except ValueError:
        return
    read_usage({"usage": obj}, into)


# -- the estimate -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Impact:
    status: str  # estimated | unknown_model | no_usage
    method: str | None = None
    energy_wh: float | None = None
    gco2e_g: float | None = None

    def fields(self) -> dict[str, Any]:
        return {"impact_status": self.status, "impact_method": self.method, "energy_wh": self.energy_wh,
                "gco2e_g": self.gco2e_g}


#: catalogue service id -> EcoLogits provider (``sobriety.services`` adds or overrides entries)
DEFAULT_PROVIDERS = {"mistral": "mistralai", "openai": "openai", "anthropic": "anthropic",
                     "google-gemini": "google_genai"}


def _mid(value: Any) -> float:
    """An EcoLogits value or range (``RangeValue``) as one number: the range's midpoint."""
    if hasattr(value, "min") and hasattr(value, "max"):
        return (float(value.min) + float(value.max)) / 2
    return float(value)


class _FixedOrder:
    """What EcoLogits' ``DAG.execute`` asks of a ``TopologicalSorter``: its order, here computed before."""

    __slots__ = ("order",)

    def __init__(self, order: tuple[str, ...]):
        self.order = order

    def static_order(self):
        return iter(self.order)


def _sort_dags_once() -> None:
    """EcoLogits' ``DAG.execute`` sorts its computation graph (built once, at import) anew on every
    call: about 60 % of an estimate's CPU. The order is the same at every call (the same graph,
    inserted in the same order), so it is computed once per graph, and again only if tasks were added
    since. Should a later EcoLogits change its ``DAG``, the original sort runs."""
    from ecologits.impacts.dag import DAG

    if getattr(DAG, "_gardefou_sorted_once", False):
        return
    sort = DAG.build_dag

    def build_dag(self):
        deps = getattr(self, "_DAG__dependencies", None)
        if not isinstance(deps, dict):
            return sort(self)
        cached = self.__dict__.get("_gardefou_order")
        if cached is None or cached[0] != len(deps):
            cached = self._gardefou_order = (len(deps), tuple(sort(self).static_order()))
        return _FixedOrder(cached[1])

    DAG.build_dag = build_dag  # type: ignore[method-assign]
    DAG._gardefou_sorted_once = True  # type: ignore[attr-defined]


class ImpactEstimator:
    """EcoLogits, loaded once (its model table and electricity mixes); ``estimate`` costs a fraction of
    a millisecond and is run with the outcome's write, after the answer has been relayed."""

    def __init__(self, services: Mapping[str, tuple[str, str | None]]):
        #: service id -> (EcoLogits provider, electricity mix zone or None for the provider's own)
        self.services = dict(services)
        previous = logging.getLoggerClass()
        try:
            import ecologits
            from ecologits.electricity_mix_repository import electricity_mixes
            from ecologits.model_repository import models
            from ecologits.tracers.utils import llm_impacts
        finally:  # EcoLogits installs its logger class for every logger created after its import
            logging.setLoggerClass(previous)
        logging.getLogger("ecologits").setLevel(logging.ERROR)  # precision warnings once per model: not ours
        _sort_dags_once()
        for sid, (_, zone) in self.services.items():
            if zone is not None and electricity_mixes.find_electricity_mix(zone=zone) is None:
                raise ValueError(f"sobriety.services.{sid}.zone: EcoLogits has no electricity mix for {zone!r}")
        self.method = f"ecologits {ecologits.__version__}"
        self._models = models
        self._impacts = llm_impacts

    def knows(self, service_id: str | None, model: str | None) -> bool:
        entry = self.services.get(service_id or "")
        return bool(entry and model and self._models.find_model(provider=entry[0], model_name=model) is not None)

    def estimate(self, service_id: str | None, models: tuple[str | None, ...], output_tokens: int | None,
                 latency_s: float | None) -> Impact:
        """The estimate for the first of ``models`` (the provider's reported model, then the requested
        one) that EcoLogits knows for this service's provider."""
        entry = self.services.get(service_id or "")
        model = next((m for m in models if self.knows(service_id, m)), None) if entry else None
        if entry is None or model is None:
            return Impact(UNKNOWN_MODEL, self.method)
        if output_tokens is None:
            return Impact(NO_USAGE, self.method)
        provider, zone = entry
        try:
            res = self._impacts(provider, model, output_tokens, max(latency_s or 0.0, 0.001), zone)
        except Exception:  # an estimate never fails a request
            log.exception("EcoLogits failed for %s/%s", provider, model)
            return Impact(UNKNOWN_MODEL, self.method)
        if res.energy is None or res.gwp is None:
            return Impact(UNKNOWN_MODEL, self.method)
        return Impact(ESTIMATED, self.method, round(_mid(res.energy.value) * 1000, 6),
                      round(_mid(res.gwp.value) * 1000, 6))


def long_conversation(messages: int | None, chars: int, max_messages: int | None, max_tokens: int | None) -> bool:
    """Past the configured number of messages, or of tokens (estimated from the characters)."""
    if max_messages is not None and messages is not None and messages > max_messages:
        return True
    return max_tokens is not None and chars // CHARS_PER_TOKEN > max_tokens
