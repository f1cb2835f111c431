"""Promotion rules: when a domain may move from ``testing`` to ``enforce`` and up the ``max_age`` ladder.

The rules are data, in the stack file under ``mta-sts:promotion``; every key is optional and defaults to
:data:`DEFAULTS`. They are declared and validated with the rest of the stack in :mod:`mtasts.config.promotion`
(``mtasts plan`` and ``pulumi up`` refuse a bad key); this module says which failures count.

Which TLS-RPT failures count (RFC 8460 §4.3 result types, RFC 8461 §5)
-----------------------------------------------------------------------
In ``enforce`` mode "sending MTAs MUST NOT deliver the message to hosts that fail MX matching or certificate
validation or that do not support STARTTLS" (RFC 8461 §5). A session that failed in testing mode for one of those
reasons is a message that would not have been delivered under enforce. RFC 8460 §4.3 names them:

* ``starttls-not-supported`` (§4.3.1): the MX does not offer STARTTLS;
* ``certificate-host-mismatch``, ``certificate-expired``, ``certificate-not-trusted`` (§4.3.1): certificate
  validation fails (the MX matching of RFC 8461 §4.1 is reported as a host mismatch);
* ``validation-failure`` (§4.3.3): a validation failure of another kind; counted, as enforce refuses it too.

Not counted: the policy failures ``sts-policy-fetch-error``, ``sts-policy-invalid``, ``sts-webpki-invalid``
(§4.3.2) mean the sender had no valid policy, so it applies none and delivers as before (RFC 8461 §5.1): they do
not turn into failed mail, but they do mean enforce would not protect those senders, so they are shown and a
rate above the limit holds promotion. The DANE types (``tlsa-invalid``, ``dnssec-invalid``, ``dane-required``)
belong to TLSA policies, not to MTA-STS.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..config.promotion import DEFAULTS, PromotionRules, check_promotion
from ..errors import ConfigError, Problem

__all__ = [
    "DEFAULTS",
    "ENFORCE_FAILURES",
    "POLICY_FAILURES",
    "PromotionRules",
    "check_promotion",
    "rules_from_settings",
]

#: RFC 8460 §4.3 result types that enforce turns into failed deliveries (RFC 8461 §5); see the module docstring.
ENFORCE_FAILURES = frozenset(
    {
        "starttls-not-supported",
        "certificate-host-mismatch",
        "certificate-expired",
        "certificate-not-trusted",
        "validation-failure",
    }
)
#: RFC 8460 §4.3.2 policy failures: the sender had no usable policy, so enforce would not apply to it.
POLICY_FAILURES = frozenset({"sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid"})


def rules_from_settings(settings: Mapping[str, object]) -> PromotionRules:
    """The rules of a planned stack (``StackConfig.settings``); defaults when the stack sets none."""
    value = settings.get("promotion")
    if isinstance(value, PromotionRules):
        return value
    problems: list[Problem] = []
    rules = check_promotion(value, "mta-sts:promotion", problems)
    if rules is None:
        raise ConfigError(problems)
    return rules
