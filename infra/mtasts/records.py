"""DNS TXT record values: ``_mta-sts`` (RFC 8461 §3.1) and ``_smtp._tls`` (RFC 8460 §3).

Rendering is what the kit publishes; parsing and :func:`select_record` are
what a sending MTA does with what it finds in DNS, reused by the live
checker.

Grammars::

    sts-text-record = %s"v=STSv1" 1*(sts-field-delim sts-field) [sts-field-delim]
    sts-field       = %s"id=" 1*32(ALPHA / DIGIT) / sts-extension
    sts-field-delim = *WSP ";" *WSP

    tlsrpt-record   = %s"v=TLSRPTv1" 1*(field-delim tlsrpt-field) [field-delim]
    tlsrpt-rua      = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
    field-delim     = *WSP ";" *WSP

    ext-name        = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
    ext-value       = 1*(%x21-3A / %x3C / %x3E-7E)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import Problem, RecordError, brief
from .names import HostnameError, normalize_hostname

__all__ = [
    "ROUTE53_VALUE_LIMIT",
    "STS_PREFIX",
    "TLSRPT_PREFIX",
    "StsRecord",
    "TlsrptRecord",
    "join_txt_strings",
    "normalize_rua_uri",
    "parse_sts_record",
    "parse_tlsrpt_record",
    "route53_value_length",
    "select_record",
    "split_txt_strings",
    "sts_record_name",
    "sts_record_value",
    "tlsrpt_record_name",
    "tlsrpt_record_value",
]

STS_PREFIX = "v=STSv1"
TLSRPT_PREFIX = "v=TLSRPTv1"

_ID = re.compile(r"[A-Za-z0-9]{1,32}\Z")
_EXT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}\Z")
_EXT_VALUE = re.compile(r"[\x21-\x3a\x3c\x3e-\x7e]+\Z")
_WSP = " \t"
# RFC 3986 characters a URI may hold as they are (unreserved, reserved, '%').
_URI_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*\Z")
_PCT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# RFC 8460 §3: these MUST be percent-encoded inside a rua URI.
_MUST_ENCODE = {",": "%2C", ";": "%3B", "!": "%21"}
_LOCAL_PART = re.compile(r"[A-Za-z0-9.!#$&'*+/=?^_`{|}~%-]+\Z")


def sts_record_name(domain: str) -> str:
    """``_mta-sts.<domain>`` (RFC 8461 §3.1)."""
    return f"_mta-sts.{domain}"


def tlsrpt_record_name(domain: str) -> str:
    """``_smtp._tls.<domain>`` (RFC 8460 §3)."""
    return f"_smtp._tls.{domain}"


def sts_record_value(policy_id: str) -> str:
    """The ``_mta-sts`` TXT value announcing ``policy_id``: ``v=STSv1; id=<id>``."""
    if not _ID.match(policy_id):
        raise RecordError(Problem("id", f"{brief(policy_id)} is not 1-32 letters and digits (RFC 8461 §3.1)"))
    return f"{STS_PREFIX}; id={policy_id}"


def sts_held_back_value(policy_id: str) -> str:
    """The ``_mta-sts`` TXT value of a new domain whose policy was not verified live: no policy for senders.

    It does not begin with ``v=STSv1;``, so senders discard it and act as if the domain had no MTA-STS policy
    (RFC 8461 §3.1), which is what it has until the policy is served; the next deployment that verifies the
    policy publishes ``v=STSv1; id=<id>``. A record (rather than none) keeps the deployment's resources the
    same whatever the rollout found.
    """
    return f"mtasts: policy {policy_id} not verified live yet; no MTA-STS policy is announced"


def tlsrpt_record_value(rua: Sequence[str]) -> str:
    """The ``_smtp._tls`` TXT value: ``v=TLSRPTv1; rua=<uri>[,<uri>...]``.

    Each URI is validated and encoded by :func:`normalize_rua_uri`.
    """
    if not rua:
        raise RecordError(Problem("rua", "at least one URI is required (RFC 8460 §3)"))
    return f"{TLSRPT_PREFIX}; rua=" + ",".join(normalize_rua_uri(uri) for uri in rua)


def normalize_rua_uri(uri: object) -> str:
    """Validate a TLS-RPT reporting URI and return it as it goes in the record.

    Only ``mailto:`` and ``https:`` are allowed (RFC 8460 §3). ``,``, ``;``
    and ``!`` are percent-encoded, as RFC 8460 §3 requires; an
    internationalised host or mail domain is converted to A-labels.
    Raises :class:`ValueError` with the reason.
    """
    if not isinstance(uri, str):
        raise ValueError(f"expected a URI (a string), got {type(uri).__name__}")
    if not uri:
        raise ValueError("the URI is empty")
    if uri != uri.strip() or any(c in uri for c in ' \t\r\n"<>\\^`{|}'):
        raise ValueError(f"{brief(uri)} contains white space or characters a URI cannot hold (RFC 3986)")
    scheme, colon, rest = uri.partition(":")
    scheme = scheme.lower()
    if not colon or scheme not in ("mailto", "https"):
        raise ValueError(f"{brief(uri)}: only mailto: and https: URIs can receive reports (RFC 8460 §3)")
    if scheme == "mailto":
        address, _, query = rest.partition("?")
        local, at, domain = address.rpartition("@")
        if not at or not local or not _LOCAL_PART.match(local):
            raise ValueError(f"{brief(uri)} is not mailto:local-part@domain (RFC 6068)")
        try:
            host = normalize_hostname(domain)
        except HostnameError as exc:
            raise ValueError(f"{brief(uri)}: {exc}") from None
        result = f"mailto:{local}@{host}" + (f"?{query}" if query else "")
    else:
        parts = urlsplit(uri)
        if parts.username is not None or parts.password is not None:
            raise ValueError(f"{brief(uri)} carries credentials; they would be public in DNS")
        if parts.fragment:
            raise ValueError(f"{brief(uri)} has a fragment, which a report POST cannot use")
        try:
            host = normalize_hostname(parts.hostname or "")
            port = parts.port
        except (HostnameError, ValueError) as exc:
            raise ValueError(f"{brief(uri)}: {exc}") from None
        netloc = host + (f":{port}" if port is not None else "")
        result = f"https://{netloc}{parts.path}" + (f"?{parts.query}" if parts.query else "")
    if not result.isascii() or not _URI_CHARS.match(result) or _PCT.search(result):
        raise ValueError(f"{brief(uri)} has characters that must be percent-encoded (RFC 3986)")
    for char, encoded in _MUST_ENCODE.items():
        result = result.replace(char, encoded)
    return result


def split_txt_strings(value: str, size: int = 255) -> list[str]:
    """Split a TXT value into character-strings of at most ``size`` octets (RFC 1035 §3.3.14).

    Senders join them back without spaces (RFC 8461 §3.1), so long ``rua`` lists survive intact.
    """
    data = value.encode("ascii")
    return [data[i : i + size].decode("ascii") for i in range(0, len(data), size)] or [""]


#: Route 53 takes at most this many characters per record value (API reference, ResourceRecord.Value),
#: counted as sent: every character-string of at most 255 octets inside its own pair of double quotes.
ROUTE53_VALUE_LIMIT = 4000


def route53_value_length(value: str) -> int:
    """Characters the TXT ``value`` takes in Route 53: each 255-octet string plus its two quotes."""
    return len(value) + 2 * len(split_txt_strings(value))


def join_txt_strings(strings: Iterable[bytes | str]) -> str:
    """One TXT RR's character-strings joined without spaces (RFC 8461 §3.1, RFC 7208 §3.3)."""
    return "".join(s.decode("latin-1") if isinstance(s, bytes) else s for s in strings)


def select_record(values: Sequence[str], prefix: str) -> str:
    """Pick the one record a sender uses among a name's TXT values.

    Values that do not begin with ``prefix`` followed by the field
    delimiter are discarded; if not exactly one is left there is no policy
    (RFC 8461 §3.1, RFC 8460 §3). Raises :class:`RecordError` saying which.
    """
    pattern = re.compile(re.escape(prefix) + r"[ \t]*;")
    matching = [v for v in values if pattern.match(v)]
    if not matching:
        raise RecordError(Problem("", f"no TXT record begins with {brief(prefix)}"))
    if len(matching) > 1:
        raise RecordError(
            Problem("", f"{len(matching)} TXT records begin with {brief(prefix)}; with more than one, senders see none")
        )
    return matching[0]


def _fields(value: str, prefix: str, rfc: str) -> tuple[list[tuple[str, str]], list[Problem]]:
    """Split a record into (name, value) pairs after the version tag."""
    parts = value.split(";")
    head = parts[0].rstrip(_WSP)
    if head != prefix:
        raise RecordError(Problem("", f"the record does not begin with {brief(prefix)} ({rfc})"))
    warnings: list[Problem] = []
    if parts[0] != head:
        warnings.append(
            Problem("", f"white space before the first ';': senders reading {rfc} literally discard the record")
        )
    pairs: list[tuple[str, str]] = []
    body = parts[1:]
    if body and body[-1].strip(_WSP) == "":
        body = body[:-1]  # optional trailing delimiter
    if not body:
        raise RecordError(Problem("", f"the record has no field after {brief(prefix)} ({rfc})"))
    for raw in body:
        item = raw.strip(_WSP)
        name, eq, val = item.partition("=")
        if not item or not eq:
            raise RecordError(Problem("", f"{item!r} is not a 'name=value' field ({rfc})"))
        if not _EXT_NAME.match(name):
            raise RecordError(Problem("", f"{name!r} is not a valid field name ({rfc})"))
        pairs.append((name, val))
    return pairs, warnings


@dataclass(frozen=True)
class StsRecord:
    """A parsed ``_mta-sts`` record (RFC 8461 §3.1)."""

    id: str
    """The policy id."""
    extensions: tuple[tuple[str, str], ...]
    """Other fields, which senders ignore."""
    warnings: tuple[Problem, ...]
    """Tolerated oddities (duplicate id, white space before ``;``)."""


def parse_sts_record(value: str) -> StsRecord:
    """Strictly parse one ``_mta-sts`` TXT value (strings already joined).

    Raises :class:`RecordError` naming the rule it breaks.
    """
    rfc = "RFC 8461 §3.1"
    pairs, warnings = _fields(value, STS_PREFIX, rfc)
    found: str | None = None
    extensions: list[tuple[str, str]] = []
    for name, val in pairs:
        if name == "id":
            if not _ID.match(val):
                raise RecordError(Problem("id", f"{val!r} is not 1-32 letters and digits ({rfc})"))
            if found is None:
                found = val
            else:
                warnings.append(Problem("id", f"duplicate id {val!r}; senders use the first, {found!r}"))
        elif not _EXT_VALUE.match(val):
            raise RecordError(Problem(name, f"{val!r} is not a valid extension value ({rfc})"))
        else:
            extensions.append((name, val))
    if found is None:
        raise RecordError(Problem("id", f"the required id field is missing ({rfc})"))
    return StsRecord(found, tuple(extensions), tuple(warnings))


@dataclass(frozen=True)
class TlsrptRecord:
    """A parsed ``_smtp._tls`` record (RFC 8460 §3)."""

    rua: tuple[str, ...]
    """Reporting URIs, ``mailto:`` or ``https:``."""
    extensions: tuple[tuple[str, str], ...]
    """Other fields, which reporters ignore."""
    warnings: tuple[Problem, ...]
    """Tolerated oddities."""


def parse_tlsrpt_record(value: str) -> TlsrptRecord:
    """Strictly parse one ``_smtp._tls`` TXT value (strings already joined).

    A repeated ``rua`` field adds its URIs, as checkdmarc reads RFC 8460 §3
    ("more than one rua"). Raises :class:`RecordError` naming the rule.
    """
    rfc = "RFC 8460 §3"
    pairs, warnings = _fields(value, TLSRPT_PREFIX, rfc)
    rua: list[str] = []
    extensions: list[tuple[str, str]] = []
    seen_rua = False
    for name, val in pairs:
        if name == "rua":
            if seen_rua:
                warnings.append(Problem("rua", "more than one rua field; their URIs are combined"))
            seen_rua = True
            for uri in re.split(r"[ \t]*,[ \t]*", val):
                try:
                    canonical = normalize_rua_uri(uri)
                except ValueError as exc:
                    raise RecordError(Problem("rua", str(exc))) from None
                if canonical.lower() != uri.lower():
                    raise RecordError(Problem("rua", f"{brief(uri)} should be written {canonical!r} ({rfc})"))
                rua.append(uri)
        elif not _EXT_VALUE.match(val):
            raise RecordError(Problem(name, f"{val!r} is not a valid extension value ({rfc})"))
        else:
            extensions.append((name, val))
    if not seen_rua:
        raise RecordError(Problem("rua", f"the required rua field is missing ({rfc})"))
    return TlsrptRecord(tuple(rua), tuple(extensions), tuple(warnings))
