"""Typed exceptions of the kit.

The library raises these; the CLI (and the Pulumi program) turn them into one
line per problem and exit status 2, never a traceback.
"""

from __future__ import annotations

import reprlib
from collections.abc import Sequence
from dataclasses import dataclass

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 2, 4, 4, 60, 60


def brief(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut short for a message: hostile input can never make an error line long."""
    shown = _REPR.repr(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


@dataclass(frozen=True)
class Problem:
    """One problem in the input, located by a dotted path.

    ``path`` names where the problem is, e.g. ``domains.example.com.max_age``
    or ``line 3``; ``message`` says what is wrong and, where a rule comes from
    an RFC, cites it.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class MtastsError(Exception):
    """Base class of every error the kit raises on bad input."""

    def __init__(self, problems: Sequence[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        """One human-readable line per problem."""
        return [str(p) for p in self.problems]


class ConfigError(MtastsError):
    """The stack config or a policy template is missing, unreadable or invalid."""


class PolicyError(MtastsError):
    """A policy text does not follow RFC 8461 §3.2."""


class RecordError(MtastsError):
    """A DNS TXT record value does not follow RFC 8461 §3.1 or RFC 8460 §3."""
