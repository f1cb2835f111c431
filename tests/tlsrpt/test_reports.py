"""Reading, validating and aggregating TLS-RPT reports (RFC 8460 §4), and the summarize command."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from parsedmarc import parse_smtp_tls_report_json
from reports import as_gzip, as_json, as_mail, report

from mtasts.cli import main
from mtasts.tlsrpt.aggregate import ALL_MX, Summary
from mtasts.tlsrpt.envelope import ReportError
from mtasts.tlsrpt.report import parse_report

RFC_EXAMPLE = Path(__file__).with_name("rfc8460-example.json").read_bytes()


def test_rfc_appendix_b_example_parses() -> None:
    """RFC 8460 Appendix B's example report (mx-host a string, optional fields here and there) validates."""
    r = parse_report(RFC_EXAMPLE)
    assert (r.organization, r.report_id) == ("Company-X", "5065427c-23d3-47ca-b6e0-946ea0e8c4be")
    assert (r.start.isoformat(), r.end.isoformat()) == ("2016-04-01T00:00:00+00:00", "2016-04-01T23:59:59+00:00")
    (policy,) = r.policies
    assert (policy.policy_type, policy.policy_domain, policy.mx_hosts) == (
        "sts",
        "company-y.example",
        ("*.mail.company-y.example",),
    )
    assert (policy.successful, policy.failed) == (5326, 303)
    assert [(f.result_type, f.receiving_mx, f.failed_sessions) for f in policy.failures] == [
        ("certificate-expired", "mx1.mail.company-y.example", 100),
        ("starttls-not-supported", "mx2.mail.company-y.example", 200),
        ("validation-failure", "mx-backup.mail.company-y.example", 3),
    ]


def test_rfc_example_agrees_with_parsedmarc() -> None:
    """parsedmarc reads the same organization, id, dates and counts from RFC 8460's example.

    One disagreement, on purpose: parsedmarc keeps the MX patterns only from the drafts' ``mx-host-pattern`` and
    drops RFC 8460's ``mx-host`` (the example's field); the kit reads both.
    """
    theirs = parse_smtp_tls_report_json(RFC_EXAMPLE)
    ours = parse_report(RFC_EXAMPLE)
    assert (theirs["organization_name"], theirs["report_id"]) == (ours.organization, ours.report_id)
    assert (theirs["begin_date"], theirs["end_date"]) == ("2016-04-01T00:00:00Z", "2016-04-01T23:59:59Z")
    assert (ours.start.isoformat(), ours.end.isoformat()) == ("2016-04-01T00:00:00+00:00", "2016-04-01T23:59:59+00:00")
    (policy,) = theirs["policies"]
    assert (policy["successful_session_count"], policy["failed_session_count"]) == (5326, 303)
    assert [(d["result_type"], d["failed_session_count"]) for d in policy["failure_details"]] == [
        (f.result_type, f.failed_sessions) for f in ours.policies[0].failures
    ]
    assert "mx_host_patterns" not in policy
    assert ours.policies[0].mx_hosts == ("*.mail.company-y.example",)


def test_gzip_and_mail_and_draft_field_name() -> None:
    """gzip, a tlsrpt mail and the draft's mx-host-pattern all read the same report."""
    summary = Summary()
    summary.read("a.json.gz", as_gzip(report(report_id="a")))
    summary.read("b.eml", as_mail(report(report_id="b")))
    summary.read("c.json", as_json(report(report_id="c", mx_key="mx-host-pattern")))
    assert summary.rejected == []
    assert summary.reports == 3
    assert summary.domains["company-y.example"].successful == 3 * 5326


def test_aggregation_by_day_result_org_and_mx() -> None:
    """Counts add up per UTC day, result type, sending organization and receiving MX; rates are derivable."""
    summary = Summary()
    summary.read("1", as_json(report(report_id="1", day="2026-11-01")))
    summary.read("2", as_json(report(org="Other", report_id="1", day="2026-11-02", successful=10, failures=[])))
    d = summary.domains["company-y.example"].to_dict()
    assert d["successful_sessions"] == 5336
    assert d["failed_sessions"] == 303
    assert d["by_result_type"] == {"certificate-expired": 100, "starttls-not-supported": 203}
    assert d["by_organization"] == {
        "Company-X": {"successful": 5326, "failed": 303},
        "Other": {"successful": 10, "failed": 0},
    }
    assert d["by_day"] == {
        "2026-11-01": {"successful": 5326, "failed": 303},
        "2026-11-02": {"successful": 10, "failed": 0},
    }
    assert d["by_mx"]["mx1.mail.company-y.example"] == {"successful": 0, "failed": 100}
    assert d["by_mx"][ALL_MX] == {"successful": 5336, "failed": 0}


def test_duplicates_are_counted_once() -> None:
    """The same report-id from the same organization, delivered twice, counts once."""
    summary = Summary()
    summary.read("a", as_json(report()))
    summary.read("b", as_gzip(report()))
    assert (summary.reports, summary.duplicates) == (1, 1)


def dated(start: str, end: str = "2016-04-01T23:59:59Z") -> bytes:
    return as_json({**report(), "date-range": {"start-datetime": start, "end-datetime": end}})


def with_summary(successful: object) -> bytes:
    doc = report()
    doc["policies"][0]["summary"]["total-successful-session-count"] = successful
    return as_json(doc)


def mx_host(value: object) -> bytes:
    doc = report()
    doc["policies"][0]["policy"]["mx-host"] = value
    return as_json(doc)


def no_result_type() -> bytes:
    doc = report()
    del doc["policies"][0]["failure-details"][0]["result-type"]
    return as_json(doc)


def bomb() -> bytes:
    return gzip.compress(b"{" + b" " * (20 * 1024 * 1024) + b"}")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (bomb(), "decompressed size exceeds 10485760 bytes"),
        (as_gzip(report())[:-20], "truncated gzip"),
        (b"\x1f\x8bnot gzip at all", "invalid gzip data"),
        (b"{not json", "invalid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 32 levels"),
        (as_json({k: v for k, v in report().items() if k != "report-id"}), "report-id: missing"),
        (
            as_json(
                {**report(), "date-range": {"start-datetime": "yesterday", "end-datetime": "2016-04-01T23:59:59Z"}}
            ),
            "date-range.start-datetime: 'yesterday' is not an RFC 3339",
        ),
        (
            json.dumps(report(successful="5326")).encode(),
            "policies[0].summary.total-successful-session-count: expected a non-negative integer",
        ),  # type: ignore[arg-type]
        (
            as_json(report(failures=[("certificate-melted", "mx", 1)])),
            "policies[0].failure-details[0].result-type: 'certificate-melted'",
        ),
        (
            as_json(
                {**report(), "policies": [{"policy": {"policy-type": "dane", "policy-domain": "x"}, "summary": {}}]}
            ),
            "policy-type: 'dane'",
        ),
        (dated("20160401T000000Z"), "date-range.start-datetime: '20160401T000000Z' is not an RFC 3339"),
        (dated("2016-04-01T00:00Z"), "date-range.start-datetime: '2016-04-01T00:00Z' is not an RFC 3339"),
        (dated("2016-04-02T00:00:00Z"), "date-range.end-datetime: before start-datetime"),
        (dated("2016-04-01T00:00:00." + "0" * 100 + "+2"), "date-range.start-datetime: '2016-04-01T00:00:00.000"),
        (with_summary(True), "total-successful-session-count: expected a non-negative integer, got True"),
        (with_summary(-1), "total-successful-session-count: expected a non-negative integer, got -1"),
        (with_summary(1.5), "total-successful-session-count: expected a non-negative integer, got 1.5"),
        (b'{"organization-name": "\xff"}', "invalid JSON: not UTF-8"),
        (b"[]", "the report is not a JSON object but a list"),
        (as_json({**report(), "policies": {}}), "policies: expected a list, got an object"),
        (
            as_json({**report(), "extension": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}),
            "nested deeper",
        ),
        (mx_host(5), "policies[0].policy.mx-host: expected a list of strings, got int"),
        (no_result_type(), "policies[0].failure-details[0].result-type: missing"),
        (b'{"a": "' + b'\\"[' * 350_000, "invalid JSON: Unterminated string"),
    ],
    ids=[
        "gzip-bomb",
        "truncated",
        "bad-gzip",
        "invalid-json",
        "deep-nesting",
        "missing-field",
        "bad-date",
        "wrong-type",
        "unknown-result",
        "unknown-policy-type",
        "basic-format-date",
        "no-seconds",
        "end-before-start",
        "long-date-time-with-a-bad-zone",
        "boolean-count",
        "negative-count",
        "float-count",
        "not-utf8",
        "not-an-object",
        "policies-not-a-list",
        "deep-in-unknown-field",
        "mx-host-type",
        "no-result-type",
        "1-mib-of-escaped-quotes-and-brackets",
    ],
)
def test_hostile_and_malformed_reports_are_rejected_with_a_reason(data: bytes, reason: str) -> None:
    """Each bad input is rejected naming the field or the limit, without exhausting memory."""
    with pytest.raises(ReportError, match=reason.replace("[", r"\[").replace("(", r"\(")):
        parse_report(data)


def test_rejected_files_are_listed_and_valid_ones_kept(tmp_path: Path) -> None:
    """summarize --json lists rejected sources with reasons and never drops a valid report."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "company-x.example!company-y.example!1459468800!1459555199!1.json.gz").write_bytes(as_gzip(report()))
    (tmp_path / "sub" / "mail.eml").write_bytes(as_mail(report(report_id="2")))
    (tmp_path / "sub" / "notes.txt").write_bytes(b"hello")
    (tmp_path / "big.json").write_bytes(b"{" + b" " * 20_000 + b"}")
    result = CliRunner().invoke(main, ["reports", "summarize", str(tmp_path), "--json", "--max-bytes", "10000"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["reports"] == 2
    assert sorted(Path(r["source"]).name for r in doc["rejected"]) == ["big.json", "notes.txt"]
    assert {r["reason"] for r in doc["rejected"]} == {
        "file size 20002 exceeds 10000 bytes",
        "neither a JSON report, gzip data nor a mail",
    }
    (domain,) = doc["domains"]
    assert set(domain) == {
        "domain",
        "successful_sessions",
        "failed_sessions",
        "by_result_type",
        "by_organization",
        "by_mx",
        "by_day",
        "by_policy_type",
        "failures_by_day",
        "failure_details",
    }
    assert domain["successful_sessions"] == 2 * 5326


def test_since_filters_older_reports(tmp_path: Path) -> None:
    """--since keeps only reports whose period ends on or after the date."""
    (tmp_path / "old.json").write_bytes(as_json(report(report_id="old", day="2026-01-01")))
    (tmp_path / "new.json").write_bytes(as_json(report(report_id="new", day="2026-06-01")))
    result = CliRunner().invoke(main, ["reports", "summarize", str(tmp_path), "--json", "--since", "2026-03-01"])
    assert json.loads(result.stdout)["reports"] == 1


def test_table_output(tmp_path: Path) -> None:
    """The terminal output shows the domain, its success rate and failures by result type."""
    (tmp_path / "r.json").write_bytes(as_json(report()))
    result = CliRunner().invoke(main, ["reports", "summarize", str(tmp_path)])
    assert result.exit_code == 0
    assert "company-y.example" in result.stdout
    assert "94.62%" in result.stdout
    assert "starttls-not-supported" in result.stdout


def test_usage_errors(tmp_path: Path) -> None:
    """A missing path or a bad --since date is exit 2."""
    assert CliRunner().invoke(main, ["reports", "summarize", str(tmp_path / "nope")]).exit_code == 2
    assert CliRunner().invoke(main, ["reports", "summarize", str(tmp_path), "--since", "soon"]).exit_code == 2


def test_s3_source(fake_aws_credentials: None) -> None:
    """s3://bucket/prefix reads every object under the prefix (moto)."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="reports")
        s3.put_object(
            Bucket="reports", Key="company-y.example/2016/04/01/a.json.gz", Body=as_gzip(report(report_id="a"))
        )
        s3.put_object(Bucket="reports", Key="company-y.example/2016/04/01/b.json", Body=as_json(report(report_id="b")))
        s3.put_object(Bucket="reports", Key="other/x.json", Body=b"{}")
        result = CliRunner().invoke(main, ["reports", "summarize", "s3://reports/company-y.example/", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["reports"] == 2


def test_mail_as_ses_stores_it_with_long_trace_headers() -> None:
    """A raw mail whose Content-Type comes after kilobytes of Received headers (as SES stores it) is still read."""
    trace = b"".join(
        b"Received: from relay%d.example by mx.example; Sat, 28 Nov 2026 00:00:00 +0000\r\n" % i for i in range(60)
    )
    summary = Summary()
    summary.read("mail/abc", b"Return-Path: <tlsrpt@company-x.example>\r\n" + trace + as_mail(report()))
    assert summary.rejected == []
    assert summary.reports == 1


def test_valid_variants_are_never_dropped() -> None:
    """Leap seconds, lower-case t/z, offsets, a byte order mark, brackets inside strings, no mx-host: all accepted."""
    no_mx = report(report_id="no-mx")
    del no_mx["policies"][0]["policy"]["mx-host"]
    no_mx["policies"][0]["policy"]["policy-type"] = "no-policy-found"
    brackets = report(report_id="brackets")
    brackets["policies"][0]["policy"]["policy-string"].append("[{" * 100)
    inputs = [
        dated("2016-12-31T23:59:60Z", "2016-12-31T23:59:60Z"),  # RFC 3339 §5.6 time-second allows 60
        as_json(
            {
                **report(report_id="lower"),
                "date-range": {"start-datetime": "2016-04-01t00:00:00z", "end-datetime": "2016-04-01t23:59:59.5z"},
            }
        ),
        b"\xef\xbb\xbf" + as_json(report(report_id="bom")),
        as_json(
            {
                **report(report_id="long-fraction"),
                "date-range": {
                    "start-datetime": "2016-04-01T00:00:00Z",
                    "end-datetime": "2016-04-01T23:59:59." + "9" * 100 + "Z",
                },
            }
        ),
        as_json(no_mx),
        as_json(brackets),
    ]
    summary = Summary()
    for index, data in enumerate(inputs):
        summary.read(str(index), data)
    assert summary.rejected == []
    assert summary.reports == len(inputs)


def test_days_are_utc_days() -> None:
    """A report whose period starts at 22:00 in UTC-4 counts on the next UTC day (RFC 8460 §4.4 uses UTC days)."""
    summary = Summary()
    summary.read("x", dated("2016-04-01T22:00:00-04:00", "2016-04-02T21:59:59-04:00"))
    assert list(summary.domains["company-y.example"].by_day) == ["2016-04-02"]


def test_mail_parts_by_content_type() -> None:
    """A mail's application/tlsrpt+json part is read; a mail whose report part has another type is rejected."""
    summary = Summary()
    summary.read("json-part.eml", as_mail(report(report_id="json-part"), subtype="tlsrpt+json"))
    summary.read("wrong-type.eml", as_mail(report(report_id="other"), subtype="gzip"))
    assert summary.reports == 1
    assert summary.rejected == [
        {
            "source": "wrong-type.eml",
            "reason": "the mail has no application/tlsrpt+gzip or application/tlsrpt+json part (RFC 8460 §5.3)",
        }
    ]


def test_folders_skip_fifos_and_do_not_follow_link_loops(tmp_path: Path) -> None:
    """A FIFO (which would block a reader) and a symlink back to the folder are passed over; the report is read."""
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "r.json").write_bytes(as_json(report()))
    result = CliRunner().invoke(main, ["reports", "summarize", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["reports"], doc["rejected"]) == (1, [])


def test_progress_goes_to_stderr_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With stderr on a terminal a progress bar runs, and stdout still holds exactly one JSON document."""
    for index in range(3):
        (tmp_path / f"{index}.json").write_bytes(as_json(report(report_id=str(index))))
    monkeypatch.setattr("mtasts.tlsrpt.cli._stderr_is_terminal", lambda: True)
    shown: list[str] = []
    monkeypatch.setattr("rich.progress.Progress.add_task", lambda self, description, **_: shown.append(description))
    monkeypatch.setattr("rich.progress.Progress.advance", lambda self, task, advance=1: shown.extend(["+1"] * advance))
    result = CliRunner().invoke(main, ["reports", "summarize", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["reports"] == 3
    assert shown == ["reading reports", "+1", "+1", "+1"]


def nested_mail(depth: int) -> bytes:
    head = b'From: a@b.example\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n'
    return head + b"".join(
        b'--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n' % (i - 1, i) for i in range(1, depth)
    )


def test_deeply_nested_mail_is_rejected_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    """3,000 nested multiparts are refused by the boundary count, or, with the limits lifted, by the recursion guard."""
    summary = Summary()
    summary.read("deep.eml", nested_mail(3000))
    monkeypatch.setattr("mtasts.tlsrpt.envelope.MAX_MULTIPARTS", 10**6)
    monkeypatch.setattr("mtasts.tlsrpt.envelope.MAX_MAIL_PARTS", 10**6)
    summary.read("deeper.eml", nested_mail(3000))
    assert [r["reason"] for r in summary.rejected] == [
        "the mail has more than 16 multipart boundaries",
        "the mail's MIME parts are nested too deeply",
    ]


def _field_paths(value: object, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every field path of a JSON document, containers included."""
    children: list[tuple[str | int, object]] = []
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    return [p for key, child in children for p in [(*path, key), *_field_paths(child, (*path, key))]]


RFC_PATHS = _field_paths(json.loads(RFC_EXAMPLE))
#: Stands for a 5,000-digit integer, which Python's json module cannot write: replaced in the encoded text.
HUGE = "<5000-digit integer>"
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 10**6)
    | st.integers(2**53 - 2, 2**70)
    | st.just(HUGE)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["\ud800", "mx\udfff.example", "é.example"])
    | st.sampled_from(
        [
            "9999-12-31T23:59:59-23:59",
            "0001-01-01T00:00:00+01:00",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:60+00:00",
            "2016-04-01T00:00:00Z",
        ]
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)


def _with_value(path: tuple[str | int, ...], value: object) -> bytes:
    """RFC 8460's example with the field at ``path`` replaced by ``value``, as JSON text."""
    doc = json.loads(RFC_EXAMPLE)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return json.dumps(doc).replace(json.dumps(HUGE), "9" * 5000).encode()


@settings(max_examples=400, deadline=None)
@given(path=st.sampled_from(RFC_PATHS), value=JSON_VALUES)
def test_any_value_in_any_field_is_accepted_or_rejected_naming_that_field(
    path: tuple[str | int, ...], value: object
) -> None:
    """Whatever JSON replaces a field of RFC 8460's example, the report is accepted or rejected naming the field.

    The values include 5,000-digit and 2**70 integers, lone surrogates and dates that overflow once in UTC: none
    may raise past the parser (issue 11), and an accepted report must also render as text and HTML.
    """
    summary = Summary()
    summary.read("x.json", _with_value(path, value))
    if summary.rejected:
        (rejected,) = summary.rejected
        name = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path).lstrip(".")
        if path[0] == "date-range":
            name = "date-range"  # a valid but later start-datetime is reported on end-datetime ("before start")
        assert rejected["reason"].startswith(name), (name, rejected["reason"])
    else:
        assert summary.reports == 1
        json.dumps(summary.to_dict()).encode("utf-8")
        from mtasts.tlsrpt.html import render_html

        render_html(summary).encode("utf-8")


@settings(max_examples=400, deadline=None)
@given(path=st.sampled_from(RFC_PATHS), value=JSON_VALUES)
def test_typed_decoder_never_accepts_what_the_reference_rejects(path: tuple[str | int, ...], value: object) -> None:
    """The typed decoder accepts a fuzzed report only if the reference reads the same Report; neither raises.

    The reference is what the rua Lambda runs: anything but ReportError escaping it would fail this test.
    """
    from mtasts.tlsrpt import typed
    from mtasts.tlsrpt.report import validate_json

    text = _with_value(path, value)
    fast = typed.decode(text)
    try:
        reference = validate_json(text)
    except ReportError:
        assert fast is None
    else:
        assert fast is None or fast == reference
    if fast is not None:  # summarize counts the typed document directly: the same as the Report's contribution
        from mtasts.tlsrpt.outcomes import classify, classify_document

        found = typed.document(text)
        assert found is not None
        assert classify_document(*found, None, None) == classify(fast, None, None)


def test_typed_decoder_reads_valid_reports_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """Valid reports never reach the reference decoder when msgspec is there: the fast path is really taken."""
    from mtasts.tlsrpt import report as module

    def refuse(text: bytes) -> Any:
        raise AssertionError("the reference decoder ran on a valid report")

    monkeypatch.setattr(module, "validate_json", refuse)
    from mtasts.tlsrpt import outcomes

    monkeypatch.setattr(outcomes, "validate_json", refuse)
    summary = Summary()
    summary.read("rfc.json", RFC_EXAMPLE)
    assert (summary.reports, summary.rejected) == (1, [])
    for data in (
        RFC_EXAMPLE,
        as_gzip(report()),
        as_json(report(mx_key="mx-host-pattern")),
        dated("2016-12-31T23:59:60Z", "2016-12-31T23:59:60Z"),
    ):
        assert parse_report(data).organization == "Company-X"


def test_unreadable_file_is_rejected_and_the_rest_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file the OS refuses to read is listed with the OS's reason; it does not stop the run."""
    real_open = os.open
    (tmp_path / "a.json").write_bytes(as_json(report(report_id="a")))
    (tmp_path / "b.json").write_bytes(as_json(report(report_id="b")))

    def guarded_open(path: str, *args: Any, **kwargs: Any) -> Any:
        if str(path).endswith("a.json"):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded_open)
    result = CliRunner().invoke(main, ["reports", "summarize", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["reports"] == 1
    assert doc["rejected"] == [{"source": str(tmp_path / "a.json"), "reason": "file not readable: Permission denied"}]


def test_s3_errors_are_one_line_and_exit_2(fake_aws_credentials: None) -> None:
    """A missing bucket, or no bucket at all, is one `error:` line naming the URL, exit status 2, no traceback."""
    from moto import mock_aws

    with mock_aws():
        missing = CliRunner().invoke(main, ["reports", "summarize", "s3://no-such-bucket/reports/"])
        empty = CliRunner().invoke(main, ["reports", "summarize", "s3://"])
    assert (missing.exit_code, empty.exit_code) == (2, 2)
    assert missing.output == (
        "error: s3://no-such-bucket/reports/: cannot list the bucket: "
        "NoSuchBucket: The specified bucket does not exist\n"
    )
    assert empty.output == "error: s3://: no bucket named (s3://BUCKET/PREFIX)\n"


def test_unwritable_html_path_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """--html into a folder that does not exist is one `error:` line naming the option, exit status 2."""
    (tmp_path / "r.json").write_bytes(as_json(report()))
    target = tmp_path / "missing" / "page.html"
    result = CliRunner().invoke(main, ["reports", "summarize", str(tmp_path), "--html", str(target)])
    assert result.exit_code == 2
    assert result.output == f"error: --html: cannot write {target}: No such file or directory\n"


def test_json_carries_duplicates_and_period_skips(tmp_path: Path) -> None:
    """--json counts duplicates and the reports left out by --since / --until, as the terminal does."""
    (tmp_path / "a.json").write_bytes(as_json(report(report_id="a", day="2026-11-02")))
    (tmp_path / "a-again.json").write_bytes(as_gzip(report(report_id="a", day="2026-11-02")))
    (tmp_path / "old.json").write_bytes(as_json(report(report_id="old", day="2026-10-01")))
    (tmp_path / "new.json").write_bytes(as_json(report(report_id="new", day="2026-12-01")))
    args = ["reports", "summarize", str(tmp_path), "--json", "--since", "2026-11-01", "--until", "2026-11-30"]
    doc = json.loads(CliRunner().invoke(main, args).stdout)
    assert (doc["reports"], doc["duplicates"], doc["skipped_before_since"], doc["skipped_after_until"]) == (1, 1, 1, 1)


def test_terminal_has_the_per_day_table(tmp_path: Path) -> None:
    """Each domain gets a table of sessions per UTC day with success rates (per week or month over long spans)."""
    (tmp_path / "a.json").write_bytes(as_json(report(report_id="a", day="2026-11-01")))
    (tmp_path / "b.json").write_bytes(as_json(report(report_id="b", day="2026-11-03", failures=[])))
    result = CliRunner().invoke(main, ["reports", "summarize", str(tmp_path)], terminal_width=120)
    assert result.exit_code == 0, result.output
    assert "company-y.example: sessions per UTC day" in result.stdout
    per_day = result.stdout.split("company-y.example: sessions per UTC day")[1]
    rows = [line for line in per_day.splitlines() if "2026-11-0" in line]
    assert len(rows) == 3  # 2026-11-02 had no report: a row of zeros keeps the days even
    assert rows[0].split() == ["2026-11-01", "5326", "303", "94.62%"]  # piped: plain aligned lines
    assert "100.00%" in rows[2]


def test_walked_files_past_the_first_read_are_read_whole(tmp_path: Path) -> None:
    """A 200 KiB report in a folder (past the walk's single 64 KiB read) is read to its end and counted."""
    big = as_json(report(report_id="big"))[:-1] + b" " * (200 * 1024) + b"}"
    (tmp_path / "big.json").write_bytes(big)
    (tmp_path / "big.json.gz").write_bytes(gzip.compress(big.replace(b'"big"', b'"big-gz"')))
    result = CliRunner().invoke(main, ["reports", "summarize", str(tmp_path), "--json", "--jobs", "1"])
    doc = json.loads(result.stdout)
    assert (doc["reports"], doc["rejected"]) == (2, [])


def test_a_duplicate_with_other_counts_is_counted_once_and_listed_as_a_conflict(tmp_path: Path) -> None:
    """Same organization and report-id with different counts: the first copy counts, the other is a listed conflict."""
    (tmp_path / "1-real.json").write_bytes(as_json(report(report_id="r1", successful=100)))
    (tmp_path / "2-again.json.gz").write_bytes(as_gzip(report(report_id="r1", successful=100)))  # a redelivery
    (tmp_path / "3-forged.json").write_bytes(as_json(report(report_id="r1", successful=1)))
    (tmp_path / "4-other.json").write_bytes(as_json(report(report_id="r2", successful=7)))
    result = CliRunner().invoke(main, ["reports", "summarize", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["reports"], doc["duplicates"]) == (2, 2)
    assert doc["conflicts"] == [{"organization": "Company-X", "report_id": "r1"}]
    assert doc["domains"][0]["successful_sessions"] == 107
    table = CliRunner().invoke(main, ["reports", "summarize", str(tmp_path)])
    assert "1 duplicate(s) differ from the copy counted" in table.stdout
    assert "Conflicts (counted once)" in table.stdout
