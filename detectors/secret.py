"""Secrets: API keys and tokens of common providers, private keys, connection strings with
credentials, and passwords given in context ("mot de passe : ...", ``password = "..."``).

Code that merely *handles* secrets (``password = os.environ["DB_PASSWORD"]``, ``def login(password)``)
is not reported: an unquoted identifier, a function call or a placeholder is not a secret.
"""

from __future__ import annotations

import re

from detectors.context import BaseRecognizer, ScanContext

# (name, pattern) - provider token formats.
_TOKENS = [
    ("aws_access_key", r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|AIPA)[0-9A-Z]{16}\b"),
    ("github_token", r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b"),
    ("github_pat", r"\bgithub_pat_[A-Za-z0-9_]{60,255}\b"),
    ("gitlab_token", r"\bgl(?:pat|dt|rt|ptt|cbt)-[A-Za-z0-9_\-]{20,}\b"),
    ("slack_token", r"\bxox[abposr]-[A-Za-z0-9\-]{10,}\b"),
    ("slack_webhook", r"https://hooks\.slack\.com/services/[A-Za-z0-9/_\-]{20,}"),
    ("anthropic_key", r"\bsk-ant-[A-Za-z0-9_\-]{20,}"),
    ("openai_key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),
    ("google_api_key", r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    ("google_oauth", r"\bya29\.[0-9A-Za-z_\-]{20,}"),
    ("stripe_key", r"\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,}\b"),
    ("huggingface_token", r"\bhf_[A-Za-z0-9]{30,}\b"),
    ("mistral_like_bearer", r"\bBearer\s+[A-Za-z0-9_\-\.=]{20,}"),
    ("jwt", r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
    ("azure_key", r"(?:AccountKey|SharedAccessKey|SharedAccessSignature)\s*=\s*[A-Za-z0-9+/=%]{20,}"),
    ("twilio_key", r"\bSK[0-9a-f]{32}\b"),
    ("sendgrid_key", r"\bSG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}"),
    ("npm_token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("private_key", r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----"),
    ("connection_string", r"\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|sqlserver|oracle|ldaps?|ftp|sftp|smtps?|imaps?)://[^\s:@/]+:[^\s@/]+@[^\s/]+"),
    ("odbc_password", r"(?:password|pwd)\s*=\s*[^;\s'\"]{4,}\s*;"),
]
_TOKEN_RE = re.compile("|".join(f"(?P<{n}>{p})" for n, p in _TOKENS))

# Keys that may be followed by a few words before the value ("mot de passe du compte admin : ...").
_PW_KEY_PROSE = r"mot[ \t]+de[ \t]+passe|mdp|password|passwd|passphrase|code[ \t]+pin|identifiants?|cl[ée][ \t]+d'api"
# Keys that must be followed directly by the separator (``pwd=...``, ``api_key: ...``).
_PW_KEY_STRICT = (
    r"pwd|pass|secret|api[_\-]?key|apikey|access[_\-]?token|auth[_\-]?token|client[_\-]?secret|token|secret[_\-]?key"
)
_PW_ASSIGN = re.compile(
    r"(?i:(?:\b(?:[\w\-]*[_\-])?(?:" + _PW_KEY_PROSE + r")\b(?:[ \t]+(?!est\b|is\b)[\w'\-]+){0,4}?|"
    r"(?<![\w\-])(?:[\w\-]*[_\-])?(?:" + _PW_KEY_STRICT + r")\b))[\"']?[ \t]*(?::=|=|:|=>|\best\b|\bis\b)[ \t]*"
    r"(?P<q>[\"'`]?)(?P<v>[^\s\"'`,;)]{4,200})(?P=q)"
)
_PLACEHOLDER_FULL = re.compile(
    r"x+|\*+|\.+|<.*>|\{.*\}|\$.*|%.*%|none|null|nil|true|false|str|string|int|bytes|optional.*|"
    r"changeme|password|motdepasse|secret|token|xxx+|\d{1,4}|[a-z]+_?(?:password|pwd|secret|token|key)",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(
    r"^(?:os\.|env|getenv|process\.env|settings\.|config\.|self\.|request\.|input|changeme_placeholder|"
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
        out = []
        for m in _TOKEN_RE.finditer(text):
            out.append(ctx.finding("SECRET", "secret", m.start(), m.end(), 0.95, f"{self.name}:{m.lastgroup}"))
        for m in _PW_ASSIGN.finditer(text):
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
            out.append(ctx.finding("SECRET", "secret", m.start("v"), m.end("v"), 0.85, f"{self.name}:password"))
        return out
