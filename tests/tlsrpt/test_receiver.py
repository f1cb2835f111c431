"""The HTTPS rua endpoint's Lambda handler against moto S3 (RFC 8460 §5.4)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from reports import as_gzip, as_json, report

from mtasts.tlsrpt import receiver


@pytest.fixture
def s3(fake_aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto S3 with the reports bucket, named in the handler's environment."""
    monkeypatch.setenv("REPORTS_BUCKET", "reports")
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="reports")
        yield client


DOMAINS = frozenset({"company-y.example", "example.com", "xn--bcher-kva.example"})


def post(client: Any, body: bytes, content_type: str, domains: frozenset[str] = DOMAINS) -> dict[str, Any]:
    event = {
        "requestContext": {"http": {"method": "POST"}},
        "headers": {"Content-Type": content_type},
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }
    return receiver.handler(event, None, client, domains)


def keys(client: Any) -> list[str]:
    """The raw objects stored (rows objects, under rows/, are the rows tests' business)."""
    listed = [o["Key"] for o in client.list_objects_v2(Bucket="reports").get("Contents", [])]
    return [k for k in listed if not k.startswith("rows/")]


def digest(doc: dict[str, Any]) -> str:
    return hashlib.sha256(as_json(doc)).hexdigest()


def test_gzip_report_is_stored_by_domain_day_and_id(s3: Any) -> None:
    """A gzip POST is stored raw under <domain>/<yyyy>/<mm>/<dd>/<report-id>.<sha256 of the JSON>.json.gz."""
    body = as_gzip(report())
    response = post(s3, body, "application/tlsrpt+gzip")
    assert response["statusCode"] == 201
    key = f"company-y.example/2016/04/01/5065427c-23d3-47ca-b6e0-946ea0e8c4be.{digest(report())}.json.gz"
    assert keys(s3) == [key]
    assert s3.get_object(Bucket="reports", Key=key)["Body"].read() == body


def test_redelivery_is_idempotent(s3: Any) -> None:
    """The same report posted twice, even gzip'd again with another timestamp, is stored once; the second is 200."""
    assert post(s3, as_gzip(report()), "application/tlsrpt+gzip")["statusCode"] == 201
    again = gzip.compress(as_json(report()), mtime=12345)
    assert again != as_gzip(report())
    second = post(s3, again, "application/tlsrpt+gzip")
    assert second["statusCode"] == 200
    assert "already stored" in second["body"]
    assert len(keys(s3)) == 1


def test_a_forgery_posted_first_never_displaces_the_real_report(s3: Any) -> None:
    """A different body with the same organization and report-id is stored beside the first, never dropped."""
    forged = report(successful=0, failures=[("certificate-expired", "mx1.mail.company-y.example", 999999)])
    assert post(s3, as_json(forged), "application/tlsrpt+json")["statusCode"] == 201
    real = post(s3, as_json(report()), "application/tlsrpt+json")
    assert real["statusCode"] == 201, real["body"]
    stored = sorted(keys(s3))
    assert len(stored) == 2
    bodies = {s3.get_object(Bucket="reports", Key=k)["Body"].read() for k in stored}
    assert bodies == {as_json(forged), as_json(report())}
    assert post(s3, as_json(report()), "application/tlsrpt+json")["statusCode"] == 200


def test_equal_ids_from_different_senders_are_both_kept(s3: Any) -> None:
    """Two organizations using one report-id, and ids that differ only in characters unsafe in keys, never collide."""
    for org, report_id in [("Company-X", "1"), ("Other", "1"), ("Company-X", "a/b"), ("Company-X", "a_b")]:
        response = post(s3, as_json(report(org=org, report_id=report_id)), "application/tlsrpt+json")
        assert response["statusCode"] == 201, response["body"]
    assert len(keys(s3)) == 4
    assert all("/" not in k.split("/", 4)[4] for k in keys(s3))


def test_a_report_for_many_domains_is_stored_once(s3: Any) -> None:
    """A report naming several of the stack's domains is one object, under the first of them in sorted order."""
    doc = report(domain="example.com")
    other = json.loads(json.dumps(doc["policies"][0]))
    other["policy"]["policy-domain"] = "company-y.example"
    doc["policies"].append(other)
    response = post(s3, as_json(doc), "application/tlsrpt+json")
    assert response["statusCode"] == 201, response["body"]
    assert [k.split("/")[0] for k in keys(s3)] == ["company-y.example"]


def test_amplification_a_report_naming_1000_domains_stores_nothing(s3: Any) -> None:
    """The issue's 5.6 kB gzip naming 1,000 foreign domains is refused (403, naming one) and stores no object."""
    doc = report()
    template = doc["policies"][0]
    doc["policies"] = []
    for i in range(1000):
        entry = json.loads(json.dumps(template))
        entry["policy"]["policy-domain"] = f"victim{i}.example"
        doc["policies"].append(entry)
    response = post(s3, as_gzip(doc), "application/tlsrpt+gzip")
    assert response["statusCode"] == 403
    assert "'victim0.example' is not one of this endpoint's domains" in response["body"]
    assert keys(s3) == []


def test_one_foreign_domain_among_own_ones_refuses_the_report(s3: Any) -> None:
    """Every policy domain must be the stack's: one other domain refuses the whole report."""
    doc = report()
    extra = json.loads(json.dumps(doc["policies"][0]))
    extra["policy"]["policy-domain"] = "elsewhere.example"
    doc["policies"].append(extra)
    response = post(s3, as_json(doc), "application/tlsrpt+json")
    assert response["statusCode"] == 403
    assert keys(s3) == []


@pytest.mark.parametrize(
    ("domain", "status", "reason"),
    [
        ("", 400, "policies[0].policy.policy-domain: '' is not a host name"),
        (".", 400, "is not a host name"),
        ("..", 400, "is not a host name"),
        ("mail", 400, "'mail' is not a host name"),
        ("a/b.example", 400, "is not a host name"),
        ("../../etc.example", 400, "is not a host name"),
        ("x" * 64 + ".example", 400, "is not a host name"),
        (("a" * 63 + ".") * 4 + "example", 400, "is not a host name"),
        ("-bad.example", 400, "is not a host name"),
        ("other.example", 403, "is not one of this endpoint's domains"),
    ],
    ids=["empty", "dot", "dots", "mail", "slash", "traversal", "long-label", "long-name", "hyphen", "foreign"],
)
def test_bad_policy_domains_are_refused(s3: Any, domain: str, status: int, reason: str) -> None:
    """Empty, dotted, single-label (SES's mail/ prefix), slashed, over-long and foreign policy domains store nothing."""
    response = post(s3, as_json(report(domain=domain)), "application/tlsrpt+json")
    assert response["statusCode"] == status, response["body"]
    assert reason in response["body"]
    assert keys(s3) == []


def test_own_domain_is_matched_in_any_case_with_a_trailing_dot_or_as_a_u_label(s3: Any) -> None:
    """EXAMPLE.COM. and bücher.example match the stack's example.com and xn--bcher-kva.example."""
    assert post(s3, as_json(report(domain="EXAMPLE.COM.")), "application/tlsrpt+json")["statusCode"] == 201
    assert post(s3, as_json(report(domain="bücher.example")), "application/tlsrpt+json")["statusCode"] == 201
    assert sorted(k.split("/")[0] for k in keys(s3)) == ["example.com", "xn--bcher-kva.example"]


def test_no_policies_is_refused(s3: Any) -> None:
    """A report without any policy names no domain of the stack and is refused with the reason."""
    doc = report()
    doc["policies"] = []
    response = post(s3, as_json(doc), "application/tlsrpt+json")
    assert response["statusCode"] == 400
    assert "names no policy domain" in response["body"]


def test_without_a_domain_list_nothing_is_accepted(s3: Any) -> None:
    """A function whose domain list is missing refuses every report (503) instead of accepting any domain."""
    response = post(s3, as_json(report()), "application/tlsrpt+json", frozenset())
    assert response["statusCode"] == 503
    assert keys(s3) == []


def test_years_are_zero_padded_and_keys_stay_under_the_s3_limit(s3: Any) -> None:
    """Year 0001 is stored under 0001/, and the longest domain with the longest id keeps the key under 1,024 bytes."""
    longest = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
    assert len(longest) == 253
    doc = report(domain=longest, report_id="\u00e9" * 5000, day="0001-01-02")
    response = post(s3, as_json(doc), "application/tlsrpt+json", frozenset({longest}))
    assert response["statusCode"] == 201, response["body"]
    (key,) = keys(s3)
    assert key.startswith(f"{longest}/0001/01/02/" + "_" * receiver.MAX_ID_CHARS + ".")
    assert len(key.encode()) <= receiver.MAX_KEY_BYTES < 1024


def test_the_layout_is_unambiguous() -> None:
    """Keys never start with '/', never fall under mail/, and split into exactly domain/yyyy/mm/dd/file."""
    for domain in ("a.example", "mail.example", "xn--bcher-kva.example"):
        parsed = receiver.policy_domain_name(domain)
        assert parsed == domain
        key = receiver.report_key(domain, receiver.parse_report(as_json(report())), "0" * 64, ".json")
        assert not key.startswith(("/", "mail/"))
        assert len(key.split("/")) == 5


@pytest.mark.parametrize(
    ("body", "content_type", "status", "reason"),
    [
        (as_json(report()), "application/json", 415, "not application/tlsrpt+gzip or +json"),
        (as_json(report()), "application/tlsrpt+gzip", 400, "does not match content type"),
        (b"{broken", "application/tlsrpt+json", 400, "invalid report: invalid JSON"),
        (b"{" + b" " * (3 * 1024 * 1024) + b"}", "application/tlsrpt+json", 413, "body larger than"),
        (b"{" + b" " * (10 * 1024 * 1024) + b"}", "application/tlsrpt+json", 413, "body larger than"),
        (gzip.compress(b"{" + b" " * (11 * 1024 * 1024) + b"}"), "application/tlsrpt+gzip", 400, "decompressed size"),
        (as_gzip(report())[:-20], "application/tlsrpt+gzip", 400, "truncated gzip"),
        (b"", "application/tlsrpt+json", 400, "invalid JSON"),
    ],
    ids=["wrong-type", "mismatch", "invalid-json", "3-mib", "10-mb", "gzip-bomb", "truncated", "empty"],
)
def test_bad_posts_get_4xx_with_a_reason(s3: Any, body: bytes, content_type: str, status: int, reason: str) -> None:
    """Wrong content type, mismatched body, invalid report and oversized body are refused and nothing is stored."""
    response = post(s3, body, content_type)
    assert response["statusCode"] == status
    assert reason in response["body"]
    assert keys(s3) == []


def _huge_integer() -> bytes:
    text = as_json(report()).decode()
    return text.replace(
        '"total-successful-session-count": 5326', '"total-successful-session-count": ' + "9" * 5000
    ).encode()


def _overflowing_date(value: str) -> bytes:
    doc = report()
    doc["date-range"]["start-datetime"] = value
    doc["date-range"]["end-datetime"] = value
    return as_json(doc)


def _lone_surrogate(field: str) -> bytes:
    doc = report()
    if field == "policy-domain":
        doc["policies"][0]["policy"]["policy-domain"] = "\ud800.example"
    else:
        doc[field] = "x\ud800y"
    return json.dumps(doc).encode()  # json escapes it as \ud800: valid UTF-8 bytes, a lone surrogate once parsed


@pytest.mark.parametrize(
    ("body", "statuses"),
    [
        (_huge_integer(), {400}),
        (_overflowing_date("9999-12-31T23:59:59-23:59"), {400}),
        (_overflowing_date("0001-01-01T00:00:00+01:00"), {400}),
        (_lone_surrogate("organization-name"), {201, 400}),
        (_lone_surrogate("report-id"), {201, 400}),
        (_lone_surrogate("policy-domain"), {400}),
    ],
    ids=["huge-integer", "date-past-9999", "date-before-0001", "surrogate-org", "surrogate-id", "surrogate-domain"],
)
def test_crashing_inputs_get_an_answer_not_an_exception(s3: Any, body: bytes, statuses: set[int]) -> None:
    """A 5,000-digit count, dates overflowing in UTC and lone surrogates, gzip'd or not, get one line, never a raise."""
    for payload, content_type in ((body, "application/tlsrpt+json"), (gzip.compress(body), "application/tlsrpt+gzip")):
        response = post(s3, payload, content_type)
        assert response["statusCode"] in statuses, response["body"]
        assert response["body"].isascii()
        assert response["body"].count("\n") == 1
        assert "Traceback" not in response["body"]


def test_a_raw_body_with_a_lone_surrogate_is_a_400(s3: Any) -> None:
    """A non-base64 event body holding a lone surrogate (not encodable as UTF-8) is refused, not raised."""
    event = {"requestContext": {"http": {"method": "POST"}}, "headers": {"content-type": "application/tlsrpt+json"}}
    response = receiver.handler({**event, "body": '{"x": "\ud800"}'}, None, s3, DOMAINS)
    assert response["statusCode"] == 400
    broken = receiver.handler({**event, "body": "!!not base64!!", "isBase64Encoded": True}, None, s3, DOMAINS)
    assert broken["statusCode"] == 400


def test_storage_failure_is_a_503_with_one_line(s3: Any) -> None:
    """An S3 error other than "not found" asks the sender to retry (503) instead of failing the function."""
    response = post(s3, as_json(report()), "application/tlsrpt+json")
    assert response["statusCode"] == 201
    from botocore.stub import Stubber

    with Stubber(s3) as stub:
        stub.add_client_error("head_object", "AccessDenied", http_status_code=403)
        denied = post(s3, as_json(report(report_id="2")), "application/tlsrpt+json")
    assert denied["statusCode"] == 503
    assert denied["body"] == "the report could not be stored now; try again later\n"


def test_an_unexpected_fault_is_a_one_line_500(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """A bug or fault anywhere in the handler is logged and answered with one line, never a traceback to the sender."""

    class Broken:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError("boom")

    response = receiver.handler(
        {"headers": {"content-type": "application/tlsrpt+json"}, "body": as_json(report()).decode()},
        None,
        Broken(),
        DOMAINS,
    )
    assert response["statusCode"] == 500
    assert response["body"] == "internal error; the report was not stored\n"
    log = capsys.readouterr().err  # the function's log, taken here so that no test run prints it
    assert "Traceback" in log
    assert log.rstrip().endswith("RuntimeError: boom")


def test_only_post(s3: Any) -> None:
    """Other methods are 405."""
    response = receiver.handler({"requestContext": {"http": {"method": "GET"}}, "headers": {}}, None, s3)
    assert response["statusCode"] == 405


def test_the_shipped_files_alone_run_the_handler(tmp_path: Path) -> None:
    """The files the Lambda archive holds (HANDLER_FILES and the domain list) run the handler with the stdlib only.

    The check runs in a fresh interpreter without site-packages, on a copy of exactly those files; boto3, which
    the Lambda runtime provides, is replaced by a stub client that records the object stored.
    """
    from mtasts.resources.reports import DOMAINS_ASSET, HANDLER_FILES, PACKAGE_DIR

    for name in HANDLER_FILES:
        (tmp_path / "mtasts" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PACKAGE_DIR / name, tmp_path / "mtasts" / name)
    (tmp_path / DOMAINS_ASSET).write_text('["company-y.example"]')  # what the archive ships beside the handler
    body = base64.b64encode(as_gzip(report())).decode()
    code = f"""
import json, sys
sys.path.insert(0, {str(tmp_path)!r})
from mtasts.tlsrpt import receiver
class Missing(Exception):
    response = {{"Error": {{"Code": "404"}}}}
class Client:
    class exceptions:
        ClientError = Missing
    def head_object(self, **_):
        raise Missing()
    def put_object(self, Key, **_):
        print(Key, file=sys.stderr)
event = {{"headers": {{"content-type": "application/tlsrpt+gzip"}}, "body": {body!r}, "isBase64Encoded": True}}
print(json.dumps(receiver.handler(event, None, Client())))
third_party = {{m.split(".")[0] for m in sys.modules}} - set(sys.stdlib_module_names) - {{"mtasts", "__main__"}}
assert not third_party, third_party
"""
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={"REPORTS_BUCKET": "reports"},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["statusCode"] == 201
    assert result.stderr.startswith("company-y.example/2016/04/01/5065427c-23d3-47ca-b6e0-946ea0e8c4be.")


def test_gzip_inside_gzip_is_refused(s3: Any) -> None:
    """A body that decompresses to gzip again is no report: 400, and nothing is stored."""
    response = post(s3, gzip.compress(as_gzip(report())), "application/tlsrpt+gzip")
    assert response["statusCode"] == 400
    assert "gzip data again" in response["body"]
    assert keys(s3) == []


#: Every path of a field in the example report, and the values hostile JSON can put there.
_FIELDS = [
    ("organization-name",),
    ("report-id",),
    ("contact-info",),
    ("date-range", "start-datetime"),
    ("date-range", "end-datetime"),
    ("policies", 0, "policy", "policy-type"),
    ("policies", 0, "policy", "policy-domain"),
    ("policies", 0, "policy", "mx-host"),
    ("policies", 0, "summary", "total-successful-session-count"),
    ("policies", 0, "summary", "total-failure-session-count"),
    ("policies", 0, "failure-details"),
    ("policies", 0, "failure-details", 0, "result-type"),
    ("policies", 0, "failure-details", 0, "failed-session-count"),
    ("policies", 0, "failure-details", 0, "receiving-mx-hostname"),
    ("policies",),
    ("date-range",),
]
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**4000), max_value=10**4000)
    | st.floats(allow_nan=False)
    | st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40)
    | st.sampled_from(["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00", "\ud800", "mail", "", ".."]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(_FIELDS), value=_JSON, gzipped=st.booleans())
def test_any_json_value_in_any_field_gets_an_answer(s3: Any, field: tuple[Any, ...], value: Any, gzipped: bool) -> None:
    """Any JSON value in any field is stored or refused with a one-line reason; the handler never raises or 500s."""
    doc: Any = report()
    target = doc
    for step in field[:-1]:
        target = target[step]
    target[field[-1]] = value
    body = json.dumps(doc).encode()  # integers stay under Python's 4,300-digit limit: test_crashing_inputs has more
    response = post(
        s3,
        gzip.compress(body) if gzipped else body,
        "application/tlsrpt+gzip" if gzipped else "application/tlsrpt+json",
    )
    assert response["statusCode"] in (200, 201, 400, 403), response["body"]
    assert response["body"].isascii()
    assert response["body"].count("\n") == 1


def test_a_huge_policy_domain_is_refused_quickly(s3: Any) -> None:
    """A 600 kB Unicode policy-domain is refused by its length, before any IDNA conversion, with a short reason."""
    response = post(s3, as_json(report(domain="ü" * 300_000)), "application/tlsrpt+json")
    assert response["statusCode"] == 400
    assert len(response["body"]) < 500
