from pathlib import Path

import pytest

from mtasts.config import TemplateStore, load_stack_file, parse_stack_settings
from mtasts.errors import ConfigError


def write_stack(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def problems(settings: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_stack_settings(settings)
    return info.value.lines()


def one(settings: dict[str, object]) -> str:
    lines = problems(settings)
    assert len(lines) == 1, lines
    return lines[0]


def domain(**settings: object) -> dict[str, object]:
    return {"domains": {"example.com": settings}}


def test_defaults_come_from_the_testing_template() -> None:
    """A domain with only mx gets mode testing, one day max_age, TTL 300 and its own zone."""
    config = parse_stack_settings(domain(mx=["mail.example.com"], rua=["mailto:t@example.com"]))
    d = config.domains[0]
    assert (d.domain, d.template, d.mode, d.max_age, d.ttl, d.zone) == (
        "example.com",
        "testing",
        "testing",
        86400,
        300,
        "example.com",
    )
    assert d.mx == ("mail.example.com",)
    assert d.warnings == ()


def test_enforce_template() -> None:
    """template enforce gives mode enforce with one week max_age."""
    d = parse_stack_settings(domain(template="enforce", mx=["mail.example.com"])).domains[0]
    assert (d.mode, d.max_age) == ("enforce", 604800)


def test_template_max_age_belongs_to_its_mode() -> None:
    """Switching mode on the testing template takes the new mode's default max_age, not one day."""
    d = parse_stack_settings(domain(mode="enforce", mx=["mail.example.com"])).domains[0]
    assert (d.mode, d.max_age) == ("enforce", 604800)


def test_explicit_max_age_wins() -> None:
    """A domain's own max_age overrides template and default."""
    d = parse_stack_settings(domain(template="enforce", max_age=1209600, mx=["mail.example.com"])).domains[0]
    assert d.max_age == 1209600


def test_provider_preset_supplies_mx_and_mode_defaults_to_testing() -> None:
    """google-workspace brings Google's MX patterns; mode stays testing unless set."""
    d = parse_stack_settings(domain(template="google-workspace", rua=["mailto:t@example.com"])).domains[0]
    assert d.mode == "testing"
    assert "smtp.google.com" in d.mx
    assert "*.aspmx.l.google.com" in d.mx
    e = parse_stack_settings(domain(template="microsoft-365", mode="enforce")).domains[0]
    assert e.mx == ("*.mail.protection.outlook.com",)
    assert e.max_age == 604800


def test_domain_mx_replaces_template_mx() -> None:
    """mx on the domain replaces the preset's list rather than adding to it."""
    d = parse_stack_settings(domain(template="google-workspace", mx=["mx.example.com"])).domains[0]
    assert d.mx == ("mx.example.com",)


def test_mode_none_needs_no_mx() -> None:
    """A mode none policy is valid without MX patterns."""
    d = parse_stack_settings(domain(template="none")).domains[0]
    assert (d.mode, d.mx, d.max_age) == ("none", (), 86400)


def test_idn_domain_and_patterns_become_a_labels() -> None:
    """Unicode domain keys, zones and MX patterns are stored as punycode."""
    config = parse_stack_settings(
        {"domains": {"Post.Bücher.example.": {"mx": ["mx.bücher.example"], "zone": "bücher.example"}}}
    )
    d = config.domains[0]
    assert d.domain == "post.xn--bcher-kva.example"
    assert d.key == "Post.Bücher.example."
    assert d.mx == ("mx.xn--bcher-kva.example",)
    assert d.zone == "xn--bcher-kva.example"


def test_domains_are_sorted() -> None:
    """Plans list domains in a stable order whatever the YAML order."""
    config = parse_stack_settings({"domains": {"b.example": {"template": "none"}, "a.example": {"template": "none"}}})
    assert [d.domain for d in config.domains] == ["a.example", "b.example"]


def test_rua_is_normalised_and_deduplicated() -> None:
    """rua URIs are encoded as RFC 8460 §3 asks and repeated ones published once."""
    d = parse_stack_settings(domain(mx=["m.example.com"], rua=["mailto:a!b@example.com", "mailto:a%21b@example.com"]))
    assert d.domains[0].rua == ("mailto:a%21b@example.com",)


def test_max_age_above_limit_names_domain_and_field() -> None:
    """The message has the exact form the CLI prints: path, value, limit and RFC section."""
    assert one(domain(max_age=40000000, mx=["m.example.com"])) == (
        "domains.example.com.max_age: 40000000 is above 31557600 (RFC 8461 §3.2)"
    )


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (domain(max_age="86400", mx=["m.example.com"]), "domains.example.com.max_age: expected a whole number"),
        (domain(max_age=True, mx=["m.example.com"]), "domains.example.com.max_age: expected a whole number"),
        (domain(max_age=-1, mx=["m.example.com"]), "domains.example.com.max_age: -1 is below 0"),
        (domain(max_age=1.5, mx=["m.example.com"]), "domains.example.com.max_age: expected a whole number"),
        (domain(mode="Enforce", mx=["m.example.com"]), "domains.example.com.mode: 'Enforce' is not one of"),
        (domain(mx="m.example.com"), "domains.example.com.mx: expected a list of MX patterns"),
        (domain(mx=[1]), "domains.example.com.mx[0]: expected a string, got int"),
        (domain(mx=["m*.example.com"]), "domains.example.com.mx[0]: 'm*.example.com': a wildcard must be"),
        (domain(mx=["*.com"]), "domains.example.com.mx[0]: '*.com': a wildcard over a single label"),
        (domain(mx=[]), "domains.example.com.mx: mode testing needs at least one MX pattern"),
        (domain(), "domains.example.com.mx: mode testing needs at least one MX pattern"),
        (domain(mx=["m.example.com"], rua="mailto:a@example.com"), "domains.example.com.rua: expected a list"),
        (domain(mx=["m.example.com"], rua=["http://x.example.com"]), "domains.example.com.rua[0]: 'http://x."),
        (domain(mx=["m.example.com"], ttl=-5), "domains.example.com.ttl: -5 is below 0"),
        (domain(mx=["m.example.com"], ttl=2**31), "domains.example.com.ttl: 2147483648 is above 2147483647"),
        (domain(mx=["m.example.com"], zone="example.org"), "domains.example.com.zone: 'example.org' cannot hold"),
        (domain(mx=["m.example.com"], zone="ample.com"), "domains.example.com.zone: 'ample.com' cannot hold"),
        (domain(mx=["m.example.com"], zone=7), "domains.example.com.zone: expected a host name"),
        (domain(mx=["m.example.com"], template="nope"), "domains.example.com.template: unknown template 'nope'"),
        (domain(mx=["m.example.com"], template="../none"), "domains.example.com.template: unknown template"),
        (domain(mx=["m.example.com"], template=["none"]), "domains.example.com.template: expected a template name"),
        (domain(mx=["m.example.com"], maxage=5), "domains.example.com.maxage: unknown key"),
        ({"domains": {"example.com": ["m.example.com"]}}, "domains.example.com: expected a mapping of settings"),
        ({"domains": {"exa mple.com": {}}}, "domains.exa mple.com: not a valid domain name"),
        ({"domains": {"localhost": {}}}, "domains.localhost: not a valid domain name"),
        ({"domains": ["example.com"]}, "mta-sts:domains: expected a mapping of domain names"),
        ({}, "mta-sts:domains: is missing"),
        ({"domains": {}, "domain": {}}, "mta-sts:domain: unknown setting"),
        ({"domains": {}, "preflight": "no"}, "mta-sts:preflight: expected true or false"),
    ],
)
def test_invalid_settings_are_rejected_naming_domain_and_field(settings: dict[str, object], expected: str) -> None:
    """Each wrong type, value or key is one line naming the domain and the field."""
    lines = problems(settings)
    assert any(line.startswith(expected) for line in lines), lines


def test_unknown_template_lists_the_available_ones() -> None:
    """The message for a typo in a template name lists what exists."""
    assert "available: enforce, google-workspace, microsoft-365, none, testing" in one(
        domain(mx=["m.example.com"], template="enforced")
    )


def test_equal_domains_after_normalisation_are_an_error() -> None:
    """Two spellings of one domain (case, Unicode vs punycode) are refused."""
    lines = problems(
        {"domains": {"bücher.example": {"template": "none"}, "XN--BCHER-KVA.example": {"template": "none"}}}
    )
    assert lines == ["domains.XN--BCHER-KVA.example: is the same domain as 'bücher.example' (xn--bcher-kva.example)"]


def test_every_problem_is_reported_at_once() -> None:
    """Problems across domains and fields are all collected, not just the first."""
    lines = problems(
        {"domains": {"a.example": {"max_age": "x", "mx": ["m.a.example"]}, "b.example": {"mode": "on", "ttl": "5"}}}
    )
    assert len(lines) >= 3
    assert {line.split(":")[0] for line in lines} >= {"domains.a.example.max_age", "domains.b.example.mode"}


def test_warnings_for_risky_but_valid_settings() -> None:
    """Short enforce max_age, testing without rua and repeated MX patterns are warnings, not errors."""
    config = parse_stack_settings(
        {
            "domains": {
                "a.example": {"template": "enforce", "max_age": 3600, "mx": ["m.a.example"]},
                "b.example": {"mx": ["m.b.example", "M.b.example"]},
            }
        }
    )
    a, b = config.domains
    assert [w.path for w in a.warnings] == ["domains.a.example.max_age"]
    assert [w.path for w in b.warnings] == ["domains.b.example.mx[1]", "domains.b.example.rua"]
    assert b.mx == ("m.b.example",)


def test_stack_file_is_read_from_the_config_key(tmp_path: Path) -> None:
    """Only mta-sts:* keys are read; other namespaces (aws:region) are left to Pulumi."""
    path = write_stack(
        tmp_path,
        "config:\n  aws:region: eu-west-1\n  mta-sts:preflight: false\n"
        "  mta-sts:domains:\n    example.com:\n      mx: [m.example.com]\n",
    )
    config = load_stack_file(path)
    assert [d.domain for d in config.domains] == ["example.com"]
    assert config.settings["preflight"] is False
    assert config.source == str(path)


def test_duplicate_domain_in_yaml_is_an_error(tmp_path: Path) -> None:
    """YAML loaders keep the last of two equal keys; the kit refuses the file, naming both lines."""
    path = write_stack(
        tmp_path,
        "config:\n  mta-sts:domains:\n    example.com:\n      mx: [a.example.com]\n"
        "    example.com:\n      mx: [b.example.com]\n",
    )
    with pytest.raises(ConfigError) as info:
        load_stack_file(path)
    assert info.value.lines() == [f"{path}:5: invalid YAML: key 'example.com' appears twice (lines 3 and 5)"]


def test_duplicate_setting_in_yaml_is_an_error(tmp_path: Path) -> None:
    """A repeated setting inside one domain is refused too."""
    path = write_stack(
        tmp_path, "config:\n  mta-sts:domains:\n    example.com:\n      mode: none\n      mode: enforce\n"
    )
    with pytest.raises(ConfigError, match="key 'mode' appears twice"):
        load_stack_file(path)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("config: [\n", "invalid YAML"),
        ("- a\n- b\n", "must be a mapping with a 'config' key"),
        ("config: 5\n", "config: must be a mapping"),
        ("", "mta-sts:domains: is missing"),
        ("config:\n  mta-sts:domains:\n    ? [a, b]\n    : x\n", "a mapping key must be a plain value"),
    ],
)
def test_unreadable_stack_files(tmp_path: Path, body: str, expected: str) -> None:
    """Broken YAML and wrong top-level shapes are config errors with a reason."""
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[")):
        load_stack_file(write_stack(tmp_path, body))


def test_missing_stack_file(tmp_path: Path) -> None:
    """A missing file is a config error naming the path."""
    with pytest.raises(ConfigError, match="no such file"):
        load_stack_file(tmp_path / "Pulumi.nope.yaml")


def test_templates_beside_the_stack_file_are_used(tmp_path: Path) -> None:
    """A project's own policy_templates/ folder replaces the kit's."""
    (tmp_path / "policy_templates").mkdir()
    (tmp_path / "policy_templates" / "corp.yaml").write_text("mode: enforce\nmax_age: 1209600\nmx: [mx.corp.example]\n")
    path = write_stack(tmp_path, "config:\n  mta-sts:domains:\n    corp.example:\n      template: corp\n")
    d = load_stack_file(path).domains[0]
    assert (d.template, d.mode, d.max_age, d.mx) == ("corp", "enforce", 1209600, ("mx.corp.example",))


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("mode: enforce\nmx_list: []\n", "bad.yaml: mx_list: unknown key"),
        ("mode: strict\n", "bad.yaml: mode: 'strict' is not one of"),
        ("max_age: 99999999999\n", "bad.yaml: max_age: 99999999999 is above"),
        ("mx: [bad host]\n", "bad.yaml: mx[0]"),
        ("- mode\n", "a template must be a mapping"),
        ("description: 5\n", "bad.yaml: description: must be a string"),
    ],
)
def test_invalid_templates_are_reported(tmp_path: Path, template: str, expected: str) -> None:
    """Templates are data and are validated like domains."""
    (tmp_path / "bad.yaml").write_text(template)
    with pytest.raises(ConfigError) as info:
        parse_stack_settings(domain(template="bad", mx=["m.example.com"]), TemplateStore(tmp_path))
    assert any(expected in line for line in info.value.lines()), info.value.lines()


def test_shipped_templates_are_valid_and_documented() -> None:
    """Every template in policy_templates/ loads and carries a description."""
    store = TemplateStore()
    assert {"testing", "enforce", "none", "google-workspace", "microsoft-365"} <= set(store.names())
    for name in store.names():
        template = store.get(name)
        assert template.description, name


def test_retire_publishes_mode_none_with_a_short_max_age() -> None:
    """retire: true turns any template into mode none with one day max_age (RFC 8461 §8.3), keeping mx."""
    d = parse_stack_settings(domain(template="enforce", mx=["m.example.com"], retire=True)).domains[0]
    assert (d.retire, d.mode, d.max_age, d.mx) == (True, "none", 86400, ("m.example.com",))


def test_retire_keeps_an_explicit_max_age_and_tolerates_mode_none() -> None:
    """An explicit max_age and a redundant mode none are accepted with retire."""
    d = parse_stack_settings(domain(retire=True, mode="none", max_age=3600)).domains[0]
    assert (d.mode, d.max_age) == ("none", 3600)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (domain(retire=True, mode="enforce", mx=["m.example.com"]), "domains.example.com.mode: 'enforce' contradicts"),
        (domain(retire="yes", mx=["m.example.com"]), "domains.example.com.retire: expected true or false"),
        (domain(dns="cloudflare", mx=["m.example.com"]), "domains.example.com.dns: 'cloudflare' is not one of"),
        (domain(dns="external", mx=["m.example.com"]), "domains.example.com.dns: external DNS needs"),
        ({"domains": {}, "hostingZone": "not a zone"}, "mta-sts:hostingZone: "),
    ],
)
def test_invalid_lifecycle_settings(settings: dict[str, object], expected: str) -> None:
    """retire, dns and hostingZone are validated like every other key."""
    lines = problems(settings)
    assert any(line.startswith(expected) for line in lines), lines


def test_external_dns_plans_delegation_cnames() -> None:
    """dns: external writes records under the hosting zone and lists the CNAMEs the owner publishes."""
    from mtasts.plan import plan_stack

    settings = {
        "hostingZone": "hosting.example.net",
        "domains": {"example.com": {"dns": "external", "mx": ["m.example.com"], "rua": ["mailto:t@example.com"]}},
    }
    plan = plan_stack(parse_stack_settings(settings)).domains[0]
    assert plan.external
    assert plan.location("_mta-sts.example.com") == ("hosting.example.net", "_mta-sts.example.com.hosting.example.net")
    assert [(r.name, r.type, r.value) for r in plan.delegation] == [
        ("mta-sts.example.com", "CNAME", "mta-sts.example.com.hosting.example.net"),
        ("_mta-sts.example.com", "CNAME", "_mta-sts.example.com.hosting.example.net"),
        ("_smtp._tls.example.com", "CNAME", "_smtp._tls.example.com.hosting.example.net"),
    ]
    assert plan.records[0].name == "_mta-sts.example.com"
    assert plan.to_dict()["delegation"][0]["type"] == "CNAME"


def test_route53_dns_writes_records_in_the_domains_zone() -> None:
    """By default records go into the domain's own zone, under their own names, with no delegation."""
    from mtasts.plan import plan_stack

    plan = plan_stack(parse_stack_settings(domain(mx=["m.example.com"], zone="example.com"))).domains[0]
    assert not plan.external
    assert plan.location("_mta-sts.example.com") == ("example.com", "_mta-sts.example.com")
    assert plan.delegation == ()


def test_deployment_settings() -> None:
    """allow_overwrite, adopt and priceClass are read with their defaults."""
    config = parse_stack_settings(
        {
            "priceClass": "PriceClass_200",
            "domains": {
                "a.example": {"template": "none"},
                "b.example": {
                    "template": "none",
                    "allow_overwrite": True,
                    "adopt": {"zone_id": "Z123ABC", "records": ["_smtp._tls", "mta-sts", "mta-sts"]},
                },
            },
        }
    )
    a, b = config.domains
    assert (a.allow_overwrite, a.adopt, a.adopt_zone_id) == (False, (), None)
    assert (b.allow_overwrite, b.adopt, b.adopt_zone_id) == (True, ("_smtp._tls", "mta-sts"), "Z123ABC")
    assert config.settings["priceClass"] == "PriceClass_200"
    assert parse_stack_settings({"domains": {"a.example": {"mode": "none"}}}).settings["priceClass"] == "PriceClass_100"


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (domain(template="none", allow_overwrite="yes"), "domains.example.com.allow_overwrite: expected true or false"),
        (domain(template="none", adopt=["_mta-sts"]), "domains.example.com.adopt: expected a mapping"),
        (domain(template="none", adopt={"zone_id": "abc", "records": []}), "domains.example.com.adopt.zone_id:"),
        (
            domain(template="none", adopt={"zone_id": "Z1", "records": ["www"]}),
            "domains.example.com.adopt.records[0]: 'www' is not one of",
        ),
        ({"domains": {}, "priceClass": "cheap"}, "mta-sts:priceClass: 'cheap' is not one of"),
    ],
)
def test_invalid_deployment_settings(settings: dict[str, object], expected: str) -> None:
    """Deployment settings are validated like the policy ones."""
    lines = problems(settings)
    assert any(line.startswith(expected) for line in lines), lines


# --- empty maps, root causes ------------------------------------------------------------------


def test_an_empty_domains_map_is_refused() -> None:
    """`mta-sts:domains: {}` is an error, not a stack that publishes nothing."""
    assert one({"domains": {}}).startswith("mta-sts:domains: maps no domain")


def test_a_present_but_empty_domains_key_is_empty_not_missing(tmp_path: Path) -> None:
    """`mta-sts:domains:` with no value says the key is empty; without the key it says missing."""
    with pytest.raises(ConfigError) as info:
        load_stack_file(write_stack(tmp_path, "config:\n  mta-sts:domains:\n"))
    assert info.value.lines() == ["mta-sts:domains: is empty; it maps each mail domain to its settings"]
    with pytest.raises(ConfigError) as info:
        load_stack_file(write_stack(tmp_path, "config:\n  aws:region: eu-west-1\n"))
    assert info.value.lines()[0].startswith("mta-sts:domains: is missing")


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"mode": "enforce", "mx": ["*.com"]}, "domains.example.com.mx[0]: "),
        ({"template": "enforcee"}, "domains.example.com.template: unknown template 'enforcee'"),
        ({"mode": "enforcing"}, "domains.example.com.mode: 'enforcing' is not one of"),
        ({"mode": "enforce", "mx": "mx.example.com"}, "domains.example.com.mx: expected a list"),
    ],
)
def test_only_the_root_cause_is_reported(settings: dict[str, object], expected: str) -> None:
    """A bad MX pattern, template or mode is not followed by 'mode … needs at least one MX pattern'."""
    assert one(domain(**settings)).startswith(expected)


# --- hostile and ambiguous YAML ---------------------------------------------------------------


def _refused(tmp_path: Path, body: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_stack_file(write_stack(tmp_path, body))
    lines = info.value.lines()
    assert len(lines) == 1, lines
    return lines[0]


def test_billion_laughs_is_refused_quickly_with_a_short_line(tmp_path: Path) -> None:
    """An alias bomb stops at the expansion cap with one short line, instead of expanding 10^9 values."""
    body = 'config:\n  x: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for level in range(1, 10):
        body += f"  x{level}: &{'a' * (level + 1)} [" + ", ".join([f"*{'a' * level}"] * 10) + "]\n"
    body += "  mta-sts:domains: *aaaaaaaaaa\n"
    line = _refused(tmp_path, body)
    assert "expands to more than 1,000,000 values" in line
    assert len(line) < 300


def test_an_alias_that_contains_itself_is_refused(tmp_path: Path) -> None:
    """A recursive alias, which Pulumi's reader refuses too, is one error line."""
    assert "refers to itself" in _refused(tmp_path, "config:\n  mta-sts:domains: &d {a.example: *d}\n")


def test_merge_keys_still_work(tmp_path: Path) -> None:
    """`<<: *defaults`, which Pulumi's reader supports, merges settings as expected."""
    body = (
        "defaults: &defaults {mode: enforce, mx: [mx.example.com], max_age: 604800}\n"
        "config:\n  mta-sts:domains:\n    example.com:\n      <<: *defaults\n      ttl: 60\n"
    )
    d = load_stack_file(write_stack(tmp_path, body)).domains[0]
    assert (d.mode, d.mx, d.max_age, d.ttl) == ("enforce", ("mx.example.com",), 604800, 60)


def test_an_error_message_never_prints_a_whole_value(tmp_path: Path) -> None:
    """A wrong-typed setting holding a large list is shown cut short."""
    items = ", ".join(f"item{i}" for i in range(50_000))
    line = _refused(tmp_path, f"config:\n  mta-sts:domains:\n    example.com: [{items}]\n")
    assert line.startswith("domains.example.com: expected a mapping of settings, got list")
    assert len(line) < 200


def test_a_5000_digit_max_age_is_one_line(tmp_path: Path) -> None:
    """A number past Python's int-string limit is refused by the reader, not a traceback."""
    line = _refused(tmp_path, f"config:\n  mta-sts:domains:\n    example.com: {{max_age: {'9' * 5000}}}\n")
    assert line.endswith(":3: a number of 5000 characters is too long")


def test_a_huge_domain_key_is_cut_short(tmp_path: Path) -> None:
    """A 100,000-character domain name is named by a short prefix in the error line."""
    line = _refused(tmp_path, f"config:\n  mta-sts:domains:\n    ? {'a' * 100_000}\n    : {{mode: none}}\n")
    assert line.startswith("domains.'aaaa")
    assert len(line) < 400


def test_stack_file_size_is_capped_while_reading(tmp_path: Path) -> None:
    """/dev/zero (or any file past the cap) is refused after reading at most the cap plus one byte."""
    with pytest.raises(ConfigError) as info:
        load_stack_file(Path("/dev/zero"))
    assert info.value.lines() == ["/dev/zero: is larger than 16,777,216 bytes; refused"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ttl: 1:30", "'1:30' reads as int 90 here (YAML 1.1) but as the string '1:30' in Pulumi"),
        ("ttl: 12:30:00", "'12:30:00' reads as int 45000 here"),
        ("ttl: 0o10", "'0o10' reads as the string '0o10' here (YAML 1.1) but as int 8 in Pulumi"),
        ("ttl: 08", "'08' reads as the string '08' here (YAML 1.1) but as int 8 in Pulumi"),
        ("ttl: 3e2", "'3e2' reads as the string '3e2' here (YAML 1.1) but as int 300 in Pulumi"),
        ("ttl: 300.0", "'300.0' reads as float 300.0 here (YAML 1.1) but as int 300 in Pulumi"),
        ("ttl: 99999999999999999999", "reads as int 99999999999999999999 here (YAML 1.1) but as int 1000"),
        ("ttl: .inf", "but as the unsendable float .inf in Pulumi"),
        ("retire: yes", "'yes' reads as bool True here (YAML 1.1) but as the string 'yes' in Pulumi"),
        ("allow_overwrite: Off", "'Off' reads as bool False here"),
        ("mx: [2026-01-01]", "'2026-01-01' reads as date datetime.date(2026, 1, 1) here"),
    ],
)
def test_values_pulumi_reads_differently_are_refused(tmp_path: Path, text: str, expected: str) -> None:
    """A plain value that PyYAML (YAML 1.1) and Pulumi's go-yaml v3 read differently is one error line."""
    line = _refused(tmp_path, f"config:\n  mta-sts:domains:\n    example.com:\n      mode: none\n      {text}\n")
    assert line.startswith(f"{tmp_path / 'Pulumi.test.yaml'}:5: "), line
    assert expected in line
    assert "quote it" in line


@pytest.mark.parametrize(
    ("text", "ttl"),
    [("0x10", 16), ("010", 8), ("0b101", 5), ("1_000", 1000), ("+60", 60), ("'1:30'", None), ("600", 600)],
)
def test_values_both_readers_agree_on_are_accepted(tmp_path: Path, text: str, ttl: int | None) -> None:
    """Hex, old-style octal, binary, underscores and signs read the same in both readers and stay accepted."""
    body = f"config:\n  mta-sts:domains:\n    example.com:\n      mode: none\n      ttl: {text}\n"
    if ttl is None:
        assert "expected a whole number of seconds, got str '1:30'" in _refused(tmp_path, body)
    else:
        assert load_stack_file(write_stack(tmp_path, body)).domains[0].ttl == ttl


def test_top_level_strings_are_read_as_the_program_reads_them(tmp_path: Path) -> None:
    """A quoted 'false' top-level setting arrives as false in the Pulumi program (Config.get_object), so here too."""
    body = "config:\n  mta-sts:preflight: 'false'\n  mta-sts:domains:\n    example.com: {mode: none}\n"
    assert load_stack_file(write_stack(tmp_path, body)).settings["preflight"] is False


def test_pulumi_reads_matches_go_yaml_v3() -> None:
    """The port of go-yaml v3's resolver gives the values its resolve.go gives, after Pulumi's JSON hand-over."""
    from mtasts.config import pulumi_reads

    assert [pulumi_reads(t) for t in ("true", "True", "yes", "on", "~", "null", "", "n")] == [
        True,
        True,
        "yes",
        "on",
        None,
        None,
        None,
        "n",
    ]
    assert [pulumi_reads(t) for t in ("0x1F", "-0x10", "017", "0o17", "0b11", "-0b11", "1_0", "08", "1.5")] == [
        31,
        -16,
        15,
        15,
        3,
        -3,
        10,
        8,
        1.5,
    ]
    assert [pulumi_reads(t) for t in ("1:30", "1e400", "mx.example.com", "-", "0x", "18446744073709551615")] == [
        "1:30",
        "1e400",
        "mx.example.com",
        "-",
        "0x",
        18446744073709551615,
    ]


def test_deep_nesting_is_one_line(tmp_path: Path) -> None:
    """100,000 nested lists stop at the parser's depth limit with one line, not a RecursionError."""
    line = _refused(tmp_path, "config:\n  mta-sts:domains: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert line.endswith(":2: invalid YAML: exceeded maximum nesting depth")


def test_an_impossible_date_is_one_line(tmp_path: Path) -> None:
    """`0000-00-00`, which PyYAML cannot build, is refused with its line instead of raising ValueError."""
    line = _refused(tmp_path, "config:\n  mta-sts:domains:\n    example.com: {mode: none, ttl: 0000-00-00}\n")
    assert line.endswith(":3: '0000-00-00' is not a valid date (year 0 is out of range)")


def test_a_null_top_level_setting_takes_its_default_as_in_the_program(tmp_path: Path) -> None:
    """`mta-sts:preflight:` with no value (or 'null') is skipped as the Pulumi program skips it: the default applies."""
    body = "config:\n  mta-sts:preflight:\n  mta-sts:hostingZone: 'null'\n"
    body += "  mta-sts:domains:\n    a.example: {mode: none}\n"
    settings = load_stack_file(write_stack(tmp_path, body)).settings
    assert settings["preflight"] is True
    assert settings["hostingZone"] is None
