"""Configuration: a YAML file validated by pydantic, with errors that name the key and the line."""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from detectors.scanner import DetectorOptions
from policies.catalogue import BUILTIN_SERVICES, Catalogue, Service, merge_service_data, merge_services
from policies.decision import Policy
from policies.messages import Institution
from policies.vocabulary import AuditCategory, Role


class ConfigError(Exception):
    """A configuration that must not start a gateway. The message names the key and the line."""


class ConfigProblems(ConfigError):
    """Checks across sections (or against the environment) that failed, each at a key's location;
    ``parse_config`` turns them into messages with line numbers."""

    def __init__(self, problems: list[tuple[tuple, str]]):
        self.problems = problems
        super().__init__("\n".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems))


_STORE_URLS = "sqlite:///FILE or postgresql+psycopg://USER@HOST/DB"
_WILDCARD_HOSTS = ("", "0.0.0.0", "::", "[::]")


def addresses_collide(host_a: str, port_a: int, host_b: str, port_b: int) -> bool:
    """Two listeners that could not both bind (port 0 means any free port)."""
    if not port_a or port_a != port_b:
        return False
    return host_a == host_b or host_a in _WILDCARD_HOSTS or host_b in _WILDCARD_HOSTS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _TlsFiles(_Strict):
    """HTTPS on a listener, for a site without a reverse proxy: a PEM certificate (chain) and its private
    key (unencrypted, readable by the service user only). Both or neither; plain HTTP without them."""

    tls_cert_file: str | None = None
    #: validated even when absent, so that a certificate without its key is refused at this key
    tls_key_file: str | None = Field(None, validate_default=True)

    @field_validator("tls_key_file")
    @classmethod
    def _both_or_neither(cls, v: str | None, info: typing.Any) -> str | None:  # pydantic's ValidationInfo
        if "tls_cert_file" not in info.data:  # the certificate's own error is reported instead
            return v
        cert = info.data["tls_cert_file"]
        if cert and not v:
            raise ValueError("tls_cert_file is set: give its private key here too (HTTPS needs both, or neither)")
        if v and not cert:
            raise ValueError("a private key without tls_cert_file: give the certificate too (HTTPS needs both, "
                             "or neither)")
        return v

    def tls_options(self) -> dict[str, str]:
        """uvicorn's settings for this listener: the certificate and key, or nothing (plain HTTP)."""
        if self.tls_cert_file and self.tls_key_file:
            return {"ssl_certfile": self.tls_cert_file, "ssl_keyfile": self.tls_key_file}
        return {}


class Listen(_TlsFiles):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    #: Addresses of reverse proxies whose X-Forwarded-For is believed (none by default: the client
    #: address is the connection's peer, so a client cannot write what the audit records as its address).
    trusted_proxies: list[str] = []
    #: gateway processes accepting on the port (scans on every core); limits and the scan pool are per process
    workers: int = Field(1, ge=1, le=64)
    #: keep each gateway process's threads on one core (worker i on the i-th core it may use; its scan
    #: helper processes on the other cores): they share one interpreter lock, and a hand-off between them
    #: (event loop, scan threads, the audit's outcome thread) then switches on that core instead of
    #: waking another (``gateway.placement``). Only with two usable cores or more, on Linux. Off by
    #: default: less CPU per request under load, but a long prompt alone waits longer (README, Benchmarks).
    cpu_pinning: StrictBool = False


class AdminListen(_TlsFiles):
    host: str = "127.0.0.1"
    port: int = Field(8081, ge=0, le=65535)


class ProxyConfig(_Strict):
    """The browser path: Garde-fou as the browsers' proxy (``gateway/proxy``)."""

    enabled: StrictBool = False
    host: str = "127.0.0.1"
    port: int = Field(3128, ge=0, le=65535)
    #: where ``gardefou ca init`` keeps the institution CA (mitmproxy's file layout)
    ca_dir: str = "./gardefou-ca"
    #: an extra CA bundle trusted for upstream servers, on top of the system store (tests, internal PKI)
    upstream_ca_file: str | None = None
    #: how long a « Continuer » on a warning page holds, for that client and service
    ack_minutes: int = Field(30, ge=1, le=24 * 60)


class AuditConfig(_Strict):
    url: str = "sqlite:///./gardefou-audit.db"
    retention_days: int = Field(365, ge=1)
    #: Name of the environment variable holding the HMAC key for value fingerprints (off when unset).
    fingerprint_key_env: str | None = None
    #: PostgreSQL connection pool of each gateway process: connections kept open, extra ones opened
    #: under load, and how long a request waits for a free one (then 503, fail closed)
    pool_size: int = Field(10, ge=1, le=1000)
    max_overflow: int = Field(10, ge=0, le=1000)
    pool_timeout_s: float = Field(10.0, gt=0)

    def store_options(self) -> dict[str, typing.Any]:
        """``AuditStore``'s pool settings from this section."""
        return {"pool_size": self.pool_size, "max_overflow": self.max_overflow, "pool_timeout": self.pool_timeout_s}

    def fingerprint_key(self, environ) -> bytes | None:
        """The audit HMAC key (value fingerprints, purge anchors) from ``environ``, or None."""
        raw = environ.get(self.fingerprint_key_env) if self.fingerprint_key_env else None
        return raw.encode() if raw else None

    @field_validator("url")
    @classmethod
    def _known_store(cls, v: str) -> str:
        # The URL may hold a password: messages never repeat it.
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        try:
            url = make_url(v)
        except ArgumentError:
            raise ValueError(f"not a database URL; write {_STORE_URLS}") from None
        backend = url.get_backend_name()
        if backend in ("postgres", "pg", "pgsql"):
            raise ValueError(f"'{url.drivername}://' is not a SQLAlchemy URL scheme; write postgresql+psycopg://USER@HOST/DB")
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported audit store '{url.drivername}'; write {_STORE_URLS}")
        try:
            url.get_dialect().import_dbapi()
        except (NoSuchModuleError, ImportError):
            hint = "sqlite:///FILE" if backend == "sqlite" else "postgresql+psycopg://USER@HOST/DB"
            raise ValueError(f"database driver '{url.drivername}' is not available; write {hint}") from None
        return v


class PolicyConfig(_Strict):
    warn_mode: Literal["forward", "require_ack"] = "forward"
    uninspectable: Literal["block", "allow"] = "block"
    #: an AI service outside the catalogue that Garde-fou recognises (a host of the discovery list, on
    #: the browser path): blocked, or let through with a recorded warning (``warn_mode`` applies). A
    #: destination nobody recognises (an unknown model prefix on the API path) is always refused.
    unknown_service: Literal["block", "warn"] = "block"

    def to_policy(self) -> Policy:
        return Policy(warn_mode=self.warn_mode, uninspectable=self.uninspectable, unknown_service=self.unknown_service)


class DiscoveryConfig(_Strict):
    """Shadow-AI discovery (``policies/discovery.py``): the generative-AI hosts recognised outside the
    catalogue, sent to the browser proxy by the PAC and decided as unknown services."""

    enabled: StrictBool = True
    #: a newer list in the bundled file's format (``policies/ai_hosts.yaml``), replacing it
    hosts_file: str | None = None
    #: where the dashboard writes the catalogue entries an admin drafts from the discovery page
    drafts_dir: str = "./gardefou-drafts"


class AlertRule(_Strict):
    #: blocks of this category (any category: ``any``) ...
    category: AuditCategory | Literal["any"]
    #: ... at least this many ...
    blocks: int = Field(ge=1)
    #: ... within this many minutes send one alert (then none for this rule until a window has passed)
    window_minutes: int = Field(60, ge=1, le=7 * 24 * 60)


class AlertsConfig(_Strict):
    """An alert to a webhook when charter blocks of a category pass a threshold (``gateway/dpo/alerts.py``)."""

    #: the URL a JSON alert is POSTed to (a chat tool's incoming webhook, a ticketing system); off when unset
    webhook_url: str | None = Field(None, pattern=r"^https?://")
    #: the environment variable holding a secret: each alert is then signed (``X-Gardefou-Signature``,
    #: HMAC-SHA256 of the body)
    secret_env: str | None = None
    rules: list[AlertRule] = []
    #: how often the thresholds are checked
    check_interval_s: float = Field(60.0, ge=1)
    timeout_s: float = Field(10.0, gt=0)

    def secret(self, environ) -> bytes | None:
        raw = environ.get(self.secret_env) if self.secret_env else None
        return raw.encode() if raw else None


class ClientEntry(_Strict):
    id: str
    department: str | None = None
    key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class AuthConfig(_Strict):
    mode: Literal["none", "api_key"] = "none"
    clients: list[ClientEntry] = []


class AdminUser(_Strict):
    id: str
    role: Role
    token_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Limits(_Strict):
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    #: text inspected per request (characters of every extracted string together): more is refused (413)
    max_scan_chars: int = Field(1_000_000, ge=1000)
    #: time the detectors may take for one request: past it the request is refused (503, fail closed)
    scan_timeout_s: float = Field(10.0, gt=0)
    #: inspections running at once (worker threads) and waiting beyond them; more gets 503 + Retry-After.
    #: A burst of short prompts (200 streams opened together) queues for a few milliseconds each; the
    #: queued text itself is bounded by ``max_queued_scan_chars`` (characters inspected or waiting, all
    #: requests together; a request alone is always admitted, up to ``max_scan_chars``)
    max_concurrent_scans: int = Field(8, ge=1)
    max_queued_scans: int = Field(1024, ge=0)
    max_queued_scan_chars: int = Field(20_000_000, ge=1000)
    #: helper processes per gateway process that share the scan of a text with the thread inspecting
    #: it (``detectors.parallel``: one text on two cores); None: one on a machine of two cores or
    #: more, none on one core; 0: none. Texts shorter than ``scan_helper_min_chars`` are scanned alone.
    scan_helpers: int | None = Field(None, ge=0, le=16)
    scan_helper_min_chars: int = Field(200, ge=0)
    #: per client (API key, or address without keys): requests a minute and requests at once (429 past them)
    client_requests_per_minute: int = Field(600, ge=1)
    client_concurrency: int = Field(32, ge=1)
    #: time to receive a request's headers: past it the connection is closed (slowloris)
    header_timeout_s: float = Field(10.0, gt=0)
    #: time to receive a request body (408 past it: a trickling upload does not hold a worker)
    body_timeout_s: float = Field(30.0, gt=0)
    #: open connections per listener (uvicorn answers 503 past it)
    max_connections: int = Field(1000, ge=1)
    upstream_connect_timeout_s: float = Field(10.0, gt=0)
    upstream_timeout_s: float = Field(120.0, gt=0)


class LongConversation(_Strict):
    """Past either threshold in one request, the answer carries a French notice suggesting a new
    conversation (``X-Gardefou-Notice``), and the record counts it. ``null`` turns a criterion off."""

    max_messages: int | None = Field(30, ge=1)
    #: estimated before any answer, as the request's characters / 4
    max_tokens: int | None = Field(20_000, ge=1)


ECOLOGITS_PROVIDERS = ("anthropic", "cohere", "google_genai", "huggingface_hub", "mistralai", "openai")


class ImpactService(_Strict):
    """How EcoLogits knows a catalogue service: its provider table, and the electricity mix of the
    data centre (ISO 3166-1 alpha-3 code, e.g. FRA; default: EcoLogits' own for the provider)."""

    provider: Literal[ECOLOGITS_PROVIDERS]  # type: ignore[valid-type]
    zone: str | None = Field(None, pattern=r"^[A-Z]{3}$")


class SobrietyConfig(_Strict):
    #: an energy and CO2e estimate per forwarded request (EcoLogits, offline)
    impacts: StrictBool = True
    #: catalogue service id -> EcoLogits provider, merged over the built-in ones (mistral, openai,
    #: anthropic, google-gemini); a service without one gets no estimate (recorded as unknown_model)
    services: dict[str, ImpactService] = {}
    long_conversation: LongConversation = LongConversation()


class CharterConfig(_Strict):
    """The institution's charter, to be accepted once per person (browser) or client key (API), and again
    when ``version`` changes. Give its ``url`` (intranet page, PDF), its ``text``, or both."""

    version: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
    title: str = Field("Charte d'utilisation des services d'intelligence artificielle", min_length=1, max_length=200)
    url: str | None = Field(None, pattern=r"^https?://\S+$", max_length=2000)
    text: str | None = Field(None, min_length=1, max_length=100_000)

    @model_validator(mode="after")
    def _text_or_link(self) -> CharterConfig:
        if not self.url and not self.text:
            raise ValueError("give the charter's url, its text, or both")
        return self


def _entry_of(model: type[BaseModel], name: str, doc: str) -> type[BaseModel]:
    """``model`` with every field but ``id`` optional: the configuration's override of a catalogue entry,
    derived from the catalogue's own model so that the two can never disagree."""
    fields: dict[str, typing.Any] = {}
    for key, info in model.model_fields.items():
        # keep the field's constraints (StrictBool's Strict(), a pattern...) on the optional form too
        if key == "id":
            fields[key] = (info.annotation, info)
            continue
        annotation = typing.Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        fields[key] = (typing.Optional[annotation], None)  # noqa: UP045 (a runtime type)
    return create_model(name, __base__=_Strict, __doc__=doc, **fields)


if typing.TYPE_CHECKING:  # the same fields for the type checker (all but ``id`` optional at run time)
    ServiceEntry = Service
else:
    ServiceEntry = _entry_of(Service, "ServiceEntry",
                             "A configured service: every field but ``id`` is optional and merged over the built-in entry.")


class Config(_Strict):
    listen: Listen = Listen()
    admin: AdminListen = AdminListen()
    proxy: ProxyConfig = ProxyConfig()
    audit: AuditConfig = AuditConfig()
    services: list[ServiceEntry] = []
    aliases: dict[str, str] = {}
    policy: PolicyConfig = PolicyConfig()
    discovery: DiscoveryConfig = DiscoveryConfig()
    alerts: AlertsConfig = AlertsConfig()
    auth: AuthConfig = AuthConfig()
    admins: list[AdminUser] = []
    limits: Limits = Limits()
    detectors: DetectorOptions = DetectorOptions()
    sobriety: SobrietyConfig = SobrietyConfig()
    #: none by default: nothing to accept
    charter: CharterConfig | None = None
    #: the contact, charter link and internal tool named in every block and warning message
    institution: Institution = Institution()

    @field_validator("aliases")
    @classmethod
    def _aliases_have_service(cls, v: dict[str, str]) -> dict[str, str]:
        for alias, target in v.items():
            if "/" not in target:
                raise ValueError(f"alias {alias!r} must point to 'SERVICE_ID/MODEL', got {target!r}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        problems = self._problems()
        if problems:
            raise ConfigProblems(problems)
        return self

    def _problems(self) -> list[tuple[tuple, str]]:
        """What the sections must agree on; each problem at the location of the key to fix."""
        out: list[tuple[tuple, str]] = []
        builtin = {s["id"] for s in BUILTIN_SERVICES}
        merged = merge_service_data(self._service_overrides())
        first: dict[str, int] = {}
        for i, s in enumerate(self.services):
            first.setdefault(s.id, i)
        for sid, i in first.items():
            try:
                Service(**merged[sid])
            except ValidationError as exc:
                for err in exc.errors():
                    field = ".".join(map(str, err["loc"]))
                    if err["type"] == "missing" and sid not in builtin:
                        msg = f"service {sid!r} is not in the built-in catalogue: {field!r} is required"
                    else:
                        msg = f"service {sid!r}: {_message(err)}"
                    out.append((("services", i, *err["loc"]), msg))
        for alias, target in self.aliases.items():
            sid = target.split("/", 1)[0]
            if sid not in merged:
                out.append((("aliases", alias), f"alias {alias!r} points to unknown service {sid!r} "
                                                f"(known: {', '.join(sorted(merged))})"))
        for sid in self.sobriety.services:
            if sid not in merged:
                out.append((("sobriety", "services", sid), f"unknown service {sid!r} (known: {', '.join(sorted(merged))})"))
        if addresses_collide(self.admin.host, self.admin.port, self.listen.host, self.listen.port):
            out.append((("admin", "port"), f"the admin listener needs its own port, not listen.port "
                                           f"({self.listen.port}) on the same host"))
        if self.proxy.enabled:
            for name, section in (("listen", self.listen), ("admin", self.admin)):
                if addresses_collide(self.proxy.host, self.proxy.port, section.host, section.port):
                    out.append((("proxy", "port"), f"the proxy needs its own port, not {name}.port "
                                                   f"({section.port}) on the same host"))
        out.extend(self._host_problems(merged, first))
        if self.alerts.rules and not self.alerts.webhook_url:
            out.append((("alerts", "webhook_url"), "alerts.rules are set: give the webhook_url they are sent to"))
        return out

    def _host_problems(self, merged: dict[str, dict], first: dict[str, int]) -> list[tuple[tuple, str]]:
        """A host entry listed by two services would make the browser path's answer depend on order."""
        from policies.catalogue import parse_host_entry

        out: list[tuple[tuple, str]] = []
        owner: dict[str, str] = {}
        for sid, data in merged.items():
            for j, entry in enumerate(data.get("hosts") or ()):
                try:
                    key = str(parse_host_entry(entry))
                except ValueError:
                    continue  # reported by the service's own validation
                other = owner.setdefault(key, sid)
                if other != sid and sid in first:
                    out.append((("services", first[sid], "hosts", j),
                                f"host {key!r} is already listed by service {other!r}"))
        return out

    def _service_overrides(self) -> list[dict]:
        return [s.model_dump(exclude_none=True) for s in self.services]

    def catalogue(self) -> Catalogue:
        return Catalogue(merge_services(self._service_overrides()), self.aliases)

    def discovery_list(self):
        """The generative-AI host list (``policies.discovery.Discovery``), or None when discovery is off."""
        if not self.discovery.enabled:
            return None
        from policies.discovery import load_discovery

        return load_discovery(self.discovery.hosts_file)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _line_of(node: yaml.Node | None, loc: tuple) -> int | None:
    """Walk the composed YAML tree along a pydantic error location; return a 1-based line."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if k.value == str(part):
                    nxt = v
                    line = k.start_mark.line + 1
                    break
            if nxt is None:
                return line
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The model class whose field ``loc[-1]`` would be, following ``loc`` from ``Config``."""
    model: type[BaseModel] | None = Config
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part)) if model else None
        if field is None:
            return None
        model = next((t for t in _types_in(field.annotation) if isinstance(t, type) and issubclass(t, BaseModel)), None)
    return model


def _types_in(annotation) -> list:
    out, todo = [], [annotation]
    while todo:
        t = todo.pop()
        out.append(t)
        todo.extend(typing.get_args(t))
    return out


def _message(err: typing.Any) -> str:
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        model = _model_at(tuple(err["loc"]))
        if model is not None:
            close = difflib.get_close_matches(str(err["loc"][-1]), list(model.model_fields), n=1, cutoff=0.7)
            msg = f"unknown key, did you mean {close[0]!r}?" if close else \
                f"unknown key (known: {', '.join(model.model_fields)})"
    elif err["type"] == "bool_type":
        msg += " (true or false, without quotes)"
    return msg


def environment_problems(cfg: Config, environ: Mapping[str, str]) -> list[tuple[tuple, str]]:
    """What ``serve`` needs from the machine it runs on, checked before anything is created (audit
    database included): the variables and files the configuration names, the spaCy model."""
    out: list[tuple[tuple, str]] = []
    var = cfg.audit.fingerprint_key_env
    if var and not environ.get(var):
        out.append((("audit", "fingerprint_key_env"), f"names the environment variable {var}, which is not set"))
    det = cfg.detectors
    if det.dictionary_file:
        try:
            Path(det.dictionary_file).read_text(encoding="utf-8")
        except OSError as exc:
            out.append((("detectors", "dictionary_file"), f"cannot read {det.dictionary_file}: {exc.strerror}"))
        except UnicodeDecodeError:
            out.append((("detectors", "dictionary_file"), f"{det.dictionary_file} is not UTF-8 text"))
    out.extend(proxy_environment_problems(cfg))
    if cfg.discovery.enabled and cfg.discovery.hosts_file:
        from policies.discovery import DiscoveryListError, load_discovery

        try:
            load_discovery(cfg.discovery.hosts_file)
        except DiscoveryListError as exc:
            out.append((("discovery", "hosts_file"), str(exc)))
    var = cfg.alerts.secret_env
    if cfg.alerts.webhook_url and var and not environ.get(var):
        out.append((("alerts", "secret_env"), f"names the environment variable {var}, which is not set"))
    if det.spacy and not _spacy_model_installed(det.spacy_model):
        out.append((("detectors", "spacy_model"), f"spaCy model {det.spacy_model!r} is not installed "
                                                  "(install its package, or set detectors.spacy: false)"))
    out.extend(tls_environment_problems(cfg))
    return out


class _EncryptedKey(Exception):
    pass


def _no_password() -> bytes:
    # Without a callback OpenSSL would prompt on the terminal for the key's passphrase: a service would hang.
    raise _EncryptedKey


def tls_environment_problems(cfg: Config) -> list[tuple[tuple, str]]:
    """The HTTPS listeners' files: readable by this user, PEM, and a certificate with its own key."""
    import ssl

    out: list[tuple[tuple, str]] = []
    for name, section in (("listen", cfg.listen), ("admin", cfg.admin)):
        cert, key = section.tls_cert_file, section.tls_key_file
        if not (cert and key):
            continue
        unreadable = False
        for field, path in (("tls_cert_file", cert), ("tls_key_file", key)):
            try:
                Path(path).read_bytes()
            except OSError as exc:
                out.append(((name, field), f"cannot read {path}: {exc.strerror}"))
                unreadable = True
        if unreadable:
            continue
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            ctx.load_cert_chain(cert, key, password=_no_password)
        except _EncryptedKey:
            out.append(((name, "tls_key_file"), f"{key} is encrypted (a passphrase would be asked at each start): "
                                                "give an unencrypted key readable only by the service user"))
        except ssl.SSLError as exc:
            detail = str(exc).split(" (_ssl.c", 1)[0]
            why = "the key does not match the certificate" if "KEY_VALUES_MISMATCH" in detail else \
                f"not a PEM certificate and its private key (OpenSSL: {detail})"
            out.append(((name, "tls_cert_file"), f"{cert} with {key}: {why}"))
    return out


def proxy_environment_problems(cfg: Config) -> list[tuple[tuple, str]]:
    """The browser path's files: the institution CA when a service is inspected, the extra upstream CA
    bundle when one is named."""
    out: list[tuple[tuple, str]] = []
    proxy = cfg.proxy
    if not proxy.enabled:
        return out
    if proxy.upstream_ca_file:
        try:
            pem = Path(proxy.upstream_ca_file).read_bytes()
        except OSError as exc:
            out.append((("proxy", "upstream_ca_file"), f"cannot read {proxy.upstream_ca_file}: {exc.strerror}"))
        else:
            if b"-----BEGIN CERTIFICATE-----" not in pem:
                out.append((("proxy", "upstream_ca_file"), f"{proxy.upstream_ca_file} holds no PEM certificate"))
    inspected = [s.id for s in cfg.catalogue().services.values() if s.inspect and s.status == "allowed"]
    if inspected:
        from gateway.proxy.ca import ca_problem

        problem = ca_problem(proxy.ca_dir)
        if problem:
            out.append((("proxy", "ca_dir"), f"{problem}; services {', '.join(inspected)} are inspected "
                                             "(create the CA with: gardefou ca init --config FILE)"))
    return out


def _spacy_model_installed(name: str) -> bool:
    if Path(name).is_dir():  # spacy.load also takes a directory
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def parse_config(text: str, source: str = "<config>", *, environ: Mapping[str, str] | None = None) -> Config:
    """Validate a configuration text. With ``environ`` (``serve`` and ``check-config`` pass
    ``os.environ``), also check what it needs from this machine (``environment_problems``)."""
    try:
        data = yaml.safe_load(text)
        tree = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{source}:{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: line 1: the configuration must be a mapping of keys")
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_report(source, tree, [(tuple(e["loc"]), _message(e)) for e in exc.errors()])) from None
    except ConfigProblems as exc:
        raise ConfigError(_report(source, tree, exc.problems)) from None
    problems = environment_problems(cfg, environ) if environ is not None else []
    if problems:
        raise ConfigError(_report(source, tree, problems))
    return cfg


def _report(source: str, tree: yaml.Node | None, problems: list[tuple[tuple, str]]) -> str:
    """One line per problem, ``SOURCE: line N: KEY: MESSAGE``, in the order of the file."""
    lines = []
    for loc, msg in problems:
        key = ".".join(str(p) for p in loc) or "(root)"
        line = _line_of(tree, loc)
        where = f" line {line}:" if line is not None else ""
        lines.append((line or 0, f"{source}:{where} {key}: {msg}"))
    return "\n".join(msg for _, msg in sorted(lines, key=lambda x: x[0]))


def load_config(path: str | Path | None, *, environ: Mapping[str, str] | None = None) -> Config:
    """Load a configuration file, or the embedded defaults when ``path`` is None; ``environ`` as
    for ``parse_config``."""
    if path is None:
        cfg = Config()
        problems = environment_problems(cfg, environ) if environ is not None else []
        if problems:
            raise ConfigError(_report("(embedded configuration)", None, problems))
        return cfg
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None
    return parse_config(text, str(p), environ=environ)
