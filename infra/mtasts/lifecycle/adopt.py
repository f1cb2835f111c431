"""What ``adopt`` can and cannot do, said before ``pulumi up`` finds out.

``adopt`` imports existing Route53 records with Pulumi's ``import`` resource option. Pulumi imports a resource
only when the desired inputs equal what exists; on any difference the import, and with it ``pulumi up``, fails
("inputs to import do not match the existing resource"). So adopting works only for a record that already
holds exactly the planned value and TTL. For ``mta-sts`` (A and AAAA aliases of the stack's CloudFront
distribution) that is never the case before the stack's first deployment, since the distribution does not exist
yet.

:func:`adopt_warnings` says so offline, for every adopted record; :func:`live_adopt_warnings` (``mtasts plan
--preflight``) reads the live TXT values through DNS and names the field that differs.
"""

from __future__ import annotations

from typing import Any

from ..errors import Problem, brief
from ..plan import DomainPlan, StackPlan

__all__ = ["adopt_warnings", "live_adopt_warnings"]

_TXT_LABELS = {"_mta-sts": "_mta-sts", "_smtp._tls": "_smtp._tls"}


def _planned_txt(plan: DomainPlan, label: str) -> str | None:
    for record in plan.records:
        if record.name == f"{label}.{plan.domain}":
            return record.value
    return None


def adopt_warnings(plan: DomainPlan) -> list[Problem]:
    """Offline: what each adopted record must already look like for the import to succeed."""
    where = f"domains.{plan.config.key}.adopt"
    warnings: list[Problem] = []
    for label in plan.config.adopt:
        name = f"{label}.{plan.domain}"
        if label == "mta-sts":
            warnings.append(
                Problem(
                    where,
                    f"{name} A/AAAA can be imported only if they already alias this stack's CloudFront distribution, "
                    "which does not exist before its first deployment: pulumi up would fail. Use allow_overwrite: "
                    "true to replace them, or deploy first without adopting mta-sts",
                )
            )
            continue
        value = _planned_txt(plan, label)
        if value is None:
            warnings.append(
                Problem(where, f"{name}: the plan publishes no such record (no rua?), so there is nothing to import")
            )
            continue
        warnings.append(
            Problem(
                where,
                f"{name} is imported only if the live record already equals the plan exactly (value "
                f"{brief(value, 100)}, TTL {plan.config.ttl}); on any difference pulumi up fails. "
                "`mtasts plan --preflight` compares the live value",
            )
        )
    return warnings


def live_adopt_warnings(plan: StackPlan, net: Any) -> list[Problem]:
    """With DNS: one warning per adopted TXT record whose live value differs from the plan, naming the field.

    ``net`` is a :class:`mtasts.checker.net.Network`. The TTL cannot be compared through a caching resolver (it
    counts down), so only the value is; a lookup failure is a warning too, never silence.
    """
    warnings: list[Problem] = []
    for d in plan.domains:
        where = f"domains.{d.config.key}.adopt"
        for label in d.config.adopt:
            planned = _planned_txt(d, label) if label in _TXT_LABELS else None
            if planned is None:
                continue
            name = f"{label}.{d.domain}"
            try:
                values, _ = net.txt(name)
            except Exception as exc:  # any resolver failure is reported, not raised
                warnings.append(
                    Problem(where, f"{name}: cannot read the live record to compare ({type(exc).__name__})")
                )
                continue
            if not values:
                warnings.append(
                    Problem(where, f"{name}: no live TXT record to import; pulumi up would fail. Remove it from adopt")
                )
            elif len(values) > 1:
                warnings.append(
                    Problem(
                        where,
                        f"{name}: {len(values)} live TXT values, the plan has one (field: value); the import would "
                        "fail. Remove the extra values first, or use allow_overwrite: true",
                    )
                )
            elif values[0] != planned:
                warnings.append(
                    Problem(
                        where,
                        f"{name}: the live value {brief(values[0], 100)} differs from the planned "
                        f"{brief(planned, 100)} (field: value); the import would fail. Set the live record to the "
                        "planned value first, or use allow_overwrite: true",
                    )
                )
    return warnings
