"""The SES mail path's rows: a Lambda handler for S3 ``ObjectCreated`` events under ``mail/``.

SES stores each report mail raw under ``mail/`` (its receipt rule's S3 action, resources/reports.py); S3 then
invokes this handler, which reads the mail and writes the rows of every valid report in it
(:func:`mtasts.tlsrpt.rows.object_rows`: the same keys the HTTPS path and ``mtasts reports backfill`` write, so
a redelivered event writes the same objects again). A report that is not valid is logged with its reason and
skipped, as ``mtasts reports summarize`` rejects it; the raw mail stays either way. An S3 error raises, so Lambda
retries the event (asynchronous invocation: two more tries). Standard library only, like the rua handler.

Each report written for the first time is counted as the rua handler counts it (:mod:`.metrics`, ``Source``
``mail``; per-domain lines only for the stack's own domains), and each rejected one as ``RejectedReports``; a
report whose rows already exist (the same report mailed twice, or a retried event) counts nothing.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.parse
from typing import Any

from .envelope import DEFAULT_MAX_BYTES
from .metrics import accepted_lines, emit, rejected_line
from .receiver import DOMAINS_FILE, MAIL_PREFIX, load_domains
from .rows import object_rows

__all__ = ["MAIL_PREFIX", "mail_handler"]

#: Largest mail read (SES accepts mails up to 40 MB; a report mail is far smaller).
MAX_MAIL_BYTES = int(os.environ.get("MAX_MAIL_BYTES", str(DEFAULT_MAX_BYTES)))


def _exists(client: Any, bucket: str, key: str) -> bool:
    """Whether ``key`` is already stored (an S3 error other than not-found raises: Lambda retries the event)."""
    try:
        client.head_object(Bucket=bucket, Key=key)
    except client.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


_DOMAINS: frozenset[str] | None = None


def _count_accepted(report: Any) -> None:
    global _DOMAINS
    if _DOMAINS is None:
        _DOMAINS = load_domains(DOMAINS_FILE)
    domains = _DOMAINS
    emit(lambda ns, per_domain, ms: accepted_lines(report, ns, per_domain, ms, "mail", domains))


def _count_rejected(reason: str) -> None:
    emit(lambda ns, _per_domain, ms: [rejected_line(reason, ns, ms)])


def mail_handler(event: dict[str, Any], _context: Any = None, client: Any = None) -> dict[str, Any]:
    """Write the rows of the reports in each mail named by an S3 event; a summary of what was done."""
    if client is None:
        import boto3

        client = boto3.client("s3")
    written: list[str] = []
    rejected: list[str] = []
    for record in event.get("Records") or []:
        s3 = record.get("s3") or {}
        bucket = str((s3.get("bucket") or {}).get("name") or "")
        # event keys are URL-encoded, spaces as "+" (S3 event message structure)
        key = urllib.parse.unquote_plus(str((s3.get("object") or {}).get("key") or ""))
        if not bucket or not key.startswith(MAIL_PREFIX):
            continue
        size = int((s3.get("object") or {}).get("size") or 0)
        if size > MAX_MAIL_BYTES:
            rejected.append(f"{key}: mail size {size} exceeds {MAX_MAIL_BYTES} bytes")
            _count_rejected("too-large")
            continue
        data = client.get_object(Bucket=bucket, Key=key)["Body"].read(MAX_MAIL_BYTES + 1)
        if len(data) > MAX_MAIL_BYTES:
            rejected.append(f"{key}: mail size exceeds {MAX_MAIL_BYTES} bytes")
            _count_rejected("too-large")
            continue
        found, problems = object_rows(key, data, MAX_MAIL_BYTES)
        rejected += [f"{key}: {p}" for p in problems]
        for _ in problems:
            _count_rejected("invalid-report")
        for item in found:
            new = not _exists(client, bucket, item.key)
            client.put_object(Bucket=bucket, Key=item.key, Body=item.body, ContentType="application/gzip")
            written.append(item.key)
            if new:
                _count_accepted(item.report)
    for line in rejected:
        print(f"rejected: {line}", file=sys.stderr)
    result = {"written": written, "rejected": rejected}
    print(json.dumps(result))
    return result
