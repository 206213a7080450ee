"""Secrets: API keys and tokens of common providers, private keys, connection strings with
credentials, and passwords given in context ("mot de passe : ...", ``password = "..."``).

Code that merely *handles* secrets (``password = os.environ["DB_PASSWORD"]``, ``def login(password)``)
is not reported: an unquoted identifier, a function call, a URL or a placeholder is not a secret.

Speed: a pyahocorasick gate finds the literal prefixes / keywords first; a provider pattern only
runs when its prefix is present, and password patterns are matched from each keyword position.
"""

from __future__ import annotations

import re

from detectors.context import BaseRecognizer, KeywordGate, ScanContext

# (name, literal triggers, pattern) - provider token formats.
_TOKENS = [
    ("aws_access_key", ["akia", "asia", "agpa", "aida", "aroa", "anpa", "aipa"], r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|AIPA)[0-9A-Z]{16}\b"),
    ("github_token", ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"], r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b"),
    ("github_pat", ["github_pat_"], r"\bgithub_pat_[A-Za-z0-9_]{60,255}\b"),
    ("gitlab_token", ["glpat-", "gldt-", "glrt-", "glptt-", "glcbt-"], r"\bgl(?:pat|dt|rt|ptt|cbt)-[A-Za-z0-9_\-]{20,}\b"),
    ("slack_token", ["xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-"], r"\bxox[abposr]-[A-Za-z0-9\-]{10,}\b"),
    ("slack_webhook", ["hooks.slack.com"], r"https://hooks\.slack\.com/services/[A-Za-z0-9/_\-]{20,}"),
    ("anthropic_key", ["sk-ant-"], r"\bsk-ant-[A-Za-z0-9_\-]{20,}"),
    ("openai_key", ["sk-"], r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),
    ("google_api_key", ["aiza"], r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    ("google_oauth", ["ya29."], r"\bya29\.[0-9A-Za-z_\-]{20,}"),
    ("stripe_key", ["sk_live", "sk_test", "rk_live", "rk_test", "pk_live", "pk_test"], r"\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,}\b"),
    ("huggingface_token", ["hf_"], r"\bhf_[A-Za-z0-9]{30,}\b"),
    ("bearer_token", ["bearer"], r"\b[Bb]earer\s+(?!\$\{)[A-Za-z0-9_\-\.=+/]{20,}"),
    ("jwt", ["eyj"], r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
    ("azure_key", ["accountkey", "sharedaccesskey", "sharedaccesssignature"], r"(?:AccountKey|SharedAccessKey|SharedAccessSignature)\s*=\s*[A-Za-z0-9+/=%]{20,}"),
    ("sendgrid_key", ["sg."], r"\bSG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}"),
    ("npm_token", ["npm_"], r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("private_key", ["-----begin"], r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----"),
    ("connection_string", ["://"], r"\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|sqlserver|oracle|ldaps?|ftp|sftp|smtps?|imaps?)://[^\s:@/]+:[^\s@/]+@[^\s/]+"),
    ("odbc_password", ["password=", "pwd=", "password =", "pwd ="], r"(?i:password|pwd)\s*=\s*[^;\s'\"]{4,}\s*;"),
]
_TOKEN_RES = {name: re.compile(p) for name, _, p in _TOKENS}

# Keywords that may be followed by a few words before the value ("mot de passe du compte admin : ...").
_PROSE_KEYS = ["mot de passe", "mots de passe", "mdp", "password", "passwd", "passphrase", "code pin", "identifiant",
               "identifiants", "clé d'api", "cle d'api", "clé api", "code d'accès", "code d'acces", "digicode", "code porte",
               "code de la porte", "code wifi", "code wi-fi", "code secret"]
# Keywords that must be followed directly by the separator (``pwd=...``, ``api_key: ...``).
_STRICT_KEYS = ["pwd", "pass", "secret", "api_key", "api-key", "apikey", "access_token", "access-token", "auth_token",
                "client_secret", "token", "secret_key"]

_TRIGGERS: dict[str, object] = {}
for _name, _lits, _ in _TOKENS:
    for _lit in _lits:
        _TRIGGERS.setdefault(_lit, ("token", _name))
_GATE = KeywordGate(
    {**{lit: key for lit, key in _TRIGGERS.items()}}
    | {k: ("prose", k) for k in _PROSE_KEYS}
    | {k: ("strict", k) for k in _STRICT_KEYS}
)
# Literal triggers can map to several token patterns (e.g. "sk-" and "sk-ant-"): keep a multimap.
_TRIGGER_MULTI: dict[str, list[str]] = {}
for _name, _lits, _ in _TOKENS:
    for _lit in _lits:
        _TRIGGER_MULTI.setdefault(_lit, []).append(_name)

_SEP_VALUE = r"[\"']?[ \t]*(?::=|=|:|=>|\best\b|\bis\b)[ \t]*(?P<q>[\"'`]?)(?P<v>[^\s\"'`,;)]{4,200})(?P=q)"
_PROSE_AFTER = re.compile(r"(?:[ \t]+(?!est\b|is\b)[\w'\-]+){0,6}?" + _SEP_VALUE, re.IGNORECASE)
_STRICT_AFTER = re.compile(_SEP_VALUE, re.IGNORECASE)

_PLACEHOLDER_FULL = re.compile(
    r"x+|\*+|\.+|<.*>|\{.*\}|\$.*|%.*%|none|null|nil|true|false|str|string|int|bytes|optional.*|"
    r"changeme|password|motdepasse|secret|token|xxx+|\d{1,4}|[a-z]+_?(?:password|pwd|secret|token|key)",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(
    r"^(?:<|\[|\{|os\.|env|getenv|process\.env|settings\.|config\.|self\.|request\.|input|"
    r"votre|your|mon_|my_|example|exemple|dummy|placeholder|redacted|masqu|cach|oubli|requis|obligatoire|"
    r"incorrect|invalide|expir|robuste|fort|faible|s[ée]curis|perdu|chang|modifi|r[ée]initialis|temporaire|"
    r"envoy|d[ée]fini|demand|saisi|valide|vide|trop|identique|diff[ée]rent|le |la |un |une |de )",
    re.IGNORECASE,
)
_IDENT = re.compile(r"^[A-Za-z_][\w.]*(?:\(.*)?$")


class SecretRecognizer(BaseRecognizer):
    name = "secret"

    def analyze_ctx(self, ctx: ScanContext):
        text = ctx.text
        low = ctx.lower
        out = []
        token_names: set[str] = set()
        key_hits = []
        for start, end, key in _GATE.hits(ctx):
            kind, value = key
            if kind == "token":
                lit = low[start:end]
                token_names.update(_TRIGGER_MULTI.get(lit, [value]))
            else:
                key_hits.append((start, end, kind))
        for name in token_names:
            for m in _TOKEN_RES[name].finditer(text):
                out.append(ctx.finding("SECRET", "secret", m.start(), m.end(), 0.95, f"{self.name}:{name}"))
        done_until = -1
        for start, end, kind in sorted(key_hits):
            if start < done_until:
                continue
            # Word boundaries: "pass" in "passage" is not a key; "db_password" is.
            if end < len(low) and (low[end].isalnum()):
                continue
            if start > 0 and low[start - 1].isalnum():
                continue
            m = (_PROSE_AFTER if kind == "prose" else _STRICT_AFTER).match(text, end)
            if not m:
                continue
            v = m.group("v")
            quoted = bool(m.group("q"))
            if _PLACEHOLDER_FULL.fullmatch(v) or _PLACEHOLDER.match(v):
                continue
            sep = text[m.start("v") - 3 : m.start("v")]
            if not quoted:
                if "=" in sep and _IDENT.match(v) and not re.search(r"\d", v):
                    continue  # code: ``password = user_input``
                if v.isalpha() and not (len(v) >= 8 and not v.islower() and not v.isupper() and not v.istitle()):
                    continue  # prose: "le mot de passe est robuste", "mot de passe oublié : comment..."
            if "(" in v or v.startswith("/") or "://" in v:
                continue
            done_until = m.end()
            out.append(ctx.finding("SECRET", "secret", m.start("v"), m.end("v"), 0.85, f"{self.name}:password"))
        return out
