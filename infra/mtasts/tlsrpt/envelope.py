"""A TLS-RPT report's envelope: the JSON inside a file, a gzip stream or a mail, read within bounds.

Inputs are the JSON report, plain or gzip (``application/tlsrpt+json`` / ``application/tlsrpt+gzip``), or a mail
(``multipart/report; report-type="tlsrpt"``, RFC 8460 §5.3) carrying one. Work is bounded on hostile input: the
decompressed size is capped while decompressing, a mail's multiparts and parts are counted before the parser
sees them, and nesting too deep for the schema is refused before it can exhaust the stack. What is inside is
checked by :mod:`.report`. Standard library only: the rua Lambda ships it
(:data:`mtasts.resources.reports.HANDLER_FILES`).
"""

from __future__ import annotations

import email
import email.policy
import itertools
import re
import zlib
from collections.abc import Iterator

__all__ = [
    "DEFAULT_MAX_BYTES",
    "GZIP_MAGIC",
    "MAX_DEPTH",
    "MAX_MAIL_PARTS",
    "MAX_MULTIPARTS",
    "UTF8_BOM",
    "ReportError",
    "decode_payload",
    "prepare",
    "reports_in",
]

#: Largest decompressed report read, by default.
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
#: Deepest JSON nesting read; a valid report nests 5 levels (report, policies, entry, failure-details, detail).
MAX_DEPTH = 32
_HEADER = re.compile(rb"[!-9;-~]+:")
#: Most multipart boundaries read in a mail; a TLS-RPT mail has one (RFC 8460 §5.3), a forwarded one a few more.
MAX_MULTIPARTS = 16
_BOUNDARY = re.compile(rb"boundary\s*(?:\*\d*)?\*?\s*=", re.IGNORECASE)
#: Most lines that may delimit a MIME part: a report mail has 3 (text, report, closing), forwarding adds a few.
MAX_MAIL_PARTS = 64
_DELIMITER = re.compile(rb"^--", re.MULTILINE)
#: A JSON object's first bytes: optional byte order mark, JSON whitespace (RFC 8259 §2), "{".
_JSON_OBJECT = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*\{")
GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"


class ReportError(ValueError):
    """A report was rejected; the message names the field or the limit."""


def _gunzip(data: bytes, limit: int) -> bytes:
    """Decompress at most ``limit + 1`` bytes, whatever the ratio (gzip bombs): zlib stops there by itself.

    Output shorter than that means zlib consumed all input (it leaves an ``unconsumed_tail`` only when the output
    limit is reached), so one call decides: too large, truncated (no end of stream), or complete.
    """
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(data, limit + 1)
    if len(out) > limit:
        raise ReportError(f"decompressed size exceeds {limit} bytes")
    if not inflater.eof:
        raise ReportError("truncated gzip data")
    return out


def decode_payload(data: bytes, limit: int = DEFAULT_MAX_BYTES) -> bytes:
    """The JSON bytes of a report given plain or gzip, within ``limit`` bytes."""
    if data[:2] == GZIP_MAGIC:
        try:
            return _gunzip(data, limit)
        except zlib.error as exc:
            raise ReportError(f"invalid gzip data: {exc}") from None
    if len(data) > limit:
        raise ReportError(f"report size exceeds {limit} bytes")
    return data


_SPECIAL = re.compile(rb'[\[\]{}"\\]')


def _too_deep(text: bytes) -> bool:
    """Whether the JSON nests deeper than :data:`MAX_DEPTH`: one linear pass over brackets, quotes and escapes.

    No recursion and no backtracking, so hostile input costs time proportional to its (capped) size.
    """
    if text.count(b"[") + text.count(b"{") <= MAX_DEPTH:
        return False  # cannot nest deeper than it has brackets: ordinary reports skip the scan
    depth = 0
    in_string = False
    escaped_at = -1
    for match in _SPECIAL.finditer(text):
        at = match.start()
        if at == escaped_at:
            continue
        char = text[at]
        if in_string:
            if char == 0x5C:  # backslash: the next byte is escaped
                escaped_at = at + 1
            elif char == 0x22:
                in_string = False
        elif char == 0x22:
            in_string = True
        elif char in (0x5B, 0x7B):
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif char in (0x5D, 0x7D):
            depth -= 1
    return False


def prepare(data: bytes, limit: int = DEFAULT_MAX_BYTES) -> bytes:
    """The JSON text of a report payload: decompressed within ``limit``, nesting bounded, byte order mark removed."""
    text = decode_payload(data, limit)
    if _too_deep(text):
        raise ReportError(f"JSON nested deeper than {MAX_DEPTH} levels; a TLS-RPT report needs 5")
    # JSON exchanged between systems is UTF-8 (RFC 8259 §8.1); a byte order mark is tolerated, as it allows.
    if text[:3] == UTF8_BOM:
        text = text[3:]
    return text


def reports_in(data: bytes, limit: int = DEFAULT_MAX_BYTES) -> Iterator[bytes]:
    """The report payloads in a file: itself, or each ``application/tlsrpt+gzip|+json`` part of a mail."""
    if data[:2] == GZIP_MAGIC or _JSON_OBJECT.match(data):
        yield data
        return
    if not _HEADER.match(data):  # a mail starts with a header field (RFC 5322 §2.2), e.g. Return-Path: from SES
        raise ReportError("neither a JSON report, gzip data nor a mail")
    if len(data) > limit:
        raise ReportError(f"mail size exceeds {limit} bytes")
    # Python's mail parser recurses once per nested multipart: refuse more multiparts than a report mail has
    # (RFC 8460 §5.3: one, a few when forwarded) before parsing, and treat deeper recursion as the same refusal.
    if sum(1 for _ in itertools.islice(_BOUNDARY.finditer(data), MAX_MULTIPARTS + 1)) > MAX_MULTIPARTS:
        raise ReportError(f"the mail has more than {MAX_MULTIPARTS} multipart boundaries")
    # One boundary can still delimit any number of parts, and the parser's work grows with them: count the lines
    # that could open a part (RFC 2046 §5.1.1: "--" boundary at the start of a line) and refuse the whole mail.
    if sum(1 for _ in itertools.islice(_DELIMITER.finditer(data), MAX_MAIL_PARTS + 1)) > MAX_MAIL_PARTS:
        raise ReportError(f"the mail has more than {MAX_MAIL_PARTS} MIME parts; a report mail has 2 (RFC 8460 §5.3)")
    try:
        message = email.message_from_bytes(data, policy=email.policy.default)
        payloads = [
            part.get_payload(decode=True)
            for part in message.walk()
            if part.get_content_type() in ("application/tlsrpt+gzip", "application/tlsrpt+json")
        ]
    except RecursionError:
        raise ReportError("the mail's MIME parts are nested too deeply") from None
    found = False
    for payload in payloads:
        if isinstance(payload, bytes):
            found = True
            yield payload
    if not found:
        raise ReportError("the mail has no application/tlsrpt+gzip or application/tlsrpt+json part (RFC 8460 §5.3)")
