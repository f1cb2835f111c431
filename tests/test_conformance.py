"""Cross-checks against independent implementations from PyPI.

checkdmarc (a DNS/email auditing library) and postfix-mta-sts-resolver (what
Postfix servers run to apply MTA-STS as senders) read what this kit
publishes. Agreement is evidence; where they differ from our strict parser
the test says why.
"""

import json
from pathlib import Path

import pytest
from checkdmarc.mta_sts import MTASTSPolicySyntaxError, mx_in_mta_sts_patterns
from checkdmarc.mta_sts import parse_mta_sts_policy as checkdmarc_policy
from checkdmarc.mta_sts import parse_mta_sts_record as checkdmarc_sts_record
from checkdmarc.smtp_tls_reporting import SMTPTLSReportingSyntaxError
from checkdmarc.smtp_tls_reporting import parse_smtp_tls_reporting_record as checkdmarc_tlsrpt_record
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from postfix_mta_sts_resolver.utils import parse_mta_sts_policy as postfix_policy
from postfix_mta_sts_resolver.utils import parse_mta_sts_record as postfix_record

from mtasts.cli import main
from mtasts.names import mx_matches
from mtasts.policy import parse_policy

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def example_plan() -> dict[str, list[dict[str, object]]]:
    result = CliRunner().invoke(main, ["plan", "--config", str(ROOT / "Pulumi.example.yaml"), "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_checkdmarc_accepts_every_published_policy(example_plan: dict[str, list[dict[str, object]]]) -> None:
    """checkdmarc parses each rendered policy to the same mode, max_age and mx list, without warnings."""
    for d in example_plan["domains"]:
        result = checkdmarc_policy(str(d["policy_text"]))
        assert result["warnings"] == []
        assert result["policy"]["mode"] == d["mode"]
        assert result["policy"]["max_age"] == d["max_age"]
        assert result["policy"]["mx"] == d["mx"]


def test_postfix_resolver_reads_every_published_policy(example_plan: dict[str, list[dict[str, object]]]) -> None:
    """postfix-mta-sts-resolver, as a sending MTA, reads the same fields from each policy and record."""
    for d in example_plan["domains"]:
        parsed = postfix_policy(str(d["policy_text"]))
        assert parsed["version"] == "STSv1"
        assert parsed["mode"] == d["mode"]
        assert int(parsed["max_age"]) == d["max_age"]
        assert parsed["mx"] == d["mx"]
        records = d["records"]
        assert isinstance(records, list)
        assert postfix_record(records[0]["value"]) == {"v": "STSv1", "id": d["policy_id"]}


def test_checkdmarc_accepts_every_published_record(example_plan: dict[str, list[dict[str, object]]]) -> None:
    """checkdmarc's grammar-based parsers accept both TXT records as published, with no warnings."""
    seen_tlsrpt = 0
    for d in example_plan["domains"]:
        records = d["records"]
        assert isinstance(records, list)
        for record in records:
            if record["name"].startswith("_mta-sts."):
                parsed = checkdmarc_sts_record(record["value"])
                assert parsed["tags"]["id"] == d["policy_id"]
            else:
                seen_tlsrpt += 1
                parsed = checkdmarc_tlsrpt_record(record["value"])
                assert parsed["tags"]["rua"]["value"] == d["rua"]
            assert parsed["warnings"] == []
    assert seen_tlsrpt == 2


def test_checkdmarc_accepts_encoded_rua_uris() -> None:
    """URIs with ',', ';' and '!' percent-encoded by the kit are valid to checkdmarc."""
    from mtasts.records import normalize_rua_uri, tlsrpt_record_value

    value = tlsrpt_record_value(
        [normalize_rua_uri("mailto:tls!rpt@example.com"), normalize_rua_uri("https://r.example.com/a;b,c")]
    )
    assert checkdmarc_tlsrpt_record(value)["tags"]["rua"]["value"] == [
        "mailto:tls%21rpt@example.com",
        "https://r.example.com/a%3Bb%2Cc",
    ]


INVALID_POLICIES = [
    "version: STSv2\nmode: enforce\nmx: a.example.com\nmax_age: 1\n",
    "version: STSv1\nmode: Enforce\nmx: a.example.com\nmax_age: 1\n",
    "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 31557601\n",
    "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: +5\n",
    "version: STSv1\nmode: enforce\nmax_age: 1\n",
    "version: STSv1\nmode: none\n",
    "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age 1\n",
    " version: STSv1\nmode: none\nmax_age: 1\n",
    "version: STSv1\rmode: none\nmax_age: 1\n",
]


@pytest.mark.parametrize("text", INVALID_POLICIES)
def test_checkdmarc_and_kit_agree_on_invalid_policies(text: str) -> None:
    """Policies our parser rejects, checkdmarc rejects too."""
    assert not parse_policy(text).ok
    with pytest.raises(MTASTSPolicySyntaxError):
        checkdmarc_policy(text)


def test_blank_lines_differ_by_design() -> None:
    """checkdmarc skips empty lines silently; the kit accepts them too but warns, because the ABNF has none."""
    text = "version: STSv1\n\nmode: none\nmax_age: 1\n"
    assert checkdmarc_policy(text)["warnings"] == []
    parsed = parse_policy(text)
    assert parsed.ok
    assert parsed.warnings


@pytest.mark.parametrize(
    "record",
    ["v=STSv1; id=abc", "v=STSv1;id=abc;", "v=STSv1; id=abc; x=1", "v=STSv1; id=a-b", "v=STSv1", "v=STSv1; id="],
)
def test_checkdmarc_and_kit_agree_on_sts_records(record: str) -> None:
    """Valid and invalid _mta-sts values are classified alike."""
    from mtasts.errors import RecordError
    from mtasts.records import parse_sts_record

    try:
        parse_sts_record(record)
        ours = True
    except RecordError:
        ours = False
    try:
        checkdmarc_sts_record(record)
        theirs = True
    except Exception:  # checkdmarc raises several exception types for invalid records
        theirs = False
    assert ours == theirs


@pytest.mark.parametrize(
    "record",
    [
        "v=TLSRPTv1; rua=mailto:a@example.com",
        "v=TLSRPTv1;rua=https://r.example.com/x;",
        "v=TLSRPTv1; rua=mailto:a@example.com, https://r.example.com/x",
        "v=TLSRPTv1; rua=http://r.example.com/x",
        "v=TLSRPTv1; x=1",
        "v=TLSRPTv1;",
    ],
)
def test_checkdmarc_and_kit_agree_on_tlsrpt_records(record: str) -> None:
    """Valid and invalid _smtp._tls values are classified alike."""
    from mtasts.errors import RecordError
    from mtasts.records import parse_tlsrpt_record

    try:
        parse_tlsrpt_record(record)
        ours = True
    except RecordError:
        ours = False
    try:
        checkdmarc_tlsrpt_record(record)
        theirs = True
    except SMTPTLSReportingSyntaxError:
        theirs = False
    assert ours == theirs


labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
hosts = st.lists(labels, min_size=2, max_size=4).map(".".join)


@given(host=hosts, pattern=st.one_of(hosts, hosts.map(lambda h: "*." + h)))
def test_mx_matching_agrees_with_checkdmarc(host: str, pattern: str) -> None:
    """The RFC 8461 §4.1 wildcard rule gives the same answer as checkdmarc's implementation."""
    assert mx_matches(host, pattern) == mx_in_mta_sts_patterns(host, [pattern])


@given(host=hosts)
def test_wildcard_matching_agrees_for_subdomains(host: str) -> None:
    """One-label-deeper hosts match '*.' patterns in both implementations; two-deeper ones in neither."""
    pattern = "*." + host
    for candidate in (f"mx.{host}", f"a.b.{host}", host):
        assert mx_matches(candidate, pattern) == mx_in_mta_sts_patterns(candidate, [pattern])
