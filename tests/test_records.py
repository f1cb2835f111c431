import pytest

from mtasts.errors import RecordError
from mtasts.records import (
    STS_PREFIX,
    TLSRPT_PREFIX,
    join_txt_strings,
    normalize_rua_uri,
    parse_sts_record,
    parse_tlsrpt_record,
    select_record,
    sts_record_name,
    sts_record_value,
    tlsrpt_record_name,
    tlsrpt_record_value,
)


def test_record_names() -> None:
    """Records live at _mta-sts.<domain> and _smtp._tls.<domain>."""
    assert sts_record_name("example.com") == "_mta-sts.example.com"
    assert tlsrpt_record_name("example.com") == "_smtp._tls.example.com"


def test_sts_record_value_has_no_space_before_semicolon() -> None:
    """The published value begins with the literal 'v=STSv1;' that senders look for."""
    assert sts_record_value("abc123") == "v=STSv1; id=abc123"
    assert sts_record_value("abc123").startswith("v=STSv1;")


@pytest.mark.parametrize("bad", ["", "a" * 33, "ab-c", "ab c"])
def test_sts_record_value_refuses_invalid_ids(bad: str) -> None:
    """An id must be 1-32 letters and digits (RFC 8461 §3.1)."""
    with pytest.raises(RecordError, match="RFC 8461"):
        sts_record_value(bad)


def test_tlsrpt_record_value_joins_uris_with_commas() -> None:
    """Several rua URIs are joined by commas after 'v=TLSRPTv1; rua='."""
    value = tlsrpt_record_value(["mailto:tls@example.com", "https://r.example.com/tlsrpt"])
    assert value == "v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example.com/tlsrpt"


def test_tlsrpt_record_needs_a_uri() -> None:
    """rua is required (RFC 8460 §3)."""
    with pytest.raises(RecordError, match="at least one URI"):
        tlsrpt_record_value([])


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("mailto:tls@example.com", "mailto:tls@example.com"),
        ("MAILTO:tls@Example.COM", "mailto:tls@example.com"),
        ("mailto:tls!ops@example.com", "mailto:tls%21ops@example.com"),
        ("mailto:tls@bücher.example", "mailto:tls@xn--bcher-kva.example"),
        ("https://r.example.com/a;b,c!d", "https://r.example.com/a%3Bb%2Cc%21d"),
        ("https://r.example.com:8443/x?y=1", "https://r.example.com:8443/x?y=1"),
        ("https://R.Example.com", "https://r.example.com"),
    ],
)
def test_rua_uris_are_validated_and_encoded(uri: str, expected: str) -> None:
    """',', ';' and '!' are percent-encoded (RFC 8460 §3); hosts are lower-cased A-labels."""
    assert normalize_rua_uri(uri) == expected


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("http://r.example.com/", "only mailto: and https:"),
        ("ftp://r.example.com/", "only mailto: and https:"),
        ("tls@example.com", "only mailto: and https:"),
        ("mailto:example.com", "not mailto:local-part@domain"),
        ("mailto:a b@example.com", "white space"),
        ("mailto:tls@localhost", "fully qualified"),
        ("https://user:pw@r.example.com/", "credentials"),
        ("https://r.example.com/#frag", "fragment"),
        ("https:///nohost", "empty"),
        ("https://r.example.com:99999/", "Port"),
        ("https://r.example.com/100%", "percent-encoded"),
        ("https://r.example.com/ü", "percent-encoded"),
        (42, "got int"),
    ],
)
def test_invalid_rua_uris_are_refused(uri: object, reason: str) -> None:
    """Each invalid reporting URI is refused with the reason."""
    with pytest.raises(ValueError, match=reason):
        normalize_rua_uri(uri)


def test_join_txt_strings_concatenates_without_spaces() -> None:
    """The strings of one TXT RR are joined as they are (RFC 8461 §3.1)."""
    assert join_txt_strings([b"v=STSv1; id=", b"abc"]) == "v=STSv1; id=abc"
    assert join_txt_strings(["v=TLS", "RPTv1; rua=mailto:a@b.example"]) == "v=TLSRPTv1; rua=mailto:a@b.example"


def test_select_record_discards_other_records() -> None:
    """Records that do not begin with the version tag are ignored (RFC 8461 §3.1)."""
    values = ["v=spf1 -all", "v=STSv1; id=abc", "v=STSv10; id=x", "something"]
    assert select_record(values, STS_PREFIX) == "v=STSv1; id=abc"


def test_select_record_with_two_matches_means_no_policy() -> None:
    """Two STS records mean senders see none (RFC 8461 §3.1)."""
    with pytest.raises(RecordError, match="2 TXT records"):
        select_record(["v=STSv1; id=a", "v=STSv1; id=b"], STS_PREFIX)


def test_select_record_with_none_matching() -> None:
    """No matching record is reported as such."""
    with pytest.raises(RecordError, match="no TXT record"):
        select_record(["v=spf1 -all"], TLSRPT_PREFIX)


@pytest.mark.parametrize(
    "value",
    ["v=STSv1; id=abc", "v=STSv1;id=abc", "v=STSv1; id=abc;", "v=STSv1;\tid=abc ; ", "v=STSv1; id=abc; ext=1"],
)
def test_parse_sts_record_accepts_rfc_forms(value: str) -> None:
    """Delimiters may carry white space and a trailing ';' (RFC 8461 §3.1 ABNF)."""
    assert parse_sts_record(value).id == "abc"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("v=STSv1", "no field"),
        ("v=STSv1;", "no field"),
        ("v=STSv1; ext=1", "id field is missing"),
        ("v=STSv1; id=", "not 1-32"),
        ("v=STSv1; id=" + "a" * 33, "not 1-32"),
        ("v=STSv1; id=a-b", "not 1-32"),
        ("v=STSv2; id=abc", "does not begin"),
        ("id=abc; v=STSv1", "does not begin"),
        ("v=STSv1; id=abc;; x=1", "not a 'name=value'"),
        ("v=STSv1; id abc", "not a 'name=value'"),
        ("v=STSv1; id=abc; x=a=b", "not a valid extension value"),
        ("v=STSv1; id=abc; _x=1", "not a valid field name"),
    ],
)
def test_parse_sts_record_rejects_invalid(value: str, reason: str) -> None:
    """Each violation of RFC 8461 §3.1 is an error with its reason."""
    with pytest.raises(RecordError, match=reason):
        parse_sts_record(value)


def test_parse_sts_record_duplicate_id_first_wins() -> None:
    """A repeated id: the first is used and a warning says so."""
    record = parse_sts_record("v=STSv1; id=first; id=second")
    assert record.id == "first"
    assert "duplicate id" in str(record.warnings[0])


def test_space_before_first_semicolon_is_flagged() -> None:
    """'v=STSv1 ;' fits the ABNF but not the literal discard rule: a warning (RFC 8461 errata 6285)."""
    record = parse_sts_record("v=STSv1 ; id=abc")
    assert record.id == "abc"
    assert "discard" in str(record.warnings[0])


def test_parse_tlsrpt_record() -> None:
    """Several rua URIs, with white space around commas, are all returned."""
    record = parse_tlsrpt_record("v=TLSRPTv1; rua=mailto:a@example.com , https://r.example.com/x")
    assert record.rua == ("mailto:a@example.com", "https://r.example.com/x")


def test_parse_tlsrpt_record_combines_repeated_rua() -> None:
    """Two rua fields add up, as checkdmarc reads RFC 8460 §3."""
    record = parse_tlsrpt_record("v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com")
    assert record.rua == ("mailto:a@example.com", "mailto:b@example.com")
    assert record.warnings


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("v=TLSRPTv1;", "no field"),
        ("v=TLSRPTv1; ext=1", "rua field is missing"),
        ("v=TLSRPTv1; rua=http://r.example.com/", "only mailto: and https:"),
        ("v=TLSRPTv1; rua=mailto:a!b@example.com", "should be written"),
        ("v=TLSRPTv1; rua=", "URI is empty"),
        ("v=TLSRPTv2; rua=mailto:a@example.com", "does not begin"),
    ],
)
def test_parse_tlsrpt_record_rejects_invalid(value: str, reason: str) -> None:
    """Each violation of RFC 8460 §3 is an error with its reason."""
    with pytest.raises(RecordError, match=reason):
        parse_tlsrpt_record(value)


def test_rendered_records_parse_back() -> None:
    """What the kit renders, its own parsers accept unchanged."""
    assert parse_sts_record(sts_record_value("0123abcd")).id == "0123abcd"
    rua = [normalize_rua_uri("mailto:tls!x@example.com"), "https://r.example.com/a,b"]
    parsed = parse_tlsrpt_record(tlsrpt_record_value(rua))
    assert parsed.rua == ("mailto:tls%21x@example.com", "https://r.example.com/a%2Cb")


def test_long_txt_values_split_and_join_back() -> None:
    """A value over 255 octets becomes several character-strings that join back to it (RFC 1035 §3.3.14)."""
    from mtasts.records import split_txt_strings

    value = tlsrpt_record_value([f"https://r{i}.example.com/tls-reports/endpoint" for i in range(8)])
    parts = split_txt_strings(value)
    assert len(value) > 255
    assert all(len(p) <= 255 for p in parts)
    assert len(parts) == 2
    assert join_txt_strings(parts) == value
    assert split_txt_strings("v=STSv1; id=a") == ["v=STSv1; id=a"]
