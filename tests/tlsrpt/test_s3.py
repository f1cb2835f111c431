"""Reading reports from S3 (moto): date prefixes only, concurrent fetches in order, throttling retried."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner
from moto import mock_aws
from reports import as_gzip, as_json, as_mail, report

from mtasts.cli import main
from mtasts.errors import MtastsError
from mtasts.tlsrpt import s3
from mtasts.tlsrpt.s3 import s3_objects

UTC = dt.UTC
DAYS = ["2026-09-15", "2026-10-30", "2026-10-31", "2026-11-01", "2026-11-15", "2026-11-30", "2026-12-01", "2027-01-02"]


@pytest.fixture
def bucket(fake_aws_credentials: None) -> Iterator[Any]:
    """A reports bucket laid out as the rua endpoint and SES store it: two domains by day, and mails."""
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="reports")
        for domain in ("a.example", "b.example"):
            for day in DAYS:
                key = f"{domain}/{day.replace('-', '/')}/r-{day}.0123456789abcdef.json.gz"
                body = as_gzip(report(report_id=f"{domain}-{day}", domain=domain, day=day))
                client.put_object(Bucket="reports", Key=key, Body=body)
        client.put_object(Bucket="reports", Key="mail/m1", Body=as_mail(report(report_id="mail", day="2026-11-20")))
        yield client


class Recorder:
    """A client that records every listed prefix and can fail requests on demand."""

    def __init__(self, client: Any, failures: dict[str, list[str]] | None = None) -> None:
        self.client = client
        self.prefixes: list[str] = []
        self.failures = failures or {}

    def list_objects_v2(self, **kwargs: Any) -> Any:
        self.prefixes.append(kwargs["Prefix"] + ("|" if "Delimiter" in kwargs else ""))
        self._maybe_fail("list")
        return self.client.list_objects_v2(**kwargs)

    def get_object(self, **kwargs: Any) -> Any:
        self._maybe_fail("get")
        return self.client.get_object(**kwargs)

    def _maybe_fail(self, operation: str) -> None:
        codes = self.failures.get(operation)
        if codes:
            code = codes.pop(0)
            raise ClientError({"Error": {"Code": code, "Message": f"{code} injected"}}, operation)


def test_a_period_lists_only_its_months_and_reads_only_its_days(bucket: Any) -> None:
    """--since/--until November: month prefixes 2026/10 (one day of slack) and 2026/11 only, and mail/."""
    client = Recorder(bucket)
    since, until = dt.datetime(2026, 11, 1, tzinfo=UTC), dt.datetime(2026, 12, 1, tzinfo=UTC)
    listed: list[int] = []
    sources = list(s3_objects("s3://reports/", 10**6, since, until, client=client, listed=listed.append))
    names = [s.name for s in sources]
    assert names == [
        *(
            f"s3://reports/{d}/{day}/r-{day.replace('/', '-')}.0123456789abcdef.json.gz"
            for d in ("a.example", "b.example")
            for day in ("2026/10/31", "2026/11/01", "2026/11/15", "2026/11/30")
        ),
        "s3://reports/mail/m1",
    ]
    assert all(s.data for s in sources)
    assert sum(listed) == len(sources)
    month_lists = sorted(p for p in client.prefixes if not p.endswith("|"))
    assert month_lists == [
        "a.example/2026/10/",
        "a.example/2026/11/",
        "b.example/2026/10/",
        "b.example/2026/11/",
        "mail/",
    ]


def test_summarize_by_period_counts_what_is_inside(bucket: Any) -> None:
    """`summarize s3://… --since --until` counts November's reports; the slack day is dropped after decoding."""
    result = CliRunner().invoke(
        main, ["reports", "summarize", "s3://reports/", "--since", "2026-11-01", "--until", "2026-11-30", "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    # 3 November days x 2 domains, the mail, and 2026-10-31 (its period ends 23:59:59 before --since: not counted)
    assert doc["reports"] == 7
    assert doc["rejected"] == []


def test_a_domain_folder_is_listed_by_date_too(bucket: Any) -> None:
    """s3://bucket/a.example/ with a period lists only that domain's months."""
    client = Recorder(bucket)
    until = dt.datetime(2026, 10, 1, tzinfo=UTC)
    sources = list(s3_objects("s3://reports/a.example/", 10**6, None, until, client=client))
    assert [s.name.rsplit("/", 1)[1] for s in sources] == ["r-2026-09-15.0123456789abcdef.json.gz"]
    assert "a.example/2026/11/" not in client.prefixes


def test_without_a_period_every_object_is_read_in_listing_order(bucket: Any) -> None:
    """No --since/--until: one listing of the whole prefix, objects yielded in key order."""
    client = Recorder(bucket)
    sources = list(s3_objects("s3://reports/", 10**6, client=client))
    assert len(sources) == 2 * len(DAYS) + 1
    assert [s.name for s in sources] == sorted(s.name for s in sources)
    assert client.prefixes == [""]


def test_throttling_is_retried_with_growing_backoff(bucket: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """SlowDown and 503 are retried, each wait drawn below a cap that doubles; the data arrives."""
    monkeypatch.setattr(s3.random, "uniform", lambda low, high: high)  # the cap itself, to see it grow
    waits: list[float] = []
    client = Recorder(bucket, {"list": ["SlowDown", "503"], "get": ["SlowDown", "SlowDown", "SlowDown"]})
    sources = list(s3_objects("s3://reports/a.example/", 10**6, client=client, sleep=waits.append))
    assert all(s.data for s in sources)
    assert len(sources) == len(DAYS)
    assert waits[:2] == [s3.BACKOFF, 2 * s3.BACKOFF]  # the listing's two retries
    # the gets' three retries: whichever objects drew them, each chain starts at BACKOFF and doubles
    assert len(waits) == 5
    assert waits[2:].count(s3.BACKOFF) >= 1
    assert set(waits[2:]) <= {s3.BACKOFF, 2 * s3.BACKOFF, 4 * s3.BACKOFF}


def test_other_errors_are_not_retried_and_reject_only_that_object(bucket: Any) -> None:
    """AccessDenied on one GET rejects that object with the reason at once; the others are read."""
    waits: list[float] = []
    client = Recorder(bucket, {"get": ["AccessDenied"]})
    sources = list(s3_objects("s3://reports/b.example/", 10**6, client=client, sleep=waits.append))
    problems = [s.problem for s in sources if s.data is None]
    assert problems == ["object not readable: AccessDenied: AccessDenied injected"]
    assert waits == []


def test_throttling_that_never_ends_fails_the_listing(bucket: Any) -> None:
    """A listing throttled ATTEMPTS times is one error naming the URL (the caller prints it, exit 2)."""
    client = Recorder(bucket, {"list": ["SlowDown"] * s3.ATTEMPTS})
    with pytest.raises(MtastsError, match="s3://reports/: cannot list the bucket: SlowDown: SlowDown injected"):
        list(s3_objects("s3://reports/", 10**6, client=client, sleep=lambda _: None))


def test_objects_over_the_cap_are_not_fetched(bucket: Any) -> None:
    """An object larger than --max-bytes is rejected from its listed size, without a GET."""
    bucket.put_object(Bucket="reports", Key="a.example/big.json", Body=b"{" + b" " * 5000 + b"}")
    sources = list(s3_objects("s3://reports/a.example/big", 4096, client=bucket))
    assert [(s.name, s.problem) for s in sources] == [
        ("s3://reports/a.example/big.json", "object size 5002 exceeds 4096 bytes")
    ]


def test_progress_total_is_objects_listed(bucket: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal the bar's total grows with the objects listed, and it advances once per object."""
    monkeypatch.setattr("mtasts.tlsrpt.cli._stderr_is_terminal", lambda: True)
    totals: list[object] = []
    done: list[int] = []
    monkeypatch.setattr("rich.progress.Progress.update", lambda self, task, total=None, **_: totals.append(total))
    monkeypatch.setattr("rich.progress.Progress.advance", lambda self, task, advance=1: done.append(advance))
    result = CliRunner().invoke(main, ["reports", "summarize", "s3://reports/", "--json"])
    assert result.exit_code == 0, result.output
    assert totals[-1] == sum(done) == 2 * len(DAYS) + 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "soon"], "'soon' is not a date: expected YYYY-MM-DD (a UTC day), e.g. 2026-11-01"),
        (["--until", "2026-13-01"], "'2026-13-01' is not a date"),
        (["--since", "2026-11-02", "--until", "2026-11-01"], "'2026-11-01' is before --since '2026-11-02'"),
    ],
)
def test_bad_periods_are_usage_errors(tmp_path: Any, args: list[str], message: str) -> None:
    """A --since or --until that is no date, or an empty period, is exit 2 with a message saying what is expected."""
    result = CliRunner().invoke(main, ["reports", "summarize", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_until_counts_the_whole_day(tmp_path: Any) -> None:
    """--until 2026-11-01 keeps a report starting on 2026-11-01 and drops one starting on 2026-11-02."""
    (tmp_path / "a.json").write_bytes(as_json(report(report_id="a", day="2026-11-01")))
    (tmp_path / "b.json").write_bytes(as_json(report(report_id="b", day="2026-11-02")))
    result = CliRunner().invoke(main, ["reports", "summarize", str(tmp_path), "--until", "2026-11-01", "--json"])
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.stdout)["domains"][0]["by_day"]) == ["2026-11-01"]


def test_mail_stored_before_since_is_not_fetched(bucket: Any) -> None:
    """Objects without a date layout (mail/) last modified before --since are skipped: their reports ended before."""
    modified = bucket.head_object(Bucket="reports", Key="mail/m1")["LastModified"]
    after = modified + dt.timedelta(days=2)
    client = Recorder(bucket)
    sources = list(s3_objects("s3://reports/", 10**6, after, None, client=client))
    assert not [s for s in sources if s.name.startswith("s3://reports/mail/")]
    assert "mail/" in client.prefixes  # listed, then skipped by modification time
