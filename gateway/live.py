"""The configuration in force, and its reload (``SIGHUP``, ``POST /admin/api/reload``) without stopping.

Every ingress takes ``Live.pipeline`` when a request arrives and keeps that pipeline until the
request is over (a stream relayed for minutes included); a reload builds a whole new pipeline off
the event loop (reading and validating the file, building the detectors: models are loaded) and then
swaps the reference, so new requests get the new catalogue, policy, detectors, client keys and
institution messages while those in flight finish with the old ones. The parts every generation
shares are handed over, not rebuilt: the audit store and the admission state (per-client limits, the
scan pool), resized to the new limits.

A file that does not validate, or detectors that fail to build, change nothing: the configuration in
force stays, and the result says why (log line, the admin API's answer).

Some settings cannot change while the process runs (``RESTART_ONLY``: listening addresses and ports,
TLS files, workers, the browser proxy, the audit database (its URL, key and connection pool), the
alerts' watcher, the listeners' connection limits; and the audit review listener, started only when
administrators exist at start-up). When the
file changes one of them, the value in force is kept and the key is reported as needing a restart;
the rest of the file is applied.

With ``serve --workers N`` each worker has its own ``Live``. The parent relays ``SIGHUP`` to every
worker; the admin API (worker 1) reloads itself, then signals the other workers and waits for them on
the ``WorkerBoard``, a table in memory shared across the fork where each worker writes the
generation and digest it runs.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import mmap
import os
import signal
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

import anyio
from pydantic import BaseModel

from detectors import Scanner, build_default_scanner
from gateway import metrics
from gateway.build import build_pipeline
from gateway.config import Config, ConfigError, parse_config
from gateway.pipeline import Pipeline

log = logging.getLogger("gardefou.reload")

#: what a running process cannot change: a section (every key in it) or one key
RESTART_ONLY = ("listen", "admin", "proxy", "audit.url", "audit.fingerprint_key_env", "audit.pool_size",
                "audit.max_overflow", "audit.pool_timeout_s", "alerts", "limits.header_timeout_s",
                "limits.max_connections")
#: how long the admin API waits for the other workers to finish their reload
WORKERS_TIMEOUT_S = 120.0

Outcome = Literal["reloaded", "invalid", "failed", "no_file"]


@dataclass(frozen=True)
class Loaded:
    """One generation of the configuration: what new requests get."""

    config: Config
    pipeline: Pipeline
    generation: int
    #: the file's SHA-256 as read (compare with ``sha256sum FILE``); of the embedded defaults without a file
    sha256: str
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def as_json(self) -> dict[str, Any]:
        return {"generation": self.generation, "sha256": self.sha256, "loaded_at": self.loaded_at.isoformat()}


@dataclass(frozen=True)
class WorkerState:
    """What one worker process runs, read from the ``WorkerBoard``."""

    worker: int
    pid: int
    generation: int
    sha256: str
    #: reloads attempted so far, and whether the last one was applied
    attempts: int
    ok: bool

    def as_json(self) -> dict[str, Any]:
        return {"worker": self.worker, "pid": self.pid, "generation": self.generation, "sha256": self.sha256,
                "last_reload_ok": self.ok}


@dataclass(frozen=True)
class ReloadResult:
    outcome: Outcome
    #: the generation in force after the attempt (the old one unless ``reloaded``)
    loaded: Loaded
    previous: Loaded
    #: top-level sections whose applied value changed
    changed: tuple[str, ...] = ()
    #: keys the file changed that keep their running value until a restart
    needs_restart: tuple[str, ...] = ()
    #: why the file was not applied (the validation error: file, line, key)
    error: str | None = None
    #: with ``--workers``: every worker's state after the reload (empty for one process)
    workers: tuple[WorkerState, ...] = ()
    #: workers that did not report the new configuration in time (or whose reload failed)
    lagging: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome == "reloaded" and not self.lagging

    def message_fr(self) -> str:
        """The answer a person reads (the admin API's ``message``)."""
        kept = f"la configuration en service (génération {self.loaded.generation}) est conservée"
        if self.outcome == "no_file":
            return ("Aucun fichier de configuration : la passerelle fonctionne avec la configuration intégrée, il n'y "
                    "a rien à recharger (démarrez-la avec --config FICHIER).")
        if self.outcome == "invalid":
            return (f"Configuration refusée : le fichier ne passe pas la validation ; {kept}. Corrigez l'erreur "
                    "indiquée dans « validation_error », puis rechargez.")
        if self.outcome == "failed":
            return (f"Configuration non appliquée : la construction du nouveau pipeline (détecteurs) a échoué ; "
                    f"{kept}. Détail dans « error » et dans le journal de la passerelle.")
        text = (f"Configuration rechargée : génération {self.loaded.generation} en service "
                f"(sha256 {self.loaded.sha256[:12]}…). Les nouvelles requêtes l'utilisent ; celles en cours se "
                "terminent avec la précédente.")
        if self.changed:
            text += f" Sections modifiées : {', '.join(self.changed)}."
        else:
            text += " Aucune section modifiée."
        if self.needs_restart:
            text += (" Nécessite un redémarrage (valeur en service conservée d'ici là) : "
                     f"{', '.join(self.needs_restart)}.")
        if self.workers:
            if self.lagging:
                text += (f" Attention : le ou les processus {', '.join(map(str, self.lagging))} n'ont pas chargé "
                         "cette configuration ; consultez le journal de la passerelle.")
            else:
                text += f" Les {len(self.workers)} processus de la passerelle l'ont chargée."
        return text

    #: the admin API's status code and error code per outcome
    ANSWERS: ClassVar[dict[str, tuple[int, str | None]]] = {
        "reloaded": (200, None), "invalid": (422, "invalid_configuration"), "failed": (500, "reload_failed"),
        "no_file": (409, "no_configuration_file")}

    def answer(self) -> tuple[int, dict[str, Any]]:
        """The admin API's answer: the status and the JSON body (a French ``message``; for a refused file,
        the validation error; the configuration in force after the attempt)."""
        status, code = self.ANSWERS[self.outcome]
        if self.outcome == "reloaded" and self.lagging:
            status, code = 500, "reload_incomplete"
        config = {**self.loaded.as_json(), "changed": list(self.changed), "needs_restart": list(self.needs_restart)}
        if self.workers:
            config["workers"] = [w.as_json() for w in self.workers]
        if code is None:
            return status, {"status": "ok", "message": self.message_fr(), **config}
        error: dict[str, Any] = {"code": code, "message": self.message_fr()}
        if self.error is not None:
            error["validation_error" if self.outcome == "invalid" else "detail"] = self.error
        return status, {"error": error, "config": config}

    def log_line(self, trigger: str) -> str:
        where = f"configuration reload ({trigger})"
        if self.outcome == "no_file":
            return f"{where}: no configuration file (embedded defaults), nothing to reload"
        if self.outcome in ("invalid", "failed"):
            what = "does not validate" if self.outcome == "invalid" else "could not be built"
            return (f"{where} refused, generation {self.loaded.generation} stays in force: the new configuration "
                    f"{what}: {self.error}")
        line = (f"{where}: generation {self.loaded.generation} in force (sha256 {self.loaded.sha256}, pid "
                f"{os.getpid()}); changed: {', '.join(self.changed) or 'nothing'}")
        if self.needs_restart:
            line += f"; needs a restart (running values kept): {', '.join(self.needs_restart)}"
        if self.lagging:
            line += f"; workers not reloaded: {', '.join(map(str, self.lagging))}"
        return line


# -- what cannot change while running ------------------------------------------------------------

def _at(config: Config, dotted: str) -> Any:
    value: Any = config
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def _differences(a: Any, b: Any, prefix: str) -> list[str]:
    """The dotted keys whose values differ (recursing into sections)."""
    if isinstance(a, BaseModel) and isinstance(b, BaseModel) and type(a) is type(b):
        out: list[str] = []
        for name in type(a).model_fields:
            out.extend(_differences(getattr(a, name), getattr(b, name), f"{prefix}.{name}"))
        return out
    return [] if a == b else [prefix]


def needs_restart(running: Config, new: Config) -> list[str]:
    """The keys of ``new`` that differ from the values the process started with and cannot change."""
    out: list[str] = []
    for key in RESTART_ONLY:
        out.extend(_differences(_at(running, key), _at(new, key), key))
    if not running.admins and new.admins:  # the audit review listener is started only when admins exist
        out.append("admins")
    return out


def keep_running(running: Config, new: Config) -> Config:
    """``new`` with the values the process started with wherever they cannot change."""
    out = new
    for key in RESTART_ONLY:
        out = _with(out, key.split("."), _at(running, key))
    return out


def _with(model: BaseModel, path: list[str], value: Any) -> Any:
    """A copy of ``model`` whose field at ``path`` is ``value``."""
    head, rest = path[0], path[1:]
    return model.model_copy(update={head: _with(getattr(model, head), rest, value) if rest else value})


def changed_sections(old: Config, new: Config) -> list[str]:
    return [name for name in Config.model_fields if getattr(old, name) != getattr(new, name)]


def file_sha256(path: str | Path | None, config: Config | None = None) -> str:
    """The file's digest as read; without a file, the embedded defaults' (their JSON form)."""
    if path is None:
        return hashlib.sha256((config or Config()).model_dump_json().encode()).hexdigest()
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# -- the workers' shared table -------------------------------------------------------------------

class WorkerBoard:
    """One slot per worker of ``serve --workers N`` (pid, generation, digest, reload attempts), in an
    anonymous shared mapping created by the parent before it forks: each worker writes its own slot,
    the admin API (worker 1) reads them all."""

    SLOT = struct.Struct("<qqq?32s")

    def __init__(self, workers: int):
        self.workers = workers
        self._map = mmap.mmap(-1, self.SLOT.size * workers)  # MAP_SHARED | MAP_ANONYMOUS: kept across fork

    def write(self, index: int, *, generation: int, sha256: str, attempts: int, ok: bool) -> None:
        self.SLOT.pack_into(self._map, index * self.SLOT.size, os.getpid(), generation, attempts, ok,
                            bytes.fromhex(sha256))

    def read(self, index: int) -> WorkerState:
        pid, generation, attempts, ok, digest = self.SLOT.unpack_from(self._map, index * self.SLOT.size)
        return WorkerState(index + 1, pid, generation, digest.hex(), attempts, ok)

    def states(self) -> tuple[WorkerState, ...]:
        return tuple(self.read(i) for i in range(self.workers))


# -- the holder ----------------------------------------------------------------------------------

@dataclass
class _Prepared:
    config: Config
    pipeline: Pipeline
    sha256: str
    restart: list[str]


class Live:
    """The configuration in force (``loaded``) and its reload. ``path`` is the file to read again
    (None: the embedded defaults, nothing to reload)."""

    def __init__(self, config: Config, pipeline: Pipeline, *, path: str | Path | None = None,
                 environ: Mapping[str, str] | None = None,
                 build_scanner: Callable[[Any], Scanner] = build_default_scanner,
                 board: WorkerBoard | None = None, worker: int = 0):
        self.path = Path(path) if path is not None else None
        self.environ = os.environ if environ is None else environ
        #: the configuration the process started with: what cannot change stays as it says
        self.started = config
        self.loaded = Loaded(config, pipeline, 1, file_sha256(self.path, config))
        self.build_scanner = build_scanner
        self.board, self.worker = board, worker
        self.attempts = 0
        #: called on the event loop after each applied reload (the browser proxy's upload limit)
        self.on_reload: list[Callable[[Loaded], None]] = []
        self._lock: anyio.Lock | None = None
        self._tasks: set[asyncio.Task] = set()
        self._publish(ok=True)

    @property
    def pipeline(self) -> Pipeline:
        """The pipeline a request arriving now gets (keep it for the whole request)."""
        return self.loaded.pipeline

    @property
    def config(self) -> Config:
        return self.loaded.config

    # -- reload ---------------------------------------------------------------------------------
    async def reload(self, trigger: str) -> ReloadResult:
        """Read, validate and build the file's configuration off the event loop, then put it in force;
        if anything fails, the configuration in force stays."""
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            before = self.loaded
            if self.path is None:
                result = ReloadResult("no_file", before, before)
                log.warning(result.log_line(trigger))
                return result
            try:
                prepared = await anyio.to_thread.run_sync(self._prepare)
            except ConfigError as exc:
                result = ReloadResult("invalid", before, before, error=str(exc))
            except Exception as exc:  # detectors that fail to build: the old pipeline stays
                log.exception("configuration reload (%s): building the new pipeline failed", trigger)
                result = ReloadResult("failed", before, before, error=f"{type(exc).__name__}: {exc}")
            else:
                prepared.pipeline.admission.resize(prepared.config.limits)
                self.loaded = Loaded(prepared.config, prepared.pipeline, before.generation + 1, prepared.sha256)
                result = ReloadResult("reloaded", self.loaded, before,
                                      changed=tuple(changed_sections(before.config, prepared.config)),
                                      needs_restart=tuple(prepared.restart))
                for callback in self.on_reload:
                    try:
                        callback(self.loaded)
                    except Exception:  # the new pipeline is in force; what a listener failed to follow is logged
                        log.exception("configuration reload (%s): %r failed", trigger, callback)
                if before.pipeline.scanner is not prepared.pipeline.scanner:
                    await anyio.to_thread.run_sync(_collect_frozen)
            self.attempts += 1
            self._publish(ok=result.outcome == "reloaded")
            metrics.CONFIG_RELOADS.labels(result.outcome).inc()
            (log.info if result.outcome == "reloaded" else log.error)(result.log_line(trigger))
            return result

    def _prepare(self) -> _Prepared:
        """On a worker thread: the new configuration and its pipeline (nothing in force changes here)."""
        assert self.path is not None
        try:
            raw = self.path.read_bytes()
            text = raw.decode("utf-8")
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot read: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{self.path}: not UTF-8 text") from None
        new = parse_config(text, str(self.path), environ=self.environ)
        restart = needs_restart(self.started, new)
        config = keep_running(self.started, new)
        current = self.loaded.pipeline
        same_detectors = config.detectors == self.loaded.config.detectors and not config.detectors.dictionary_file
        scanner = current.scanner if same_detectors else self.build_scanner(config.detectors)
        pipeline = build_pipeline(config, scanner=scanner, store=current.store, environ=self.environ,
                                  admission=current.admission, migrate=False)
        return _Prepared(config, pipeline, hashlib.sha256(raw).hexdigest(), restart)

    async def reload_everywhere(self, trigger: str) -> ReloadResult:
        """The admin API's reload: this process, then (``--workers``) every other worker, waiting for
        each to report on the board."""
        result = await self.reload(trigger)
        board = self.board
        if board is None:
            return result
        others = [s for s in board.states() if s.worker != self.worker + 1 and s.pid > 0]
        if result.outcome == "reloaded":
            asked: dict[int, WorkerState] = {}
            for state in others:
                try:
                    os.kill(state.pid, signal.SIGHUP)
                    asked[state.worker] = state
                except ProcessLookupError:
                    log.error("worker %d (pid %d) is gone: not reloaded", state.worker, state.pid)

            def answered(before: WorkerState) -> bool:  # runs a newer generation of this file, or failed
                now = board.read(before.worker - 1)
                return (now.generation > before.generation and now.sha256 == result.loaded.sha256) or (
                    now.attempts > before.attempts and not now.ok)

            deadline = time.monotonic() + WORKERS_TIMEOUT_S
            while time.monotonic() < deadline and not all(answered(s) for s in asked.values()):
                await anyio.sleep(0.05)
        states = board.states()
        lagging = tuple(s.worker for s in states if s.sha256 != result.loaded.sha256 or not s.ok) \
            if result.outcome == "reloaded" else ()
        result = ReloadResult(result.outcome, result.loaded, result.previous, result.changed, result.needs_restart,
                              result.error, states, lagging)
        if lagging:
            log.error(result.log_line(trigger))
        return result

    def on_hangup(self) -> None:
        """The ``SIGHUP`` handler (``loop.add_signal_handler``): reload this process, on the loop."""
        task = asyncio.get_running_loop().create_task(self.reload("SIGHUP"))
        self._tasks.add(task)  # a task nobody references may be collected before it ends
        task.add_done_callback(self._tasks.discard)

    def _publish(self, *, ok: bool) -> None:
        loaded = self.loaded
        metrics.CONFIG_GENERATION.set(loaded.generation)
        metrics.CONFIG_INFO.info({"sha256": loaded.sha256})
        if self.board is not None:
            self.board.write(self.worker, generation=loaded.generation, sha256=loaded.sha256,
                             attempts=self.attempts, ok=ok)

    def status(self) -> dict[str, Any]:
        """What /readyz and the admin API show of the configuration in force."""
        out = {**self.loaded.as_json(), "file": str(self.path) if self.path else None}
        if self.board is not None:
            out["worker"] = self.worker + 1
            out["workers"] = [s.as_json() for s in self.board.states()]
        return out


# -- SIGHUP before the event loop handles it ---------------------------------------------------------

_hangup_pending = False


def defer_hangups() -> None:
    """From start-up until ``Live.on_hangup`` is installed on the event loop: a ``SIGHUP`` is remembered
    instead of killing the process (its default action) while the models load, and the reload runs as
    soon as the gateway does (``take_deferred_hangup``). Inherited by the workers ``--workers`` forks."""

    def remember(signum, frame) -> None:
        global _hangup_pending
        _hangup_pending = True

    signal.signal(signal.SIGHUP, remember)


def take_deferred_hangup() -> bool:
    """Whether a ``SIGHUP`` arrived before the loop handled them (and forget it)."""
    global _hangup_pending
    pending, _hangup_pending = _hangup_pending, False
    return pending


def _collect_frozen() -> None:
    """After a reload that replaced the detectors: the models loaded at start-up were moved out of the
    collector's reach (``gc.freeze``); bring them back so that an old generation no request uses any
    more is freed, then freeze what remains."""
    if gc.get_freeze_count():
        gc.unfreeze()
        gc.collect()
        gc.freeze()
