"""SIREN (9 digits) and SIRET (14 digits), validated by python-stdnum.

A company number is not personal data unless the company is a natural person (sole trader,
"auto-entrepreneur", liberal practitioner). So they are only reported when such a context is near,
or always when the ``siren`` option is ``"always"``.
"""

from __future__ import annotations

import re

from stdnum.fr import siren, siret

from detectors.context import BaseRecognizer, ScanContext

_PERSON_CONTEXT = re.compile(
    r"entrepreneur|entreprise individuelle|\bei\b|\beirl\b|micro-?entreprise|lib[ée]ral|"
    r"profession lib|\bm\.|\bmme\b|monsieur|madame|n[ée]e? le|infirmi[eè]re?|kin[ée]sith|m[ée]decin|"
    r"praticien|artisan|commer[çc]ant|freelance|ind[ée]pendant"
)


class SirenRecognizer(BaseRecognizer):
    name = "siren"

    def __init__(self, always: bool = False):
        self.always = always

    def analyze_ctx(self, ctx: ScanContext):
        out = []
        if not self.always and not _PERSON_CONTEXT.search(ctx.lower):
            return out
        for run in ctx.digit_runs:
            n = len(run.digits)
            if n < 9:
                continue
            for length, validator, type_ in ((14, siret, "FR_SIRET"), (9, siren, "FR_SIREN")):
                if n < length:
                    continue
                for i, j in run.windows(length):
                    value = run.digits[i:j]
                    if not validator.is_valid(value):
                        continue
                    s, e = run.span(i, j)
                    if self.always or _PERSON_CONTEXT.search(ctx.window(s, e, 120, 60)):
                        out.append(ctx.finding(type_, "personal", s, e, 0.8, self.name))
        return out
