"""Configuration: a YAML file validated by pydantic, with errors that name the key and the line."""

from __future__ import annotations

import difflib
import hashlib
import typing
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from detectors.scanner import DetectorOptions
from policies.catalogue import Catalogue, merge_services
from policies.decision import Policy
from policies.vocabulary import AuditCategory


class ConfigError(Exception):
    """A configuration that must not start a gateway. The message names the key and the line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Listen(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)


class AdminListen(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8081, ge=0, le=65535)


class AuditConfig(_Strict):
    url: str = "sqlite:///./gardefou-audit.db"
    retention_days: int = Field(365, ge=1)
    #: Name of the environment variable holding the HMAC key for value fingerprints (off when unset).
    fingerprint_key_env: str | None = None


class PolicyConfig(_Strict):
    warn_mode: Literal["forward", "require_ack"] = "forward"
    uninspectable: Literal["block", "allow"] = "block"

    def to_policy(self) -> Policy:
        return Policy(warn_mode=self.warn_mode, uninspectable=self.uninspectable)


class ClientEntry(_Strict):
    id: str
    department: str | None = None
    key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class AuthConfig(_Strict):
    mode: Literal["none", "api_key"] = "none"
    clients: list[ClientEntry] = []


class AdminUser(_Strict):
    id: str
    role: Literal["dpo", "rssi", "admin"]
    token_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Limits(_Strict):
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    upstream_connect_timeout_s: float = Field(10.0, gt=0)
    upstream_timeout_s: float = Field(120.0, gt=0)


class ServiceEntry(_Strict):
    """A configured service: every field but ``id`` is optional and merged over the built-in entry."""

    id: str
    name: str | None = None
    api: Literal["openai", "anthropic"] | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    hosts: list[str] | None = None
    hosting: Literal["eu", "non-eu", "internal"] | None = None
    trains_on_inputs: bool | None = None
    nominative_account: bool | None = None
    accepts: list[AuditCategory] | None = None
    status: Literal["allowed", "denied"] | None = None
    models: list[str] | None = None


class Config(_Strict):
    listen: Listen = Listen()
    admin: AdminListen = AdminListen()
    audit: AuditConfig = AuditConfig()
    services: list[ServiceEntry] = []
    aliases: dict[str, str] = {}
    policy: PolicyConfig = PolicyConfig()
    auth: AuthConfig = AuthConfig()
    admins: list[AdminUser] = []
    limits: Limits = Limits()
    detectors: DetectorOptions = DetectorOptions()

    @field_validator("aliases")
    @classmethod
    def _aliases_have_service(cls, v: dict[str, str]) -> dict[str, str]:
        for alias, target in v.items():
            if "/" not in target:
                raise ValueError(f"alias {alias!r} must point to 'SERVICE_ID/MODEL', got {target!r}")
        return v

    def catalogue(self) -> Catalogue:
        overrides = [s.model_dump(exclude_none=True) for s in self.services]
        for entry in overrides:
            for key in ("hosts", "accepts", "models"):
                if key in entry:
                    entry[key] = tuple(entry[key])
        services = merge_services(overrides)
        return Catalogue(services, self.aliases)


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


def _message(err: dict) -> str:
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


def parse_config(text: str, source: str = "<config>") -> Config:
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
        lines = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"])
            key = ".".join(str(p) for p in loc) or "(root)"
            line = _line_of(tree, loc)
            lines.append((line or 0, f"{source}: line {line}: {key}: {_message(err)}"))
        raise ConfigError("\n".join(msg for _, msg in sorted(lines, key=lambda x: x[0]))) from None
    try:
        cfg.catalogue()
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"{source}: services: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    return cfg


def load_config(path: str | Path | None) -> Config:
    """Load a configuration file, or the embedded defaults when ``path`` is None."""
    if path is None:
        return Config()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None
    return parse_config(text, str(p))
