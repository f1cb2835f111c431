"""``mta-sts:promotion``: the evidence ``mtasts status`` and ``mtasts promote`` require, declared once.

:class:`PromotionRules` is both the declaration (each key's type, bounds, default and description, read by
:mod:`mtasts.config.fields` for the checks and by :mod:`mtasts.config.reference` for the docs) and the validated
value the fleet commands use (:mod:`mtasts.fleet.rules` explains which TLS-RPT failures count).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

from ..errors import Problem
from ..policy import MAX_AGE_LIMIT
from .fields import check_struct

__all__ = ["DEFAULTS", "PromotionRules", "check_promotion"]

DAY = 86_400
_DAYS = Meta(ge=1, le=400, extra={"invalid": "{value} is not between {ge} and {le}"})


class PromotionRules(Struct, frozen=True, forbid_unknown_fields=True):
    """The validated ``mta-sts:promotion`` setting, declared once: each key's type, bounds and default.

    The checks and their messages come from this declaration (:mod:`mtasts.config.fields`); the rules between keys
    (ascending ladder, ``min_report_days`` within ``window_days``) are :func:`_cross_problems`.
    """

    window_days: Annotated[int, _DAYS, Meta(description="days of TLS-RPT reports read, ending at --as-of")] = 30
    """Days of TLS-RPT reports read, ending at ``--as-of`` (``--days`` overrides it)."""
    min_report_days: Annotated[
        int, _DAYS, Meta(description="to enforce: at least this many UTC days with reports in the window")
    ] = 14
    """To enforce: at least this many UTC days with reports in the window."""
    min_sessions: Annotated[
        int,
        Meta(
            ge=0,
            le=10**12,
            description="to enforce: at least this many reported sessions in the window",
            extra={"invalid": "{value} is not between {ge} and {le}"},
        ),
    ] = 100
    """To enforce: at least this many reported sessions (successful + failed) in the window."""
    max_failure_rate: Annotated[
        float,
        Meta(
            ge=0,
            le=1,
            description="to enforce: at most this fraction of sessions failed for a reason enforce refuses",
            extra={"expected": "expected a fraction from 0 to 1", "range": True},
        ),
    ] = 0.001
    """To enforce: at most this fraction of sessions failed for a reason enforce turns into failed mail
    (:data:`ENFORCE_FAILURES`); the same limit applies to policy failures (:data:`POLICY_FAILURES`)."""
    ladder: Annotated[
        tuple[
            Annotated[int, Meta(ge=1, le=MAX_AGE_LIMIT, extra={"invalid": "{value} is not between {ge} and {le}"})],
            ...,
        ],
        Meta(
            min_length=1,
            description="max_age steps of an enforcing domain, ascending (RFC 8461 §3.2)",
            extra={"expected": "expected a non-empty list of max_age seconds"},
        ),
    ] = (DAY, 7 * DAY, 30 * DAY, MAX_AGE_LIMIT)
    """``max_age`` steps of an enforcing domain, ascending; the first is used when enforce is switched on
    (RFC 8461 §3.2: "weeks or greater" is the goal, the top step)."""
    clean_days: Annotated[
        int, _DAYS, Meta(description="up one ladder step: days with reports and no enforce failure")
    ] = 7
    """Up one ladder step: at least this many days with reports and no enforce failure since the last failure."""
    require_starttls: Annotated[
        bool, Meta(description="to enforce: every live MX answered STARTTLS with a valid certificate")
    ] = True
    """To enforce: every live MX answered STARTTLS with a certificate valid for its name (when checked live)."""

    def next_max_age(self, current: int) -> int | None:
        """The ladder step above ``current``, or ``None`` at (or above) the top."""
        for step in self.ladder:
            if step > current:
                return step
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the effective rules, defaults applied)."""
        return {**msgspec.structs.asdict(self), "ladder": list(self.ladder)}


DEFAULTS = PromotionRules()


def _ladder_problems(ladder: tuple[int, ...], path: str) -> list[Problem]:
    """A ladder climbs: each ``max_age`` step above the one before (RFC 8461 §3.2, "weeks or greater" on top)."""
    steps = list(ladder)
    if any(b <= a for a, b in itertools.pairwise(steps)):
        return [Problem(f"{path}.ladder", f"steps must be strictly ascending, got {steps} (RFC 8461 §3.2 max_age)")]
    return []


def _window_problems(rules: dict[str, Any], path: str) -> list[Problem]:
    """The days with reports required to enforce fit in the window of days read."""
    days, window = rules.get("min_report_days"), rules.get("window_days", DEFAULTS.window_days)
    if days is not None and days > window:
        return [Problem(f"{path}.min_report_days", f"{days} days cannot fit a window of {window} days (window_days)")]
    return []


def check_promotion(value: object, path: str, problems: list[Problem]) -> PromotionRules | None:
    """``mta-sts:promotion`` checked against :class:`PromotionRules`: the rules, or ``None`` with problems appended."""
    if value is None:
        return DEFAULTS
    if not isinstance(value, Mapping):
        problems.append(Problem(path, f"expected a mapping of rules, got {type(value).__name__}"))
        return None
    start = len(problems)
    rules = check_struct(PromotionRules, value, lambda key: f"{path}.{key}", problems)
    if "ladder" in rules:
        problems.extend(_ladder_problems(rules["ladder"], path))
    if len(problems) == start:
        problems.extend(_window_problems(rules, path))
    return PromotionRules(**rules) if len(problems) == start else None
