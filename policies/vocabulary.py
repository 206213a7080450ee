"""The categories vocabulary, defined once for the detectors, the policy, the configuration and the audit.

A detector finding carries one of the four sensitive ``CATEGORIES``; ``uninspectable`` is added by the
gateway for content it cannot read (images, audio, files). A category outside this vocabulary would be
picked up by no rule, so every place that names one (a dictionary term's ``category``, a service's
``accepts``) is typed with these literals and checked when the configuration is loaded.
"""

from __future__ import annotations

from typing import Literal, get_args

#: A sensitive category a detector can report.
Category = Literal["personal", "health", "confidential", "secret"]

#: Sensitive categories, in the order used in messages.
CATEGORIES: tuple[str, ...] = get_args(Category)

#: Content the gateway cannot inspect (image, audio, file).
UNINSPECTABLE = "uninspectable"

#: What a service may be allowed to receive (``accepts``) and what an audit record may list.
AuditCategory = Literal[Category, "uninspectable"]
AUDIT_CATEGORIES: tuple[str, ...] = (*CATEGORIES, UNINSPECTABLE)
