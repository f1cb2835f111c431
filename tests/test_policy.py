import hashlib

import pytest

from mtasts.errors import PolicyError
from mtasts.policy import MAX_POLICY_BYTES, Policy, parse_policy, policy_id, policy_url

GOOD = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n"


def errors_of(text: str | bytes) -> list[str]:
    return [str(e) for e in parse_policy(text).errors]


def warnings_of(text: str | bytes) -> list[str]:
    return [str(w) for w in parse_policy(text).warnings]


def test_render_is_canonical() -> None:
    """Rendering puts version first, one mx line per pattern, CRLF endings and no trailing spaces."""
    policy = Policy(mode="enforce", max_age=604800, mx=("mail.example.com", "*.example.net"))
    assert policy.render() == GOOD
    assert all(not line.endswith((" ", "\t")) for line in policy.render().split("\r\n"))


def test_render_of_mode_none_without_mx() -> None:
    """A mode none policy needs no mx line."""
    assert Policy(mode="none", max_age=86400).render() == "version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n"


def test_policy_id_is_a_content_hash_anyone_can_recompute() -> None:
    """The id is the first 32 hex digits of the SHA-256 of the served bytes."""
    body = GOOD.encode()
    assert policy_id(body) == hashlib.sha256(body).hexdigest()[:32]
    assert Policy(mode="enforce", max_age=604800, mx=("mail.example.com", "*.example.net")).id == policy_id(body)
    assert policy_id(body).isalnum()
    assert len(policy_id(body)) == 32


def test_policy_id_changes_with_any_byte() -> None:
    """Changing max_age by one second, or the order of mx lines, changes the id."""
    a = Policy(mode="testing", max_age=86400, mx=("a.example", "b.example"))
    assert Policy(mode="testing", max_age=86401, mx=("a.example", "b.example")).id != a.id
    assert Policy(mode="testing", max_age=86400, mx=("b.example", "a.example")).id != a.id
    assert Policy(mode="testing", max_age=86400, mx=("a.example", "b.example")).id == a.id


def test_policy_url() -> None:
    """The policy lives at the well-known path of the mta-sts host (RFC 8461 §3.3)."""
    assert policy_url("example.com") == "https://mta-sts.example.com/.well-known/mta-sts.txt"


def test_parse_accepts_canonical_text() -> None:
    """The canonical rendering parses back to the same policy without warnings."""
    parsed = parse_policy(GOOD)
    assert parsed.ok
    assert parsed.unwrap() == Policy(mode="enforce", max_age=604800, mx=("mail.example.com", "*.example.net"))
    assert parsed.warnings == ()


def test_parse_accepts_lf_and_missing_final_newline_and_trailing_space() -> None:
    """LF line ends, no final line end and white space after values are all valid (RFC 8461 §3.2)."""
    text = "version: STSv1\nmode:testing  \nmx:\tmail.example.com\nmax_age: 86400"
    parsed = parse_policy(text)
    assert parsed.ok, parsed.errors
    assert parsed.unwrap().mx == ("mail.example.com",)


def test_parse_accepts_bytes() -> None:
    """Bytes as fetched over HTTPS parse like text."""
    assert parse_policy(GOOD.encode()).ok


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: STSv2\nmode: enforce\nmx: a.example.com\nmax_age: 1\n", "line 1: version 'STSv2'"),
        ("version: STSv1\nmode: Enforce\nmx: a.example.com\nmax_age: 1\n", "line 2: mode 'Enforce'"),
        ("version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 31557601\n", "line 4: max_age 31557601 is above"),
        ("version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: -1\n", "line 4: max_age '-1'"),
        ("version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 1e5\n", "line 4: max_age '1e5'"),
        ("version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 12345678901\n", "line 4: max_age '12345678901'"),
        ("version: STSv1\nmode: enforce\nmax_age: 1\n", "mode enforce needs at least one 'mx'"),
        ("version: STSv1\nmode: testing\nmax_age: 1\n", "mode testing needs at least one 'mx'"),
        ("mode: none\nmax_age: 1\n", "'version' is missing"),
        ("version: STSv1\nmax_age: 1\n", "'mode' is missing"),
        ("version: STSv1\nmode: none\n", "'max_age' is missing"),
        ("version: STSv1\nmode: enforce\nmx: mx*.example.com\nmax_age: 1\n", "line 3: mx:"),
        ("version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age 1\n", "line 4: 'max_age 1' is not"),
        (" version: STSv1\nmode: none\nmax_age: 1\n", "line 1: white space before the field name"),
        ("version : STSv1\nmode: none\nmax_age: 1\n", "line 1: white space before"),
        ("version: STSv1\rmode: none\nmax_age: 1\n", "line 1: a CR"),
        ("version: STSv1\nmode: none\nmax_age: 1\nbad!name: x\n", "line 4: 'bad!name' is not a valid field name"),
        ("version: STSv1\nmode: none\nmax_age: 1\next: \x01\n", "line 4: field 'ext' has an invalid value"),
        ("", "policy: is empty"),
    ],
)
def test_invalid_policies_name_the_line(text: str, expected: str) -> None:
    """Each RFC 8461 §3.2 violation is an error that names its line or field."""
    errors = errors_of(text)
    assert any(expected in e for e in errors), errors
    assert not parse_policy(text).ok


def test_unwrap_raises_policy_error_with_every_error() -> None:
    """unwrap() raises a typed error carrying all problems."""
    with pytest.raises(PolicyError) as info:
        parse_policy("version: STSv2\nmode: x\n").unwrap()
    assert len(info.value.problems) >= 3


def test_duplicate_non_mx_field_first_wins_and_is_reported() -> None:
    """For a repeated non-mx field the first occurrence is used (RFC 8461 §3.2) and a warning says so."""
    parsed = parse_policy("version: STSv1\nmode: testing\nmode: enforce\nmx: a.example.com\nmax_age: 5\nmax_age: 9\n")
    assert parsed.ok
    assert parsed.unwrap().mode == "testing"
    assert parsed.unwrap().max_age == 5
    assert any("line 3: duplicate 'mode'" in str(w) and "line 2" in str(w) for w in parsed.warnings)
    assert any("line 6: duplicate 'max_age'" in str(w) for w in parsed.warnings)


def test_duplicate_field_with_invalid_later_value_still_uses_first() -> None:
    """The ignored duplicate is not validated as if it applied."""
    assert parse_policy("version: STSv1\nmode: none\nmode: bogus\nmax_age: 5\n").ok


def test_extension_fields_are_ignored_but_kept() -> None:
    """Unknown well-formed fields do not invalidate a policy; they are warned about and kept."""
    parsed = parse_policy("version: STSv1\nmode: none\nmax_age: 5\nx-note: hello world\n")
    assert parsed.ok
    assert parsed.unwrap().extensions == (("x-note", "hello world"),)
    assert any("unknown field 'x-note'" in str(w) for w in parsed.warnings)


def test_blank_lines_are_warnings_not_errors() -> None:
    """Empty lines break the grammar but senders skip them: a warning naming the line."""
    parsed = parse_policy("version: STSv1\n\nmode: none\nmax_age: 5\n\n")
    assert parsed.ok
    assert str(parsed.warnings[0]).startswith("line 2: empty line")


def test_version_not_first_is_a_warning() -> None:
    """Some senders expect version on the first line; the parser warns."""
    parsed = parse_policy("mode: none\nversion: STSv1\nmax_age: 5\n")
    assert parsed.ok
    assert any("'version' is not the first line" in str(w) for w in parsed.warnings)


def test_non_canonical_mx_is_accepted_with_warning() -> None:
    """An upper-case MX pattern still matches (names are case-insensitive) but is flagged."""
    parsed = parse_policy("version: STSv1\nmode: testing\nmx: MAIL.example.com\nmax_age: 5\n")
    assert parsed.unwrap().mx == ("mail.example.com",)
    assert any("canonical" in str(w) for w in parsed.warnings)


def test_oversized_policy_is_rejected() -> None:
    """A body over 64 KiB is refused before it is parsed."""
    body = GOOD + "".join(f"x-pad{i}: {'y' * 60}\r\n" for i in range(1200))
    assert len(body.encode()) > MAX_POLICY_BYTES
    assert any("bytes; senders read at most 65536" in e for e in errors_of(body.encode()))


def test_non_utf8_policy_is_rejected() -> None:
    """Bytes that are not UTF-8 are an error, not a crash."""
    assert any("not valid UTF-8" in e for e in errors_of(b"version: STSv1\nmode: none\nmax_age: 1\nx: \xff\n"))


def test_policy_at_the_size_limit_is_accepted() -> None:
    """Exactly 64 KiB is still valid."""
    head = "version: STSv1\r\nmode: none\r\nmax_age: 1\r\nx: "
    body = head + "y" * (MAX_POLICY_BYTES - len(head) - 2) + "\r\n"
    assert len(body.encode()) == MAX_POLICY_BYTES
    assert parse_policy(body.encode()).ok


def test_max_age_bounds() -> None:
    """0 and 31557600 are valid max_age values (RFC 8461 §3.2)."""
    assert parse_policy("version: STSv1\nmode: none\nmax_age: 0\n").ok
    assert parse_policy("version: STSv1\nmode: none\nmax_age: 31557600\n").ok
