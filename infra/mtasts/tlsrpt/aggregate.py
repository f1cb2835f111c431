"""Aggregate TLS-RPT reports per policy domain: by UTC day, result type, sending organization and receiving MX.

Reports stream through :meth:`Summary.add`; only counters are kept, keyed by (domain, day, organization) and
(domain, result type, MX), so memory grows with those combinations, not with the number of reports. The one
exception is the set of (organization, report-id) pairs already counted, which "a report delivered twice is
counted once" needs (RFC 8460 §4.4 report-id).

Why over 400 lines: two jobs that run in the same worker processes, counting (:class:`Summary`) and reading
report files within bounds (:func:`iter_sources`: folder walks with depth, size and read caps). The second is
meant to move beside :class:`~mtasts.tlsrpt.source.Source` (issue 20 item 5).
"""

from __future__ import annotations

import collections
import concurrent.futures
import concurrent.futures.process
import datetime as dt
import functools
import itertools
import multiprocessing
import os
import stat
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import MtastsError, Problem
from .report import DEFAULT_MAX_BYTES, Report, ReportError, _host, parse_report, prepare, reports_in, validate_json
from .source import Source

try:  # msgspec's typed decoder (see report.parse_report); without it, the reference decoder alone
    from .typed import document as _document
except ImportError:  # pragma: no cover - msgspec is a dependency of the CLI
    _document = None  # type: ignore[assignment]

__all__ = [
    "ALL_MX",
    "DomainSummary",
    "Reader",
    "Source",
    "Summary",
    "add_failure_details",
    "contribution",
    "iter_sources",
    "outcomes",
    "success_rate",
]

#: Key used in by_mx for successful sessions, which RFC 8460 reports do not break down per MX host.
ALL_MX = "(all MX)"


def success_rate(successful: int, failed: int) -> str:
    """The success rate as text for tables and pages: "-" without sessions, never "100.00%" while any failed.

    17 failures beside 27,000 successes round to 100.00%; they read ">99.99%", so a small failure count is never
    hidden behind a clean-looking rate.
    """
    total = successful + failed
    if not total:
        return "-"
    rate = successful / total
    if failed and rate >= 0.99995:
        return ">99.99%"
    return f"{rate:.2%}"


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
    by_policy_type: defaultdict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(_pair))
    #: UTC day -> result type -> failed sessions (when did a failure start?)
    failures_by_day: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    #: One row per (policy type, result type, receiving MX, sending MTA IP, receiving IP, reason code), largest first:
    #: where each failing path is, with the organizations that reported it.
    failure_details: list[dict[str, Any]] = field(default_factory=list)

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
            "by_policy_type": dict(sorted(self.by_policy_type.items())),
            "failures_by_day": {day: dict(sorted(c.items())) for day, c in sorted(self.failures_by_day.items())},
            "failure_details": self.failure_details,
        }


@dataclass
class Summary:
    """Everything read so far."""

    since: dt.datetime | None = None
    #: Reports whose period starts at or after this instant are not counted (``--until`` day + 1, 00:00 UTC).
    until: dt.datetime | None = None
    reports: int = 0
    duplicates: int = 0
    #: (organization, report-id) read again with different counts: counted once (the first copy read), listed here
    #: so that a forged or corrupted copy sent under a real sender's report-id is seen, not silently dropped.
    conflicts: list[dict[str, str]] = field(default_factory=list)
    skipped_before_since: int = 0
    skipped_after_until: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    #: (domain, UTC day, organization) -> [successful, failed]
    _sessions: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    #: Reports counted per tolerated deviation (report.DEVIATIONS): accepted, but never silently.
    tolerated: Counter[str] = field(default_factory=Counter)
    #: (domain, policy type, result type, receiving MX or ALL_MX, sending MTA IP, receiving IP, reason code,
    #: organization) -> failed sessions
    _failures: Counter[FailureKey] = field(default_factory=Counter)
    #: (domain, UTC day, result type) -> failed sessions
    _daily: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    #: (domain, policy type) -> [successful, failed]
    _policy_types: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    #: domain -> failed sessions that no failure-details entry accounts for
    _undetailed: Counter[str] = field(default_factory=Counter)
    #: organization -> report-id counted -> fingerprint of what it counted (its day and per-policy counts)
    _seen: dict[str, dict[str, int]] = field(default_factory=dict)
    _domains: dict[str, DomainSummary] | None = None

    def add(self, report: Report) -> None:
        """Count one valid report (once per organization and report-id)."""
        self.merge([_classify(report, self.since, self.until)])

    def apply(self, counted: Contribution) -> None:
        """Count one report's :func:`contribution`, unless its organization and report-id were counted already."""
        organization, report_id, day, policies, deviations = counted
        seen = self._seen.get(organization)
        if seen is None:
            seen = self._seen[organization] = {}
        # what the counts depend on (the failure path's text is not: a copy differing only there is no conflict);
        # plain tuples of str and int: the same hash in every process that merges
        fingerprint = hash((day, tuple((p[0], p[1], p[2], tuple(d[:3] for d in p[3]), p[4]) for p in policies)))
        first = seen.get(report_id)
        if first is not None:
            self.duplicates += 1
            if first != fingerprint:
                self.conflicts.append({"organization": organization, "report_id": report_id})
            return
        seen[report_id] = fingerprint
        self.reports += 1
        self._domains = None
        for deviation in deviations:
            self.tolerated[deviation] += 1
        sessions = self._sessions
        failures = self._failures
        daily = self._daily
        for domain, successful, failed, details, undetailed, policy_type in policies:
            key = (domain, day, organization)
            counts = sessions.get(key)
            if counts is None:
                sessions[key] = [successful, failed]
            else:
                counts[0] += successful
                counts[1] += failed
            typed = self._policy_types.get((domain, policy_type))
            if typed is None:
                self._policy_types[domain, policy_type] = [successful, failed]
            else:
                typed[0] += successful
                typed[1] += failed
            for result_type, mx, count, sending_ip, receiving_ip, reason in details:
                failures[domain, policy_type, result_type, mx, sending_ip, receiving_ip, reason, organization] += count
                daily[domain, day, result_type] += count
            if undetailed:
                self._undetailed[domain] += undetailed

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
        for key, count in self._failures.items():
            d = of(key[0])
            d.by_result_type[key[2]] += count
            d.by_mx[key[3]]["failed"] += count
        add_failure_details(of, self._failures.items())
        for (name, day, result_type), count in self._daily.items():
            of(name).failures_by_day[day][result_type] += count
        for (name, policy_type), (successful, failed) in self._policy_types.items():
            pair = of(name).by_policy_type[policy_type]
            pair["successful"] += successful
            pair["failed"] += failed
        for name, count in self._undetailed.items():
            of(name).by_mx[ALL_MX]["failed"] += count
        for d in domains.values():
            d.by_mx[ALL_MX]["successful"] += d.successful
        self._domains = domains
        return domains

    def reject(self, source: str, reason: str) -> None:
        """Record a source that is not a valid report."""
        self.rejected.append({"source": source, "reason": reason})

    def read(self, source: str, data: bytes | None, limit: int = DEFAULT_MAX_BYTES, problem: str = "") -> None:
        """Parse every report in one file's bytes; reject what is invalid, or was not read (``problem`` says why)."""
        self.merge(outcomes(Source(source, data, problem), limit, self.since, self.until))

    def merge(self, results: Iterable[Outcome]) -> None:
        """Count what :func:`outcomes` found in a source, in its order (the same whichever process found it)."""
        for kind, value in results:
            if kind == _REPORT:
                self.apply(value)  # type: ignore[arg-type]
            elif kind == _OLD:
                self.skipped_before_since += 1
            elif kind == _NEW:
                self.skipped_after_until += 1
            else:
                self.reject(*value)  # type: ignore[misc]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``mtasts reports summarize --json``."""
        domains = self.domains
        return {
            "reports": self.reports,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "skipped_before_since": self.skipped_before_since,
            "skipped_after_until": self.skipped_after_until,
            "rejected": self.rejected,
            "tolerated": dict(sorted(self.tolerated.items())),
            "domains": [domains[name].to_dict() for name in sorted(domains)],
        }


#: Failed sessions keyed (domain, policy type, result type, receiving MX or ALL_MX, sending MTA IP, receiving IP,
#: reason code, organization).
FailureKey = tuple[str, str, str, str, str, str, str, str]


def add_failure_details(of: Callable[[str], DomainSummary], failures: Iterable[tuple[FailureKey, int]]) -> None:
    """Fill each domain's :attr:`DomainSummary.failure_details` from failed sessions by :data:`FailureKey`.

    Shared by the SQL engines (:func:`mtasts.tlsrpt.sql.fill_summary`): both ways of counting build the same rows.
    """
    rows: dict[tuple[str, ...], dict[str, Any]] = {}
    touched: dict[str, DomainSummary] = {}
    for (name, policy_type, result_type, mx, sending_ip, receiving_ip, reason, org), count in failures:
        row = rows.get((name, policy_type, result_type, mx, sending_ip, receiving_ip, reason))
        if row is None:
            d = touched[name] = of(name)
            row = rows[name, policy_type, result_type, mx, sending_ip, receiving_ip, reason] = {
                "policy_type": policy_type,
                "result_type": result_type,
                "receiving_mx": mx,
                "sending_mta_ip": sending_ip,
                "receiving_ip": receiving_ip,
                "failure_reason_code": reason,
                "failed_sessions": 0,
                "organizations": {},
            }
            d.failure_details.append(row)
        row["failed_sessions"] += count
        row["organizations"][org] = row["organizations"].get(org, 0) + count
    for d in touched.values():
        d.failure_details.sort(key=_detail_order)
        for row in d.failure_details:
            row["organizations"] = dict(sorted(row["organizations"].items()))


def _detail_order(row: dict[str, Any]) -> tuple[Any, ...]:
    """Failure-detail rows: most failed sessions first, then by their text, so the order never depends on input."""
    return (
        -row["failed_sessions"],
        row["result_type"],
        row["receiving_mx"],
        row["sending_mta_ip"],
        row["receiving_ip"],
        row["failure_reason_code"],
        row["policy_type"],
    )


#: One failure detail as counted: (result type, receiving MX or ALL_MX, failed sessions, sending MTA IP, receiving IP,
#: failure reason code); absent text members are "".
Detail = tuple[str, str, int, str, str, str]
#: What one report adds: (organization, report-id, UTC day of its start, per policy: (domain, successful, failed,
#: (Detail, ...), failed sessions no failure detail accounts for, policy type), the report's tolerated deviations).
Contribution = tuple[str, str, str, tuple[tuple[str, int, int, tuple[Detail, ...], int, str], ...], tuple[str, ...]]
_REPORT, _OLD, _NEW, _REJECTED = "report", "old", "new", "rejected"
#: One finding in a source: (_REPORT, Contribution), (_OLD, None) for a report ending before --since, (_NEW, None)
#: for one starting after --until, or
#: (_REJECTED, (source, reason)). Plain tuples of str and int: cheap to send between processes.
Outcome = tuple[str, object]


def contribution(report: Report) -> Contribution:
    """The counts one report adds, keyed as :class:`Summary` keeps them.

    Names that recur (organization, day, domain, result type, MX) are interned: one object per name, so a chunk
    of outcomes sent from a worker process pickles each name once.
    """
    intern = sys.intern
    policies = []
    for policy in report.policies:
        detailed = 0
        details = []
        for failure in policy.failures:
            mx = intern(failure.receiving_mx) if failure.receiving_mx else ALL_MX
            details.append(
                (
                    intern(failure.result_type),
                    mx,
                    failure.failed_sessions,
                    intern(failure.sending_mta_ip),
                    intern(failure.receiving_ip),
                    intern(failure.failure_reason_code),
                )
            )
            detailed += failure.failed_sessions
        undetailed = policy.failed - detailed if policy.failed > detailed else 0
        policies.append(
            (
                intern(policy.policy_domain),
                policy.successful,
                policy.failed,
                tuple(details),
                undetailed,
                intern(policy.policy_type),
            )
        )
    # not strftime: year 1 must read 0001-01-01
    day = intern(report.start.date().isoformat())
    return intern(report.organization), report.report_id, day, tuple(policies), report.deviations


def _classify(report: Report, since: dt.datetime | None, until: dt.datetime | None) -> Outcome:
    if since is not None and report.end < since:
        return (_OLD, None)
    if until is not None and report.start >= until:
        return (_NEW, None)
    return (_REPORT, contribution(report))


def outcomes(source: Source, limit: int, since: dt.datetime | None, until: dt.datetime | None = None) -> list[Outcome]:
    """Everything in one source: its reports' contributions, reports older than ``since``, and rejections."""
    if source.data is None:
        return [(_REJECTED, (source.name, source.problem or "not read"))]
    try:
        payloads = list(reports_in(source.data, limit))
    except ReportError as exc:
        return [(_REJECTED, (source.name, str(exc)))]
    found: list[Outcome] = []
    for payload in payloads:
        try:
            if _document is not None:  # the typed decoder's Structs, counted without building a Report
                text = prepare(payload, limit)
                decoded = _document(text)
                if decoded is not None:
                    found.append(_classify_document(*decoded, since, until))
                    continue
                report = validate_json(text)  # says why (or, where msgspec is stricter, accepts)
            else:
                report = parse_report(payload, limit)
        except ReportError as exc:
            found.append((_REJECTED, (source.name, str(exc))))
            continue
        found.append(_classify(report, since, until))
    return found


def _classify_document(
    doc: Any, start: dt.datetime, end: dt.datetime, deviations: tuple[str, ...], since: Any, until: Any
) -> Outcome:
    """:func:`_classify` of a typed document: the same outcome :func:`contribution` gives for its Report."""
    if since is not None and end < since:
        return (_OLD, None)
    if until is not None and start >= until:
        return (_NEW, None)
    policies = []
    for entry in doc.policies:
        summary = entry.summary
        failed = summary.failed
        detailed = 0
        details: tuple[Detail, ...] = ()
        if entry.failure_details:
            found = []
            for failure in entry.failure_details:
                count = failure.failed_sessions
                mx = failure.receiving_mx
                sending = failure.sending_mta_ip
                found.append(
                    (
                        failure.result_type,  # msgspec: one str per Literal value
                        _mx_key(mx) if type(mx) is str else ALL_MX,
                        count,
                        _text_key(sending) if type(sending) is str else "",
                        _text_key(failure.receiving_ip),
                        _text_key(failure.failure_reason_code),
                    )
                )
                detailed += count
            details = tuple(found)
        undetailed = failed - detailed if failed > detailed else 0
        policy = entry.policy
        policies.append(
            (_domain_key(policy.policy_domain), summary.successful, failed, details, undetailed, policy.policy_type)
        )
    return (_REPORT, (sys.intern(doc.organization), doc.report_id, _day_key(start), tuple(policies), deviations))


@functools.lru_cache(maxsize=4096)
def _text_key(raw: str) -> str:
    return sys.intern(raw)


@functools.lru_cache(maxsize=4096)
def _mx_key(raw: str) -> str:
    """A failure detail's receiving MX as :func:`contribution` keys it (normalized, interned; none: ALL_MX)."""
    mx = _host(raw)
    return sys.intern(mx) if mx else ALL_MX


@functools.lru_cache(maxsize=4096)
def _domain_key(raw: str) -> str:
    return sys.intern(_host(raw.strip()))


@functools.lru_cache(maxsize=4096)
def _day_key(start: dt.datetime) -> str:
    return sys.intern(start.date().isoformat())


def iter_sources(paths: Iterable[str], limit: int = DEFAULT_MAX_BYTES) -> Iterator[Source]:
    """Every file under ``paths``: files, folders (recursive) and ``s3://bucket/prefix``, one at a time, in order.

    A file larger than ``limit`` is never read into memory, and one that cannot be read is not fatal: either comes
    with ``data=None`` and the reason. A bucket that cannot be listed is: :class:`~mtasts.errors.MtastsError`.
    """
    for path in paths:
        if path.startswith("s3://"):
            from .s3 import s3_objects

            yield from s3_objects(path, limit)
        elif os.path.isdir(path):
            yield from _walk(path, limit)
        else:
            yield _read(path, limit)


#: Rows objects (mtasts.tlsrpt.rows) in a copy of the bucket: derived from the reports, skipped by folder walks.
ROWS_SUFFIX = ".jsonl.gz"
#: Deepest folder walked below a PATH argument; deeper folders are rejected (a report store has 4-5 levels).
MAX_FOLDER_DEPTH = 64
#: Bytes read per system call while bounding a read.
_READ_CHUNK = 1024 * 1024


def _walk(folder: str, limit: int) -> Iterator[Source]:
    """Every file under ``folder``, read (see :func:`_files`)."""
    for item in _files(folder, limit):
        yield _read_walked(item, limit) if type(item) is str else item  # type: ignore[misc]


def _files(folder: str, limit: int) -> Iterator[str | Source]:
    """Regular files under ``folder`` (paths), depth first in name order; links to folders are not followed.

    Iterative, not recursive, so no folder depth exhausts the stack; past :data:`MAX_FOLDER_DEPTH` levels, and for
    any entry the OS cannot stat (a symbolic link loop: ELOOP), the entry is rejected with its reason.
    """
    stack: list[Iterator[os.DirEntry[str]]] = []
    listing = _listing(folder)
    if isinstance(listing, Source):
        yield listing
        return
    stack.append(listing)
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                if len(stack) >= MAX_FOLDER_DEPTH:
                    yield Source(entry.path, None, f"folder nested deeper than {MAX_FOLDER_DEPTH} levels")
                    continue
                listing = _listing(entry.path)
                if isinstance(listing, Source):
                    yield listing
                else:
                    stack.append(listing)
                continue
            regular = entry.is_file()  # follows links; a FIFO or device could block or never end
        except OSError as exc:  # a link loop (ELOOP), or an entry that vanished
            yield Source(entry.path, None, f"not readable: {exc.strerror}")
            continue
        if regular:
            if not entry.name.endswith(ROWS_SUFFIX):  # rows objects (mtasts.tlsrpt.rows) are no reports
                yield entry.path
        elif entry.is_symlink() and not os.path.exists(entry.path):
            yield Source(entry.path, None, "symbolic link to nothing or a link loop")


def _listing(folder: str) -> Iterator[os.DirEntry[str]] | Source:
    """A folder's entries in name order, or why it cannot be listed."""
    try:
        with os.scandir(folder) as scan:
            return iter(sorted(scan, key=lambda entry: entry.name))
    except OSError as exc:
        return Source(folder, None, f"folder not readable: {exc.strerror}")


def _read(path: str, limit: int) -> Source:
    """A file's bytes, read in bounded steps (None past ``limit``): a device or pipe that never ends is cut off.

    A regular file costs one open, one fstat, one read (its size plus one byte, which shows whether it grew).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        return Source(path, None, f"file not readable: {exc.strerror}")
    try:
        info = os.fstat(fd)
        if info.st_size > limit:
            return Source(path, None, f"file size {info.st_size} exceeds {limit} bytes")
        if stat.S_ISREG(info.st_mode):
            data = os.read(fd, info.st_size + 1)
            if len(data) <= info.st_size:
                return Source(path, data)
            chunks = [data]
        else:
            chunks = []
        # a file that grew, a device (/dev/zero), a pipe: read until the end or the cap
        total = _read_on(fd, chunks, limit)
    except OSError as exc:
        return Source(path, None, f"file not readable: {exc.strerror}")
    finally:
        os.close(fd)
    if total > limit:
        return Source(path, None, f"more than {limit} bytes (--max-bytes)")
    return Source(path, b"".join(chunks))


def _read_on(fd: int, chunks: list[bytes], limit: int) -> int:
    """Append what is left of ``fd`` to ``chunks``, stopping once they hold more than ``limit`` bytes; their total."""
    total = sum(map(len, chunks))
    while total <= limit:
        chunk = os.read(fd, min(_READ_CHUNK, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return total


#: First read of a walked file: most reports fit, so no fstat is needed to size the read.
_FIRST_READ = 64 * 1024


def _read_walked(path: str, limit: int) -> Source:
    """A regular file found by the walk: one open, one read, one close (from 64 KiB on, an fstat and more reads).

    A read of a regular file returns less than asked only at its end (the same fact :func:`_read` relies on), so a
    short first read is the whole file. O_NONBLOCK: had the entry been swapped for a FIFO since the walk, neither
    the open nor a read could block.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        return Source(path, None, f"file not readable: {exc.strerror}")
    try:
        first = min(_FIRST_READ, limit + 1)
        data = os.read(fd, first)
        if len(data) < first:
            return Source(path, data)
        size = os.fstat(fd).st_size  # a large file: is it worth reading on?
        if size > limit:
            return Source(path, None, f"file size {size} exceeds {limit} bytes")
        chunks = [data]
        total = _read_on(fd, chunks, limit)
    except OSError as exc:
        return Source(path, None, f"file not readable: {exc.strerror}")
    finally:
        os.close(fd)
    if total > limit:  # it grew since the fstat
        return Source(path, None, f"more than {limit} bytes (--max-bytes)")
    return Source(path, b"".join(chunks))


#: Sources per task sent to a worker process: large enough that sending costs little per report.
CHUNK = 256
#: Tasks in flight per worker: enough to keep it busy while the parent merges, few enough to bound memory
#: (at most jobs x this x CHUNK file names, and the outcomes of as many sources).
TASKS_PER_WORKER = 2


def _work(chunk: list[str], limit: int, since: dt.datetime | None, until: dt.datetime | None) -> list[list[Outcome]]:
    """In a worker process: read, decompress, decode and validate each file of ``chunk``."""
    return [outcomes(_read_walked(path, limit), limit, since, until) for path in chunk]


class Reader:
    """Reads sources into a :class:`Summary`, with ``jobs`` worker processes for local files.

    Workers read, decompress, decode and validate whole files and send back plain tuples (:data:`Outcome`);
    the parent merges them strictly in input order, so counts, duplicates (the first copy counts) and the list
    of rejections are exactly those of a single-process run. Memory stays bounded: at most
    ``jobs * TASKS_PER_WORKER`` chunks of :data:`CHUNK` files are in flight. S3 objects are decoded in this
    process while threads fetch the next ones: fetching, not decoding, bounds that rate.

    Processes are forked (Linux), so the pool is created before any thread (progress bar, S3 pool) starts; where
    fork is not available, or with ``jobs=1``, everything runs in this process.
    """

    def __init__(self, summary: Summary, limit: int = DEFAULT_MAX_BYTES, jobs: int = 1) -> None:
        self.summary = summary
        self.limit = limit
        self.jobs = jobs if jobs > 1 and "fork" in multiprocessing.get_all_start_methods() else 1
        self._pool: Any = None

    def __enter__(self) -> Reader:
        if self.jobs > 1:
            context = multiprocessing.get_context("fork")
            self._pool = concurrent.futures.ProcessPoolExecutor(self.jobs, mp_context=context)
            self._pool.submit(int).result()  # fork the workers now, before any thread starts
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def read(
        self,
        paths: Iterable[str],
        advance: Callable[[int], None] | None = None,
        listed: Callable[[int], None] | None = None,
    ) -> None:
        """Count every report under ``paths`` (files, folders, ``s3://``), in order.

        ``advance(n)`` is called after n sources were counted, ``listed(n)`` when n S3 objects were listed.
        """
        for path in paths:
            if path.startswith("s3://"):
                from .s3 import s3_objects

                summary = self.summary
                objects = s3_objects(path, self.limit, summary.since, summary.until, listed=listed)
                self.read_sources(objects, advance)
            elif os.path.isdir(path):
                self.read_files(_files(path, self.limit), advance)
            else:  # a file named on the command line may be a pipe or a device: read it here, bounded
                self.read_files(iter([_read(path, self.limit)]), advance)

    def read_sources(self, sources: Iterable[Source], advance: Callable[[int], None] | None = None) -> None:
        """Count sources already read (S3 objects, rejections), in this process."""
        for source in sources:
            self.summary.merge(outcomes(source, self.limit, self.summary.since, self.summary.until))
            if advance is not None:
                advance(1)

    def read_files(self, items: Iterator[str | Source], advance: Callable[[int], None] | None = None) -> None:
        """Count local files (``str`` paths, read by the workers) and rejected entries (:class:`Source`), in order."""
        summary, limit, since, until = self.summary, self.limit, self.summary.since, self.summary.until
        if self._pool is None:
            for item in items:
                source = _read_walked(item, limit) if type(item) is str else item
                summary.merge(outcomes(source, limit, since, until))  # type: ignore[arg-type]
                if advance is not None:
                    advance(1)
            return
        pending: collections.deque[tuple[list[Source | None], Any]] = collections.deque()
        window = self.jobs * TASKS_PER_WORKER
        while True:
            chunk = list(itertools.islice(items, CHUNK))
            if chunk:
                # entries the walk rejected are kept in place, so the order of rejections stays the input's
                files = [item for item in chunk if isinstance(item, str)]
                order = [None if isinstance(item, str) else item for item in chunk]
                pending.append((order, self._pool.submit(_work, files, limit, since, until)))
            if not pending:
                return
            if chunk and len(pending) < window:
                continue
            order, task = pending.popleft()
            try:
                results = iter(task.result())
            except concurrent.futures.process.BrokenProcessPool:  # a worker was killed (out of memory, a signal)
                raise MtastsError(Problem("--jobs", "a worker process died; run again with --jobs 1")) from None
            for entry in order:
                summary.merge(next(results) if entry is None else outcomes(entry, limit, since, until))
            if advance is not None:
                advance(len(order))
