"""What ``adopt`` can and cannot do, said before ``pulumi up`` finds out.

``adopt`` imports existing Route53 records with Pulumi's ``import`` resource option. Pulumi imports a resource
only when the desired inputs equal what exists; on any difference the import, and with it ``pulumi up``, fails
("inputs to import do not match the existing resource"). So adopting works only for a record that already
holds exactly the planned value and TTL. For ``mta-sts`` (A and AAAA aliases of the stack's CloudFront
distribution) that is never the case before the stack's first deployment, since the distribution does not exist
yet.

:func:`mtasts.plan.adopt_warnings` says so offline, for every adopted record, as part of the plan (re-exported
here); :func:`live_adopt_warnings` (``mtasts plan --preflight``) reads the live TXT values through DNS and names
the field that differs.
"""

from __future__ import annotations

from typing import Any

from ..errors import Problem, brief
from ..plan import StackPlan, adopt_warnings, planned_txt

__all__ = ["adopt_warnings", "live_adopt_warnings"]

_TXT_LABELS = {"_mta-sts": "_mta-sts", "_smtp._tls": "_smtp._tls"}


def live_adopt_warnings(plan: StackPlan, net: Any) -> list[Problem]:
    """With DNS: one warning per adopted TXT record whose live value differs from the plan, naming the field.

    ``net`` is a :class:`mtasts.checker.net.Network`. The TTL cannot be compared through a caching resolver (it
    counts down), so only the value is; a lookup failure is a warning too, never silence.
    """
    warnings: list[Problem] = []
    for d in plan.domains:
        where = f"domains.{d.config.key}.adopt"
        for label in d.config.adopt:
            planned = planned_txt(d, label) if label in _TXT_LABELS else None
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
