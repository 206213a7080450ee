"""SIREN (9 digits) and SIRET (14 digits), validated by python-stdnum.

A company number is not personal data unless the company is a natural person (sole trader,
"auto-entrepreneur", liberal practitioner). So they are only reported when such a context is near,
or always when the ``siren`` option is ``"always"``.
"""

from __future__ import annotations

import re

from stdnum.fr import siren, siret

from detectors.recognizer import NumberRecognizer

_PERSON_CONTEXT = re.compile(
    r"entrepreneur|entreprise individuelle|\bei\b|\beirl\b|micro-?entreprise|lib[ée]ral|"
    r"profession lib|\bm\.|\bmme\b|monsieur|madame|n[ée]e? le|infirmi[eè]re?|kin[ée]sith|m[ée]decin|"
    r"praticien|artisan|commer[çc]ant|freelance|ind[ée]pendant"
)


class SirenRecognizer(NumberRecognizer):
    name = "siren"
    entity = {14: "FR_SIRET", 9: "FR_SIREN"}  # SIRET first (the scanner drops the SIREN inside it)
    score, context_score = None, 0.8
    context, context_before, context_after = _PERSON_CONTEXT, 120, 60

    def __init__(self, always: bool = False):
        self.always = always
        if always:
            self.score = 0.8
        super().__init__()

    def validate(self, digits: str) -> bool:
        return (siret if len(digits) == 14 else siren).is_valid(digits)
