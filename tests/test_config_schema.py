"""The stack schema is declared once (mtasts.config.schema); checks, docs and the JSON Schema are derived from it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import msgspec.inspect as mi
import pytest
import yaml

from mtasts.config import parse_stack_settings
from mtasts.config.alerts import AlertSettings
from mtasts.config.fields import check_struct, check_value, fields, full_check, full_check_struct
from mtasts.config.promotion import PromotionRules
from mtasts.config.reference import main, schema_text, tables, update
from mtasts.config.schema import AdoptSettings, DomainSettings, ReportsSettings, StackSettings, TemplateFile
from mtasts.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
STRUCTS = (DomainSettings, AdoptSettings, ReportsSettings, StackSettings, TemplateFile, PromotionRules, AlertSettings)


def _problems(settings: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_stack_settings(settings)
    return info.value.lines()


def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((ROOT / "docs" / "stack.schema.json").read_text("utf-8")))


def test_readme_tables_are_the_generated_ones() -> None:
    """The README's config reference tables equal what the schema generates now (python -m mtasts.config.reference)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == update(readme)
    for name, table in tables().items():
        assert f"<!-- generated: {name} -->\n{table}<!-- end generated -->" in readme, name


def test_committed_json_schema_is_the_generated_one() -> None:
    """docs/stack.schema.json equals the JSON Schema derived from the Structs, and --check says so."""
    assert (ROOT / "docs" / "stack.schema.json").read_text(encoding="utf-8") == schema_text()
    assert main(["--check"]) == 0


def test_every_key_is_declared_with_a_description() -> None:
    """Each key of every Struct carries a one-line description, which the docs and the JSON Schema show."""
    for struct in STRUCTS:
        for name, field in fields(struct).items():
            assert isinstance(field.type, mi.Metadata), (struct.__name__, name)
            description = (field.type.extra_json_schema or {}).get("description", "")
            assert description, (struct.__name__, name)
            assert "\n" not in description, (struct.__name__, name)


def test_bounds_in_messages_come_from_the_schema() -> None:
    """Every bounded whole number of a domain is refused one below its declared minimum and one above its maximum."""
    for name, field in fields(DomainSettings).items():
        kind = field.type.type if isinstance(field.type, mi.Metadata) else field.type
        if not isinstance(kind, mi.IntType):
            continue
        assert kind.ge is not None
        assert kind.le is not None
        for value, word, bound in ((kind.ge - 1, "below", kind.ge), (kind.le + 1, "above", kind.le)):
            lines = _problems({"domains": {"example.com": {"mode": "none", name: value}}})
            assert lines[0].startswith(f"domains.example.com.{name}: {value} is {word} {bound} (RFC "), lines


def test_choices_are_named_in_declared_order() -> None:
    """A value outside a Literal lists the choices as the schema declares them, not sorted."""
    assert _problems({"domains": {"example.com": {"mode": "loud"}}}) == [
        "domains.example.com.mode: 'loud' is not one of enforce, testing, none (RFC 8461 §3.2)"
    ]
    assert _problems({"domains": {"example.com": {"mode": "none", "dns": "x"}}}) == [
        "domains.example.com.dns: 'x' is not one of route53, external"
    ]


def test_example_stack_file_satisfies_the_json_schema() -> None:
    """Pulumi.example.yaml, which the kit accepts, is valid against docs/stack.schema.json."""
    document = yaml.safe_load((ROOT / "Pulumi.example.yaml").read_text(encoding="utf-8"))
    assert list(_validator().iter_errors(document)) == []


@pytest.mark.parametrize(
    "settings",
    [
        {"mta-sts:domains": {"example.com": {"mode": "none", "ttl": -1}}},
        {"mta-sts:domains": {"example.com": {"mode": "Enforce"}}},
        {"mta-sts:domains": {"example.com": {"mode": "none", "maxage": 5}}},
        {"mta-sts:domains": {"example.com": {"mode": "none", "adopt": {"zone_id": "abc", "records": []}}}},
        {"mta-sts:domains": {"example.com": {"mode": "none"}}, "mta-sts:domain": {}},
        {
            "mta-sts:domains": {"example.com": {"mode": "none"}},
            "mta-sts:reports": {"endpoint": "r.example.net", "rate_limit": 0},
        },
        {"mta-sts:domains": {"example.com": {"mode": "none"}}, "mta-sts:promotion": {"ladder": []}},
        {"mta-sts:domains": {"example.com": {"mode": "none"}}, "mta-sts:promotion": {"max_failure_rate": 1.5}},
        {"mta-sts:domains": {"example.com": {"mode": "none"}}, "mta-sts:promotion": {"window_days": 401}},
        {"mta-sts:domains": {"example.com": {"mode": "none"}}, "mta-sts:alerts": {"fleet_failure_rate": 1}},
        {"mta-sts:domains": {"example.com": {"mode": "none"}}, "mta-sts:quotas": {"distribution": 1000}},
        {"mta-sts:domains": {"example.com": {"mode": "none"}}, "mta-sts:alerts": {"email": ["a@b.example"] * 21}},
        {
            "mta-sts:domains": {"example.com": {"mode": "none"}},
            "mta-sts:reports": {"reserved_concurrency": True, "endpoint": "r.example.net"},
        },
    ],
)
def test_json_schema_refuses_what_the_kit_refuses(settings: dict[str, Any]) -> None:
    """A setting the kit refuses is refused by the JSON Schema too (an editor shows it before mtasts plan does)."""
    stripped = {key.removeprefix("mta-sts:"): value for key, value in settings.items()}
    assert _problems(stripped)
    assert list(_validator().iter_errors({"config": settings}))


def test_json_schema_leaves_other_namespaces_to_pulumi() -> None:
    """aws:* and other namespaces, and reserved_concurrency: false, pass the JSON Schema as they pass the kit."""
    document = {
        "config": {
            "aws:region": "eu-west-1",
            "mta-sts:domains": {"example.com": {"mode": "none"}},
            "mta-sts:reports": {"endpoint": "r.example.net", "reserved_concurrency": False},
        }
    }
    assert list(_validator().iter_errors(document)) == []
    parse_stack_settings(
        {"domains": {"example.com": {"mode": "none"}}, "reports": document["config"]["mta-sts:reports"]}
    )


SAMPLES: list[object] = [
    True,
    False,
    None,
    0,
    -1,
    1,
    300,
    2**31,
    2**70,
    1.5,
    "",
    "x",
    "enforce",
    "shared",
    [],
    ["a"],
    [1],
]
SAMPLES += [["_mta-sts"], {}, {"zone_id": "Z1", "records": []}, "Z0123"]


@pytest.mark.parametrize("struct", STRUCTS)
def test_fast_path_agrees_with_the_full_check(struct: type) -> None:
    """A value the fast path accepts is one the full check accepts too, unchanged, for every declared key."""
    for name, field in fields(struct).items():
        for value in SAMPLES:
            fast: list[object] = []
            full: list[object] = []
            result = check_value(field.type, value, name, fast)
            expected = full_check(field.type, value, name, full)
            assert fast == full, (struct.__name__, name, value)
            if not full:
                assert result == expected, (struct.__name__, name, value)


def test_promotion_rules_are_checked_from_their_declaration() -> None:
    """mta-sts:promotion keys take their bounds and messages from PromotionRules; the ladder rule stays named."""
    assert _problems(
        {"domains": {"a.example": {"mode": "none"}}, "promotion": {"clean_days": 0, "ladder": [2, 1]}}
    ) == [
        "mta-sts:promotion.clean_days: 0 is not between 1 and 400",
        "mta-sts:promotion.ladder: steps must be strictly ascending, got [2, 1] (RFC 8461 §3.2 max_age)",
    ]
    rules = parse_stack_settings({"domains": {"a.example": {"mode": "none"}}, "promotion": {"max_failure_rate": 0}})
    promotion = rules.settings["promotion"]
    assert isinstance(promotion, PromotionRules)
    assert promotion.max_failure_rate == 0.0
    assert isinstance(promotion.max_failure_rate, float)
    assert promotion.to_dict()["ladder"] == [86400, 604800, 2592000, 31557600]


def test_alert_settings_are_checked_from_their_declaration() -> None:
    """mta-sts:alerts keys take bounds, list lengths and messages from AlertSettings; address formats stay named."""
    base: dict[str, Any] = {"domains": {"a.example": {"mode": "none"}}}
    assert _problems({**base, "alerts": {"email": ["a@b.example"] * 21, "fleet_failure_rate": 1}}) == [
        "mta-sts:alerts.email: 21 entries; at most 20",
        "mta-sts:alerts.fleet_failure_rate: expected a fraction between 0 and 1, got 1",
    ]
    assert _problems({**base, "alerts": {"https": ["http://x.example/"]}}) == [
        "mta-sts:alerts.https: 'http://x.example/' is not an https:// URL"
    ]
    reports = {"endpoint": "tlsrpt.example.net"}
    stack = parse_stack_settings({**base, "reports": reports, "alerts": {"email": ["a@b.example", "a@b.example"]}})
    alerts = stack.settings["alerts"]
    assert isinstance(alerts, AlertSettings)
    assert alerts.email == ("a@b.example",)
    assert alerts.to_dict()["email"] == ["a@b.example"]


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"mode": "enforce", "mx": ["a.example"], "ttl": 60},
        {"mode": "enforce", "mx": ["a.example"], "ttl": -1},
        {"mx": "a.example", "maxage": 5, "retire": "yes"},
        {"adopt": {"zone_id": "Z1", "records": ["mta-sts"]}, "dns": "external"},
    ],
)
def test_struct_fast_path_agrees_with_the_key_by_key_check(settings: dict[str, Any]) -> None:
    """A mapping the fast path accepts whole gives what the key-by-key check gives, problems included."""
    fast: list[object] = []
    full: list[object] = []
    at = "domains.example.com.{}".format
    assert check_struct(DomainSettings, settings, at, fast) == full_check_struct(DomainSettings, settings, at, full)
    assert fast == full
