"""Aggregate TLS-RPT reports per policy domain: by UTC day, result type, sending organization and receiving MX.

Reports stream through :meth:`Summary.add`; only counters are kept, keyed by (domain, day, organization) and
(domain, result type, MX), so memory grows with those combinations, not with the number of reports. The one
exception is the set of (organization, report-id) pairs already counted, which "a report delivered twice is
counted once" needs (RFC 8460 §4.4 report-id).
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .report import DEFAULT_MAX_BYTES, Report, ReportError, parse_report, reports_in

__all__ = ["ALL_MX", "DomainSummary", "Summary", "iter_sources"]

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
    #: (domain, UTC day, organization) -> [successful, failed]
    _sessions: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    #: (domain, result type, receiving MX or ALL_MX) -> failed sessions
    _failures: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    #: domain -> failed sessions that no failure-details entry accounts for
    _undetailed: Counter[str] = field(default_factory=Counter)
    #: organization -> report-ids counted
    _seen: dict[str, set[str]] = field(default_factory=dict)
    _domains: dict[str, DomainSummary] | None = None

    def add(self, report: Report) -> None:
        """Count one valid report (once per organization and report-id)."""
        if self.since is not None and report.end < self.since:
            self.skipped_before_since += 1
            return
        organization = report.organization
        seen = self._seen.get(organization)
        if seen is None:
            seen = self._seen[organization] = set()
        if report.report_id in seen:
            self.duplicates += 1
            return
        seen.add(report.report_id)
        self.reports += 1
        self._domains = None
        day = f"{report.start:%Y-%m-%d}"
        sessions = self._sessions
        failures = self._failures
        for policy in report.policies:
            domain = policy.policy_domain
            key = (domain, day, organization)
            counts = sessions.get(key)
            if counts is None:
                sessions[key] = [policy.successful, policy.failed]
            else:
                counts[0] += policy.successful
                counts[1] += policy.failed
            detailed = 0
            for failure in policy.failures:
                failures[domain, failure.result_type, failure.receiving_mx or ALL_MX] += failure.failed_sessions
                detailed += failure.failed_sessions
            if policy.failed > detailed:
                self._undetailed[domain] += policy.failed - detailed

    @property
    def domains(self) -> dict[str, DomainSummary]:
        """Per policy domain, its counters by day, result type, organization and MX (built from the keyed counts)."""
        if self._domains is not None:
            return self._domains
        domains: dict[str, DomainSummary] = {}

        def of(name: str) -> DomainSummary:
            d = domains.get(name)
            if d is None:
                d = domains[name] = DomainSummary(name)
            return d

        for (name, day, organization), (successful, failed) in self._sessions.items():
            d = of(name)
            d.successful += successful
            d.failed += failed
            for pair in (d.by_organization[organization], d.by_day[day]):
                pair["successful"] += successful
                pair["failed"] += failed
        for (name, result_type, mx), count in self._failures.items():
            d = of(name)
            d.by_result_type[result_type] += count
            d.by_mx[mx]["failed"] += count
        for name, count in self._undetailed.items():
            of(name).by_mx[ALL_MX]["failed"] += count
        for d in domains.values():
            d.by_mx[ALL_MX]["successful"] += d.successful
        self._domains = domains
        return domains

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
        domains = self.domains
        return {
            "reports": self.reports,
            "rejected": self.rejected,
            "domains": [domains[name].to_dict() for name in sorted(domains)],
        }


def iter_sources(paths: Iterable[str], limit: int = DEFAULT_MAX_BYTES) -> Iterator[tuple[str, bytes | None, int]]:
    """(name, bytes, size) of every file under ``paths``: files, folders (recursive) and ``s3://bucket/prefix``.

    Files come in path order, one at a time. A file larger than ``limit`` comes with ``None`` instead of its
    bytes: it is never read into memory.
    """
    for path in paths:
        if path.startswith("s3://"):
            yield from _s3_objects(path, limit)
        elif os.path.isdir(path):
            for file in _walk(path):
                yield (file, *_read(file, limit))
        else:
            yield (path, *_read(path, limit))


def _walk(folder: str) -> Iterator[str]:
    """Regular files under ``folder``, depth first in name order; symbolic links to folders are not followed."""
    with os.scandir(folder) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(entry.path)
        elif entry.is_file():  # not a FIFO or device, which could block or never end
            yield entry.path


def _read(path: str, limit: int) -> tuple[bytes | None, int]:
    """A file's bytes (None past ``limit``) and size: one open, one fstat, one read."""
    with open(path, "rb", buffering=0) as file:
        size = os.fstat(file.fileno()).st_size
        if size > limit:
            return None, size
        data = file.readall()
    return (data, size) if len(data) <= limit else (None, len(data))


def _s3_objects(url: str, limit: int) -> Iterator[tuple[str, bytes | None, int]]:
    import boto3

    bucket, _, prefix = url[len("s3://") :].partition("/")
    client = boto3.client("s3")
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            name = f"s3://{bucket}/{item['Key']}"
            size = int(item["Size"])
            data = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() if size <= limit else None
            yield name, data, size
