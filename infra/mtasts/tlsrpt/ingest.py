"""The SES mail path's rows: a Lambda handler for S3 ``ObjectCreated`` events under ``mail/``.

SES stores each report mail raw under ``mail/`` (its receipt rule's S3 action, resources/reports.py); S3 then
invokes this handler, which reads the mail and writes the rows of every valid report in it
(:func:`mtasts.tlsrpt.rows.object_rows`: the same keys the HTTPS path and ``mtasts reports backfill`` write, so
a redelivered event writes the same objects again). A report that is not valid is logged with its reason and
skipped, as ``mtasts reports summarize`` rejects it; the raw mail stays either way. An S3 error raises, so Lambda
retries the event (asynchronous invocation: two more tries). Standard library only, like the rua handler.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.parse
from typing import Any

from .report import DEFAULT_MAX_BYTES
from .rows import object_rows

__all__ = ["MAIL_PREFIX", "mail_handler"]

#: SES's key prefix (``mtasts.resources.reports.MAIL_PREFIX``); other keys are not this handler's.
MAIL_PREFIX = "mail/"
#: Largest mail read (SES accepts mails up to 40 MB; a report mail is far smaller).
MAX_MAIL_BYTES = int(os.environ.get("MAX_MAIL_BYTES", str(DEFAULT_MAX_BYTES)))


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
            continue
        data = client.get_object(Bucket=bucket, Key=key)["Body"].read(MAX_MAIL_BYTES + 1)
        if len(data) > MAX_MAIL_BYTES:
            rejected.append(f"{key}: mail size exceeds {MAX_MAIL_BYTES} bytes")
            continue
        found, problems = object_rows(key, data, MAX_MAIL_BYTES)
        rejected += [f"{key}: {p}" for p in problems]
        for item in found:
            client.put_object(Bucket=bucket, Key=item.key, Body=item.body, ContentType="application/gzip")
            written.append(item.key)
    for line in rejected:
        print(f"rejected: {line}", file=sys.stderr)
    result = {"written": written, "rejected": rejected}
    print(json.dumps(result))
    return result
