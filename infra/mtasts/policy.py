"""The MTA-STS policy file (RFC 8461 §3.2): model, canonical rendering, strict parsing, id.

The same code renders what ``pulumi up`` publishes and parses what the live
checker fetches, so the two can never disagree about the format.

Grammar (RFC 8461 §3.2, RFC 7405 case-sensitive strings)::

    sts-policy-record  = sts-policy-field *WSP
                         *(sts-policy-term sts-policy-field *WSP)
                         [sts-policy-term]
    sts-policy-term    = LF / CRLF
    field-delim        = ":" *WSP
    version            = %s"version" field-delim %s"STSv1"
    mode               = %s"mode" field-delim (%s"testing" / %s"enforce" / %s"none")
    max_age            = %s"max_age" field-delim 1*10DIGIT   ; at most 31557600
    mx                 = %s"mx" field-delim ["*."] Domain
    extension          = ext-name field-delim ext-value
    ext-name           = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
    ext-value          = vchar [*(%x20 / vchar) vchar]       ; UTF-8, no CTLs,
                                                              ; no outer spaces
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Literal

from .errors import PolicyError, Problem
from .names import HostnameError, normalize_mx_pattern

__all__ = [
    "MAX_AGE_LIMIT",
    "MAX_POLICY_BYTES",
    "MODES",
    "POLICY_PATH",
    "ParsedPolicy",
    "Policy",
    "parse_policy",
    "policy_id",
    "policy_url",
]

Mode = Literal["enforce", "testing", "none"]
MODES: tuple[Mode, ...] = ("enforce", "testing", "none")
#: Largest max_age a policy may carry, one year in seconds (RFC 8461 §3.2).
MAX_AGE_LIMIT = 31_557_600
#: Largest policy body the kit publishes or reads. RFC 8461 §3.3 has senders
#: bound what they read; 64 KiB is the cap real senders apply
#: (postfix-mta-sts-resolver's HARD_RESP_LIMIT, Google Workspace's documented maximum).
MAX_POLICY_BYTES = 64 * 1024
#: Where the policy is served on the ``mta-sts.`` host (RFC 8461 §3.3).
POLICY_PATH = "/.well-known/mta-sts.txt"
#: Length of the policy id; RFC 8461 §3.1 allows 1-32 letters and digits.
POLICY_ID_LENGTH = 32

_EXT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}\Z")
# sts-policy-vchar is %x21-7E or any UTF-8 multi-octet character; spaces
# only inside.
_EXT_VALUE = re.compile(r"[^\x00-\x20\x7f](?:[^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?\Z")
_MAX_AGE = re.compile(r"[0-9]{1,10}\Z")
_KNOWN = ("version", "mode", "max_age", "mx")


def policy_id(policy_bytes: bytes) -> str:
    """The policy id for the exact bytes that will be served.

    The first 32 hex digits of the SHA-256 of the body: letters and digits
    only, 32 characters (RFC 8461 §3.1 ``1*32(ALPHA / DIGIT)``), and it
    changes if and only if the served bytes change. No clock, no randomness,
    no state, so re-running a deployment with an unchanged policy is a
    no-op. Anyone can recompute it: ``sha256sum mta-sts.txt | cut -c1-32``.
    """
    return hashlib.sha256(policy_bytes).hexdigest()[:POLICY_ID_LENGTH]


def policy_url(domain: str) -> str:
    """Where senders fetch the policy of ``domain`` (RFC 8461 §3.3)."""
    return f"https://mta-sts.{domain}{POLICY_PATH}"


@dataclass(frozen=True)
class Policy:
    """One MTA-STS policy (RFC 8461 §3.2).

    Build it from validated values; :meth:`render` gives the canonical text
    that is served, :attr:`id` its policy id.
    """

    mode: Mode
    """``enforce``, ``testing`` or ``none``."""
    max_age: int
    """Seconds senders may cache the policy, 0 to 31557600."""
    mx: tuple[str, ...] = ()
    """MX patterns in A-label form, each a host name or ``*.`` + host name."""
    extensions: tuple[tuple[str, str], ...] = field(default=())
    """Extension fields, kept in order (RFC 8461 §3.2 ``sts-policy-extension``)."""

    def render(self) -> str:
        """Canonical policy text.

        ``version: STSv1`` first, then ``mode``, one ``mx`` line per pattern,
        ``max_age`` and the extensions; CRLF after every line (RFC 8461
        §3.2), no trailing white space.
        """
        lines = ["version: STSv1", f"mode: {self.mode}"]
        lines += [f"mx: {pattern}" for pattern in self.mx]
        lines.append(f"max_age: {self.max_age}")
        lines += [f"{name}: {value}" for name, value in self.extensions]
        return "".join(line + "\r\n" for line in lines)

    def to_bytes(self) -> bytes:
        """The exact bytes served at the policy URL (UTF-8)."""
        return self.render().encode("utf-8")

    @property
    def id(self) -> str:
        """The policy id of :meth:`to_bytes` (see :func:`policy_id`)."""
        return policy_id(self.to_bytes())


@dataclass(frozen=True)
class ParsedPolicy:
    """The result of :func:`parse_policy`: a policy, or the reasons there is none."""

    policy: Policy | None
    """The policy a sender would apply; ``None`` when there are errors."""
    errors: tuple[Problem, ...]
    """Each violation of RFC 8461 §3.2, located by line."""
    warnings: tuple[Problem, ...]
    """Things senders tolerate but a clean policy avoids (duplicates, blank lines, unknown fields)."""

    @property
    def ok(self) -> bool:
        """Whether the text is a valid policy."""
        return self.policy is not None

    def unwrap(self) -> Policy:
        """The policy, or :class:`PolicyError` with every error."""
        if self.policy is None:
            raise PolicyError(self.errors)
        return self.policy


def _split_lines(text: str) -> list[str]:
    # LF or CRLF ends a line (RFC 8461 §3.2 sts-policy-term); one final
    # terminator is optional.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def parse_policy(data: str | bytes) -> ParsedPolicy:
    """Strictly parse a policy text as RFC 8461 §3.2 defines it.

    Accepts LF or CRLF line ends. Every violation is reported with its line
    number; nothing is silently repaired. As §3.2 requires, unknown
    extension fields are ignored (but must be well-formed) and for a
    duplicated non-``mx`` field the first occurrence wins (reported as a
    warning). Empty lines, which the grammar does not allow but common
    senders skip, are warnings too.
    """
    errors: list[Problem] = []
    warnings: list[Problem] = []
    if isinstance(data, bytes):
        size = len(data)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return ParsedPolicy(None, (Problem(f"byte {exc.start}", "the policy is not valid UTF-8"),), ())
    else:
        text = data
        size = len(data.encode("utf-8", "surrogatepass"))
    if size > MAX_POLICY_BYTES:
        errors.append(Problem("policy", f"is {size} bytes; senders read at most {MAX_POLICY_BYTES} (RFC 8461 §3.3)"))
        return ParsedPolicy(None, tuple(errors), ())
    if not text:
        return ParsedPolicy(None, (Problem("policy", "is empty (RFC 8461 §3.2)"),), ())

    values: dict[str, tuple[int, str]] = {}
    mx: list[str] = []
    extensions: list[tuple[str, str]] = []
    for number, line in enumerate(_split_lines(text), start=1):
        where = f"line {number}"
        if "\r" in line:
            errors.append(Problem(where, "a CR that does not end a line (RFC 8461 §3.2 allows LF or CRLF)"))
            continue
        if line.strip(" \t") == "":
            warnings.append(Problem(where, "empty line; the RFC 8461 §3.2 grammar has none, most senders skip it"))
            continue
        name, colon, rest = line.partition(":")
        if not colon:
            errors.append(Problem(where, f"{line!r} is not a 'name: value' field (RFC 8461 §3.2)"))
            continue
        if name != name.strip(" \t") or not name:
            errors.append(Problem(where, "white space before the field name or before ':' (RFC 8461 §3.2)"))
            continue
        value = rest.strip(" \t")
        if name not in _KNOWN:
            if not _EXT_NAME.match(name):
                errors.append(Problem(where, f"{name!r} is not a valid field name (RFC 8461 §3.2)"))
            elif not _EXT_VALUE.match(value):
                errors.append(Problem(where, f"field {name!r} has an invalid value (RFC 8461 §3.2)"))
            else:
                warnings.append(Problem(where, f"unknown field {name!r} is ignored by senders (RFC 8461 §3.2)"))
                extensions.append((name, value))
            continue
        if name == "mx":
            try:
                mx.append(normalize_mx_pattern(value, strict_wildcard=False))
            except HostnameError as exc:
                errors.append(Problem(where, f"mx: {exc}"))
            else:
                if value != mx[-1]:
                    warnings.append(Problem(where, f"mx {value!r} is not in canonical form {mx[-1]!r}"))
            continue
        if name in values:
            first = values[name][0]
            warnings.append(
                Problem(where, f"duplicate {name!r}; senders use the first one, on line {first} (RFC 8461 §3.2)")
            )
            continue
        values[name] = (number, value)
        if name == "version" and value != "STSv1":
            errors.append(Problem(where, f"version {value!r} is not 'STSv1' (RFC 8461 §3.2)"))
        elif name == "mode" and value not in MODES:
            errors.append(
                Problem(where, f"mode {value!r} is not one of enforce, testing, none; case matters (RFC 8461 §3.2)")
            )
        elif name == "max_age":
            if not _MAX_AGE.match(value):
                errors.append(Problem(where, f"max_age {value!r} is not 1 to 10 digits (RFC 8461 §3.2)"))
            elif int(value) > MAX_AGE_LIMIT:
                errors.append(Problem(where, f"max_age {value} is above {MAX_AGE_LIMIT} (RFC 8461 §3.2)"))

    for required in ("version", "mode", "max_age"):
        if required not in values:
            errors.append(Problem("policy", f"the required field {required!r} is missing (RFC 8461 §3.2)"))
    if "version" in values and values["version"][0] != 1 and not errors:
        warnings.append(Problem(f"line {values['version'][0]}", "'version' is not the first line, as senders expect"))
    mode = values.get("mode", (0, ""))[1]
    if mode in ("enforce", "testing") and not mx:
        errors.append(Problem("policy", f"mode {mode} needs at least one 'mx' field (RFC 8461 §3.2)"))
    if errors:
        return ParsedPolicy(None, tuple(errors), tuple(warnings))
    policy = Policy(
        mode=mode,  # type: ignore[arg-type]  # checked against MODES above
        max_age=int(values["max_age"][1]),
        mx=tuple(mx),
        extensions=tuple(extensions),
    )
    return ParsedPolicy(policy, (), tuple(warnings))
