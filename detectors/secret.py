"""Secrets: API keys and tokens of common providers, private keys, connection strings with
credentials, and passwords given in context ("mot de passe : ...", ``password = "..."``).

Code that merely *handles* secrets (``password = os.environ["DB_PASSWORD"]``, ``def login(password)``)
is not reported: an unquoted identifier, a function call, a URL or a placeholder is not a secret.

Speed: a pyahocorasick gate finds the literal prefixes / keywords first; a provider pattern only
runs when its prefix is present, and password patterns are matched from each keyword position.
"""

from __future__ import annotations

import re

from detectors.base import Finding
from detectors.context import KeywordGate, ScanContext
from detectors.recognizer import BaseRecognizer

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
    ("deepl_key", [":fx"], r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:fx\b"),
    ("bitlocker_recovery", ["-"], r"(?<![\d-])\d{6}(?:-\d{6}){7}(?![\d-])"),
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
                "client_secret", "token", "secret_key", "auth_key", "authkey", "access_key", "private_key",
                "subscription_key", "x-api-key"]

# Keywords after which a password-shaped token, even several words later, is taken for the secret
# itself ("le mot de passe partagé du secrétariat, c'est maintenant Urg3nces_Sec_2025").
_NEAR_KEYS = _PROSE_KEYS + ["wifi", "wi-fi", "wpa", "passe", "login", "ssid", "clé wifi", "cle wifi", "compte commun",
                            "compte partagé", "compte partage", "shared account", "generic account", "compte générique"]
_NEAR_WINDOW = 120
_SHAPED = re.compile(r"(?<![\w@/.:<>\[{-])(?=[^\s]*\d)(?=[^\s]*[A-Za-z])[A-Za-z0-9_!@#$%&*?+.=-]{8,64}(?![\w@/>\]}])")
_SPECIAL = re.compile(r"[_!@#$%&*?+=.-]")
# A password by its shape alone: upper and lower case, a digit and a symbol ("Kiwi!Banane77",
# "Cadre2025$"), in a token that is no URL, address, path or template.
_STRONG = re.compile(r"(?<![\w@/.:<\[{$%-])(?=\S*[A-Z])(?=\S*[a-z])(?=\S*\d)(?=\S*[!@#$%&*?+=])[A-Za-z0-9!@#$%&*?+=._-]{8,40}(?![\w@/>\]}])")

# Physical access codes: a short code with digits a few words after its keyword ("le code de la porte
# de la pharmacie, c'est 4719B", "code alarme : 2580 puis #").
_CODE_KEYS = ["digicode", "code porte", "code de la porte", "code de porte", "code d'entrée", "code d'entree",
              "code alarme", "code de l'alarme", "code d'alarme", "code du coffre", "code coffre", "code du local",
              "code d'accès", "code d'acces", "code du portail", "code portail", "code pin", "code badge",
              "door code", "alarm code", "keypad code", "code wifi", "code wi-fi", "code secret", "code de la salle",
              # the PIN of a card: professional (CPS, e-CPS), badge or bank card
              "code porteur", "code de carte", "code de ma carte", "code de la carte", "code carte", "code cps",
              "pin cps", "pin de ma", "pin de la carte", "mon pin", "my pin", "pin code", "pin number",
              # the master or maintenance code of a device (automated drug cabinet, alarm panel, safe)
              "code maître", "code maitre", "code master", "master code", "code technicien", "code admin",
              "code administrateur", "code de maintenance", "code installateur", "admin code"]
_CODE_VALUE = re.compile(r"(?<![\w/.:-])(?=(?:[A-Za-z#*]*\d){3})(?:[0-9A-Za-z#*]{3,10}|\d(?: \d){3,7}(?: ?[#*])?)(?![\w/%€])")
# "le code qu'on m'a donné c'est 2207", "code : 4471": the generic word, with a value right after a
# copula or a colon (not "code postal", "code APE", "code CIM-10"...).
_GENERIC_CODE = re.compile(
    r"\bcode\b(?!\s+(?:postal|ape|naf|cim|uf|insee|article|produit|source|civil|p[ée]nal|du\s+travail|de\s+la\s+sant[ée]|"
    r"de\s+l'action|de\s+la\s+route|promo|couleur|barre|ccam|acte|erreur|retour|html|python|vba))"
    r"(?:[^.\n]{0,60}?(?:c'est|c’est|\bc\b|est|:|=)\s*(?P<v>\d{3,8}[A-Za-z]?[#*]?|\d(?: \d){3,7}(?: ?[#*])?)"
    r"|\s+(?P<w>\d(?: \d){3,7}(?: ?[#*])?|\d{3,8} ?[#*]))(?![\d/%€]|[,.]\d)",
    re.IGNORECASE,
)
_CODE_WINDOW = 70
# A device opened, unlocked or disarmed with a code, or a code next to what it opens ("l'alarme se
# coupe avec 8 2 0 5", "le téléphone se déverrouille avec le 1 9 0 8", "le portail s'ouvre avec le
# 1939#", "dans le coffre du bureau, code 2618"): four digits or more, spaced or not.
_DIGITS_CODE = r"(?P<v>\d(?:[ .-]?\d){3,7}(?:\s?[#*])?)(?![\d/%€]|[,.]\d|\s?(?:h\b|€|%|ans\b|kg|mg))"
_UNLOCKED_WITH = re.compile(
    r"\b(?:se\s+|s')?(?:d[ée]verrouill\w*|coupe|ouvre|d[ée]sactiv\w*|d[ée]sarm\w*|unlocks?|opens?|disarm\w*)\s+(?:avec|par|with)\s+"
    r"(?:le\s+|la\s+|un\s+|the\s+|code\s+)?" + _DIGITS_CODE, re.IGNORECASE)
_NEAR_LOCK = re.compile(
    r"\b(?:coffre|coffre-fort|cadenas|casier|bo[îi]tier|bo[îi]te\s+[àa]\s+cl[ée]s|digicode|badge|portail|armoire|serrure|alarme|"
    r"carte\s+bleue|carte\s+bancaire|"
    r"safe|padlock|locker|keypad|alarm)\b[^.\n]{0,60}?\b(?:code|pin|combinaison|combination)\s*(?:est\s+|:\s*|=\s*|c'est\s+|is\s+)?"
    + _DIGITS_CODE, re.IGNORECASE)
_UNLOCK_WORDS = ("verrouill", "coupe", "ouvre", "activ", "sarm", "unlock", "open", "disarm")
_LOCK_WORDS = ("coffre", "cadenas", "casier", "boîtier", "boitier", "boîte", "boite", "digicode", "badge", "portail",
               "armoire", "serrure", "alarme", "carte", "safe", "padlock", "locker", "keypad", "alarm")
# "admin / Ehpad@Rosiers": an account and a password-shaped value next to it
_ACCOUNT_PAIR = re.compile(r"\b(?:admin|root|administrat(?:or|eur)|user|utilisateur|login|support|superviseur)\s*[/|]\s*(?P<v>[^\s,;/|]{6,40})",
                           re.IGNORECASE)
_YEARLIKE = re.compile(r"(?:19|20)\d\d|\d{1,2}h\d{0,2}")

_TRIGGERS: dict[str, object] = {}
for _name, _lits, _ in _TOKENS:
    for _lit in _lits:
        _TRIGGERS.setdefault(_lit, ("token", _name))
_GATE = KeywordGate(
    {**{lit: key for lit, key in _TRIGGERS.items()}}
    | {k: ("prose", k) for k in _PROSE_KEYS}
    | {k: ("strict", k) for k in _STRICT_KEYS}
    | {k: ("near", k) for k in _NEAR_KEYS if k not in _PROSE_KEYS}
    | {k: ("code", k) for k in _CODE_KEYS if k not in _PROSE_KEYS}
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
    r"changeme|password|motdepasse|secret|token|xxx+|\d{1,4}|[a-z]+_?(?:password|pwd|secret|token|key)|"
    # blanks to fill in, the login template of a procedure, the documentation's "myPassword"
    r"[_.•\-]{2,}|pr[ée]nom[._-]?nom|nom[._-]?pr[ée]nom|first[._-]?(?:name)?[._-]?last(?:name)?|john[._-]?doe|jdoe|"
    r"(?-i:my[A-Z][a-z]+(?:[A-Z][a-z]+)*)",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(
    r"^(?:<|\[|\{|\?|:|os\.|env|getenv|process\.env|settings\.|config\.|self\.|request\.|input|"
    r"votre|your|mon_|my_|example|exemple|dummy|placeholder|redacted|masqu|cach|oubli|requis|obligatoire|"
    r"incorrect|invalide|expir|robuste|fort|faible|s[ée]curis|perdu|chang|modifi|r[ée]initialis|temporaire|"
    r"envoy|d[ée]fini|demand|saisi|valide|vide|trop|identique|diff[ée]rent|le |la |un |une |de )",
    re.IGNORECASE,
)
_IDENT = re.compile(r"^[A-Za-z_][\w.]*(?:\(.*)?$")
# Credentials published in providers' documentation as examples (AWS's ``...EXAMPLE`` keys, the jwt.io
# sample token, Stripe's documentation test key): quoting them leaks nothing.
_DOC_EXAMPLES = re.compile(
    r"(?:AKIA|ASIA)[0-9A-Z]{9}EXAMPLE|[A-Za-z0-9/+]{20,}EXAMPLEKEY|"
    r"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ\."
    r"SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c|sk_test_4eC39HqLyjWDarjtT1zdp7dc|sk_test_BQokikJOvBiI2HlWgH4olfQ2"
)
# A template left to fill in: "Password=<password>;", "${DB_PASSWORD}", "{{ secret }}".
_TEMPLATE = re.compile(r"=\s*(?:<[^>]*>|\$\{|\{\{|%\w+%)")
# A value left to fill in: "sk-...", "xxxx", "<...>", "…".
_ELLIPSIS = re.compile(r".*(?:\.\.\.|…|xxxx|XXXX|\*\*\*\*).*")


def _placeholder(v: str) -> bool:
    return bool(_PLACEHOLDER_FULL.fullmatch(v) or _PLACEHOLDER.match(v) or _ELLIPSIS.fullmatch(v))


#: The password part of the tokens that carry one (a connection string's, an ODBC string's).
_TOKEN_VALUE = {
    "connection_string": lambda t: t.split("://", 1)[1].rsplit("@", 1)[0].split(":", 1)[-1],
    "odbc_password": lambda t: t.split("=", 1)[1].strip().rstrip(";").strip(),
}


class SecretRecognizer(BaseRecognizer):
    name = "secret"

    def analyze_ctx(self, ctx: ScanContext):
        text = ctx.text
        low = ctx.lower
        out = []
        token_names: set[str] = set()
        key_hits = []
        near_hits: list[int] = []
        taken: list[tuple[int, int]] = []  # normalised spans already reported
        code_hits: list[int] = []
        for start, end, key in _GATE.hits(ctx):
            kind, value = key
            if kind == "token":
                lit = low[start:end]
                token_names.update(_TRIGGER_MULTI.get(lit, [value]))
            else:
                key_hits.append((start, end, kind))
                if kind == "prose" or kind == "near":
                    near_hits.append(end)
                if kind == "code" or (kind == "prose" and value in _CODE_KEYS):
                    code_hits.append(end)
        for name in token_names:
            for m in _TOKEN_RES[name].finditer(text):
                if _DOC_EXAMPLES.fullmatch(m.group()) or _ELLIPSIS.fullmatch(m.group()) or _TEMPLATE.search(m.group()):
                    continue
                if name in _TOKEN_VALUE and _placeholder(_TOKEN_VALUE[name](m.group())):
                    continue  # "postgresql://user:<password>@localhost", "Password=myPassword;"
                out.append(ctx.finding("SECRET", "secret", m.start(), m.end(), 0.95, f"{self.name}:{name}"))
                taken.append((m.start(), m.end()))
        done_until = -1
        def claim(start: int, end: int, score: float, how: str) -> bool:
            """Report a value unless a finding already starts there (normalised offsets)."""
            if any(a <= start < b for a, b in taken):
                return False
            taken.append((start, end))
            out.append(ctx.finding("SECRET", "secret", start, end, score, f"{self.name}:{how}"))
            return True

        for end in near_hits:
            for m in _SHAPED.finditer(text, end, min(len(text), end + _NEAR_WINDOW)):
                v = m.group().rstrip(".-")
                if not _password_shaped(v) or _PLACEHOLDER_FULL.fullmatch(v) or _PLACEHOLDER.match(v) or _ELLIPSIS.fullmatch(v):
                    continue
                if text.startswith("://", m.start() + len(v)):  # REDIS_URL=redis://...: a URL's scheme
                    continue
                claim(m.start(), m.start() + len(v), 0.75, "near")
                break
        if any(c in text for c in "!@#$%&*?+="):
            for m in _STRONG.finditer(text):
                v = m.group().rstrip(".-")
                if ("@" not in v and not v.startswith(("http", "www")) and not _STANDARD.fullmatch(v)
                        and "://" not in text[m.start():m.end() + 3]):  # DATABASE_URL=postgresql://...
                    claim(m.start(), m.start() + len(v), 0.75, "shape")
        if "code" in low:
            for m in _GENERIC_CODE.finditer(text):
                g = "v" if m.group("v") else "w"
                if not _YEARLIKE.fullmatch(m.group(g)):
                    claim(m.start(g), m.end(g), 0.75, "code")
        # each rule only when its words are there (a whole-text alternation costs ~0.2 ms per 500 words)
        rules = [rx for rx, words in ((_UNLOCKED_WITH, _UNLOCK_WORDS), (_NEAR_LOCK, _LOCK_WORDS)) if any(w in low for w in words)]
        for rx in rules:
            for m in rx.finditer(text):
                if not _YEARLIKE.fullmatch(m.group("v")):
                    claim(m.start("v"), m.end("v"), 0.8, "code")
        if "/" in text or "|" in text:
            for m in _ACCOUNT_PAIR.finditer(text):
                v = m.group("v").rstrip(".,;:!?)")
                email = "@" in v and "." in v.split("@", 1)[1]
                weak = len(v) >= 6 and any(c.isdigit() for c in v) and any(c.isalpha() for c in v) and not v.isdigit()
                if not email and not _placeholder(v) and (_password_shaped(v) or weak) and not _YEARLIKE.fullmatch(v):
                    claim(m.start("v"), m.start("v") + len(v), 0.8, "account")
        for end in code_hits:
            for m in _CODE_VALUE.finditer(text, end, min(len(text), end + _CODE_WINDOW)):
                if not _YEARLIKE.fullmatch(m.group()) and claim(m.start(), m.end(), 0.8, "code"):
                    break
        for start, end, kind in sorted(key_hits):
            if kind in ("near", "code"):
                continue
            if start < done_until:
                continue
            # Word boundaries: "pass" in "passage" is not a key; "db_password" is.
            if end < len(low) and (low[end].isalnum()):
                continue
            if start > 0 and low[start - 1].isalnum():
                continue
            after = (_PROSE_AFTER if kind == "prose" else _STRICT_AFTER).match(text, end)
            if not after:
                continue
            m = after
            v = m.group("v")
            quoted = bool(m.group("q"))
            if _PLACEHOLDER_FULL.fullmatch(v) or _PLACEHOLDER.match(v) or _ELLIPSIS.fullmatch(v) or _DOC_EXAMPLES.fullmatch(v):
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
        return _outermost(out)


def _outermost(findings: list[Finding]) -> list[Finding]:
    """One finding per value: a value found by two rules from the same offset ("4589" and "4589A#") is
    reported once, whole."""
    out: list[Finding] = []
    for f in findings:
        if any(g.start == f.start and g.end > f.end for g in findings):
            continue
        if any(g.start == f.start and g.end == f.end for g in out):  # the same value by two rules
            continue
        out.append(f)
    return out


# A standard's or a protocol's name: WPA2-Entreprise, WPA3-Enterprise?, PEAP-MSCHAPv2, EAP-TLS
_STANDARD = re.compile(r"[A-Z]{2,6}\d{0,2}-[A-Za-zÀ-ÿ]+[?!,;:)]?|[A-Z]{2,}(?:-[A-Z0-9]{2,})+(?:v\d+)?[?!,;:)]?")


def _password_shaped(v: str) -> bool:
    """Letters and digits, and mixed case or a symbol; 10 characters or a symbol for short ones; not
    a date, a version, a reference, a host name or a dotted code name (``psycopg2.OperationalError``)."""
    if re.fullmatch(r"[\d.:/-]+|v?\d+(?:\.\d+)+|[A-Z]{2,5}-?\d+|\d+[a-z]{1,3}", v) or v.count(".") >= 2:
        return False
    if re.fullmatch(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+", v) or re.search(r"(?:Error|Exception|Warning)$", v):
        return False
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\d+", v):  # a setting and its number: DB_PORT=5432, rounds=12
        return False
    if re.fullmatch(r"\d{1,2}[hH]\d{0,2}(?:-\d{1,2}[hH]\d{0,2})*", v):  # clock times: 20h45-7h15
        return False
    if _STANDARD.fullmatch(v):
        return False
    mixed = any(c.isupper() for c in v) and any(c.islower() for c in v)
    special = bool(_SPECIAL.search(v))
    return (mixed or special) and (len(v) >= 10 or special)
