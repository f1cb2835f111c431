"""Domain names and MX patterns: normalisation, validation and matching.

Every name the kit publishes or compares goes through here, so the config
reader, the policy parser, the live checker and the report reader agree on
what a valid host name is.

* Names are stored in A-label form (IDNA 2008 with UTS #46 mapping), lower
  case, without a trailing dot.
* Host names follow RFC 5321 §4.1.2 ``Domain``: LDH labels of 1-63 octets,
  no leading or trailing hyphen, at most 253 octets in all.
* MX patterns follow RFC 8461 §3.2 ``sts-policy-mx-value = ["*."] Domain``
  and match as RFC 8461 §4.1 says: a wildcard stands for exactly one
  left-most label.
"""

from __future__ import annotations

import re
import reprlib

import idna

_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxother = 60, 60


def _brief(value: object) -> str:
    """``repr`` of a name cut short, so a hostile value never makes a long message.

    Kept here rather than imported: the rua Lambda may ship this module alone.
    """
    return _REPR.repr(value)


__all__ = [
    "HostnameError",
    "mx_matches",
    "normalize_hostname",
    "normalize_mx_pattern",
    "to_unicode",
]

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
MAX_NAME_LENGTH = 253


class HostnameError(ValueError):
    """A host name or MX pattern is not valid; the message says why."""


def _to_ascii(name: str) -> str:
    if name.isascii():
        return name.lower()
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise HostnameError(f"{_brief(name)} is not a valid internationalised domain name ({exc})") from None


def normalize_hostname(name: object, *, fqdn: bool = True) -> str:
    """Return ``name`` as a lower-case A-label host name without a trailing dot.

    Unicode names are converted to punycode (``bücher.example`` becomes
    ``xn--bcher-kva.example``). With ``fqdn`` (the default) a name needs at
    least two labels and a top-level label that is not all digits, which
    rules out bare labels and IP addresses.

    Raises :class:`HostnameError` with a reason naming the rule.
    """
    if not isinstance(name, str):
        raise HostnameError(f"expected a host name (a string), got {type(name).__name__}")
    text = name.strip()
    if text != name:
        raise HostnameError(f"{_brief(name)} has leading or trailing white space")
    if text.endswith("."):
        text = text[:-1]
    if not text:
        raise HostnameError("the host name is empty")
    ascii_name = _to_ascii(text)
    if len(ascii_name) > MAX_NAME_LENGTH:
        raise HostnameError(
            f"{_brief(name)} is {len(ascii_name)} octets long; "
            f"a host name has at most {MAX_NAME_LENGTH} (RFC 1035 §2.3.4)"
        )
    labels = ascii_name.split(".")
    for label in labels:
        if not label:
            raise HostnameError(f"{_brief(name)} has an empty label")
        if not _LABEL.match(label):
            raise HostnameError(
                f"{_brief(name)}: label {_brief(label)} is not a valid host name label "
                "(letters, digits and inner hyphens, 1-63 octets; RFC 5321 §4.1.2)"
            )
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except idna.IDNAError:
                raise HostnameError(f"{_brief(name)}: label {_brief(label)} is not valid punycode (RFC 5891)") from None
    if fqdn:
        if len(labels) < 2:
            raise HostnameError(f"{_brief(name)} is not a fully qualified host name")
        if labels[-1].isdigit():
            raise HostnameError(f"{_brief(name)} looks like an IP address, not a host name")
    return ascii_name


def normalize_mx_pattern(pattern: object, *, strict_wildcard: bool = True) -> str:
    """Return an MX pattern (RFC 8461 §3.2) in canonical form.

    A pattern is a host name, optionally preceded by ``*.``: the wildcard is
    the whole left-most label and nothing else (``*.example.com``, never
    ``mx*.example.com`` or ``foo.*.example.com``).

    With ``strict_wildcard`` a wildcard over a single label (``*.com``) is
    refused: RFC-valid, but it would let any host under a top-level domain
    receive the domain's mail.
    """
    if not isinstance(pattern, str):
        raise HostnameError(f"expected an MX pattern (a string), got {type(pattern).__name__}")
    wildcard = pattern.startswith("*.")
    rest = pattern[2:] if wildcard else pattern
    if "*" in rest:
        raise HostnameError(
            f"{_brief(pattern)}: a wildcard must be the whole left-most label, "
            "as in '*.example.com' (RFC 8461 §3.2, §4.1)"
        )
    host = normalize_hostname(rest, fqdn=not wildcard)
    if wildcard and strict_wildcard and "." not in host:
        raise HostnameError(
            f"{_brief(pattern)}: a wildcard over a single label would match every host under a top-level domain"
        )
    return f"*.{host}" if wildcard else host


def mx_matches(host: str, pattern: str) -> bool:
    """Whether MX ``host`` is covered by ``pattern``, as RFC 8461 §4.1 says.

    Comparison ignores case and a trailing dot. ``*.example.com`` matches
    ``mail.example.com`` but neither ``example.com`` nor
    ``a.b.example.com``: the wildcard stands for exactly one label.
    """
    host = host.rstrip(".").lower()
    pattern = pattern.rstrip(".").lower()
    if pattern.startswith("*."):
        first, sep, parent = host.partition(".")
        return bool(first) and bool(sep) and parent == pattern[2:]
    return host == pattern


def to_unicode(name: str) -> str:
    """The U-label form of an A-label name, for display; the input if it cannot be decoded."""
    if "xn--" not in name:
        return name
    try:
        return str(idna.decode(name))
    except idna.IDNAError:
        return name
