"""Aggregate TLS-RPT reports per policy domain: by UTC day, result type, sending organization and receiving MX.

Reports stream through :meth:`Summary.add`; only counters are kept, so memory
stays flat however many reports are read. A report delivered twice (same
organization, same report-id) is counted once.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .report import DEFAULT_MAX_BYTES, Report, ReportError, parse_report, reports_in

__all__ = ["DomainSummary", "Summary", "iter_sources"]

#: Key used in by_mx for successful sessions, which RFC 8460 reports do not break down per MX host.
ALL_MX = "(all MX)"


def _pair() -> dict[str, int]:
    return {"successful": 0, "failed": 0}


@dataclass
class DomainSummary:
    """Counters of one policy domain."""

    domain: str
    successful: int = 0
    failed: int = 0
    by_result_type: Counter[str] = field(default_factory=Counter)
    by_organization: defaultdict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(_pair))
    by_mx: defaultdict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(_pair))
    by_day: defaultdict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(_pair))

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of one domain."""
        return {
            "domain": self.domain,
            "successful_sessions": self.successful,
            "failed_sessions": self.failed,
            "by_result_type": dict(sorted(self.by_result_type.items())),
            "by_organization": dict(sorted(self.by_organization.items())),
            "by_mx": dict(sorted(self.by_mx.items())),
            "by_day": dict(sorted(self.by_day.items())),
        }


@dataclass
class Summary:
    """Everything read so far."""

    since: dt.datetime | None = None
    reports: int = 0
    duplicates: int = 0
    skipped_before_since: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    domains: dict[str, DomainSummary] = field(default_factory=dict)
    _seen: set[tuple[str, str]] = field(default_factory=set)

    def add(self, report: Report) -> None:
        """Count one valid report (once per organization and report-id)."""
        if self.since is not None and report.end < self.since:
            self.skipped_before_since += 1
            return
        key = (report.organization, report.report_id)
        if key in self._seen:
            self.duplicates += 1
            return
        self._seen.add(key)
        self.reports += 1
        day = report.start.strftime("%Y-%m-%d")
        for policy in report.policies:
            d = self.domains.get(policy.policy_domain)
            if d is None:
                d = self.domains[policy.policy_domain] = DomainSummary(policy.policy_domain)
            d.successful += policy.successful
            d.failed += policy.failed
            org = d.by_organization[report.organization]
            org["successful"] += policy.successful
            org["failed"] += policy.failed
            today = d.by_day[day]
            today["successful"] += policy.successful
            today["failed"] += policy.failed
            d.by_mx[ALL_MX]["successful"] += policy.successful
            detailed = 0
            for failure in policy.failures:
                d.by_result_type[failure.result_type] += failure.failed_sessions
                d.by_mx[failure.receiving_mx or ALL_MX]["failed"] += failure.failed_sessions
                detailed += failure.failed_sessions
            if policy.failed > detailed:
                d.by_mx[ALL_MX]["failed"] += policy.failed - detailed

    def reject(self, source: str, reason: str) -> None:
        """Record a source that is not a valid report."""
        self.rejected.append({"source": source, "reason": reason})

    def read(self, source: str, data: bytes | None, limit: int = DEFAULT_MAX_BYTES, size: int = 0) -> None:
        """Parse every report in one file's bytes; reject what is not valid, with its reason."""
        if data is None:
            self.reject(source, f"file size {size} exceeds {limit} bytes")
            return
        try:
            payloads = list(reports_in(data, limit))
        except ReportError as exc:
            self.reject(source, str(exc))
            return
        for payload in payloads:
            try:
                self.add(parse_report(payload, limit))
            except ReportError as exc:
                self.reject(source, str(exc))

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``mtasts reports summarize --json``."""
        return {
            "reports": self.reports,
            "rejected": self.rejected,
            "domains": [self.domains[name].to_dict() for name in sorted(self.domains)],
        }


def iter_sources(paths: Iterable[str], limit: int = DEFAULT_MAX_BYTES) -> Iterable[tuple[str, bytes | None, int]]:
    """(name, bytes, size) of every file under ``paths``: files, folders (recursive) and ``s3://bucket/prefix``.

    A file larger than ``limit`` comes with ``None`` instead of its bytes: it is never read into memory.
    """
    for path in paths:
        if path.startswith("s3://"):
            yield from _s3_objects(path, limit)
            continue
        root = Path(path)
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for file in files:
            size = file.stat().st_size
            yield str(file), (file.read_bytes() if size <= limit else None), size


def _s3_objects(url: str, limit: int) -> Iterable[tuple[str, bytes | None, int]]:
    import boto3

    bucket, _, prefix = url[len("s3://") :].partition("/")
    client = boto3.client("s3")
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            name = f"s3://{bucket}/{item['Key']}"
            size = int(item["Size"])
            data = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() if size <= limit else None
            yield name, data, size
