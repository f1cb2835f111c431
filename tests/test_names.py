import pytest

from mtasts.names import HostnameError, mx_matches, normalize_hostname, normalize_mx_pattern, to_unicode


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("BÜCHER.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("a-b.c1.example", "a-b.c1.example"),
        ("1mx.example", "1mx.example"),
    ],
)
def test_hostnames_normalise_to_lower_case_a_labels(given: str, expected: str) -> None:
    """Names become lower-case A-labels without a trailing dot; IDNs become punycode."""
    assert normalize_hostname(given) == expected


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("", "empty"),
        ("example..com", "empty label"),
        ("-mx.example.com", "not a valid host name label"),
        ("mx-.example.com", "not a valid host name label"),
        ("mx_1.example.com", "not a valid host name label"),
        ("a" * 64 + ".example", "not a valid host name label"),
        (("a" * 60 + ".") * 5 + "com", "at most 253"),
        ("localhost", "not a fully qualified"),
        ("192.0.2.1", "IP address"),
        (" example.com", "white space"),
        ("xn--zz.example", "punycode"),
        ("ex ample.com", "not a valid"),
    ],
)
def test_invalid_hostnames_are_rejected_with_a_reason(given: str, reason: str) -> None:
    """Each malformed host name is refused with a message naming the broken rule."""
    with pytest.raises(HostnameError, match=reason):
        normalize_hostname(given)


def test_non_string_hostname_is_a_type_error_message() -> None:
    """A number where a name belongs is reported as a wrong type, not crashed on."""
    with pytest.raises(HostnameError, match="got int"):
        normalize_hostname(42)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("*.Example.com", "*.example.com"),
        ("*.mail.protection.outlook.com", "*.mail.protection.outlook.com"),
        ("mx.bücher.example", "mx.xn--bcher-kva.example"),
    ],
)
def test_mx_patterns_normalise(given: str, expected: str) -> None:
    """MX patterns keep a leading wildcard label and normalise the rest like host names."""
    assert normalize_mx_pattern(given) == expected


@pytest.mark.parametrize("given", ["mx*.example.com", "mx.*.example.com", "*example.com", "**.example.com", "*"])
def test_wildcard_must_be_the_whole_leftmost_label(given: str) -> None:
    """A '*' anywhere but as the whole left-most label is invalid (RFC 8461 §3.2, §4.1)."""
    with pytest.raises(HostnameError):
        normalize_mx_pattern(given)


def test_wildcard_over_a_tld_is_refused_in_config_but_parsed_from_live_policies() -> None:
    """'*.com' is RFC-valid, so the parser takes it, but the kit never publishes it."""
    with pytest.raises(HostnameError, match="top-level"):
        normalize_mx_pattern("*.com")
    assert normalize_mx_pattern("*.com", strict_wildcard=False) == "*.com"


@pytest.mark.parametrize(
    ("host", "pattern", "expected"),
    [
        ("mail.example.com", "mail.example.com", True),
        ("MAIL.example.com.", "mail.example.com", True),
        ("mail.example.com", "*.example.com", True),
        ("example.com", "*.example.com", False),
        ("a.b.example.com", "*.example.com", False),
        ("mail.example.net", "*.example.com", False),
        ("xexample.com", "*.example.com", False),
        ("mail.example.com", "mail.example.co", False),
    ],
)
def test_mx_matching_follows_rfc_8461_section_4_1(host: str, pattern: str, expected: bool) -> None:
    """A wildcard covers exactly one left-most label; matching ignores case and a trailing dot."""
    assert mx_matches(host, pattern) is expected


def test_to_unicode_shows_idn_names_and_leaves_others() -> None:
    """A-labels are shown as Unicode for people; ASCII names and bad punycode pass through."""
    assert to_unicode("xn--bcher-kva.example") == "bücher.example"
    assert to_unicode("example.com") == "example.com"
    assert to_unicode("xn--zz.example") == "xn--zz.example"
