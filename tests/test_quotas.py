"""Quotas as code: the arithmetic at 99, 100, 101 and 10,000 domains, shard assignment, the applied-quota check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from mtasts.cli import main as cli
from mtasts.config import parse_stack_settings
from mtasts.errors import ConfigError
from mtasts.plan import StackPlan, plan_stack
from mtasts.resources.quotas import (
    QUOTAS,
    applied_quotas,
    assign_shards,
    quota_problems,
    shard_count,
    stack_needs,
)


def stack(count: int, hosting: str = "dedicated", **settings: Any) -> StackPlan:
    domains = {f"d{i:05d}.example.com": {"template": "none", "zone": "example.com"} for i in range(count)}
    return plan_stack(parse_stack_settings({"domains": domains, "hosting": hosting, **settings}))


def needs(plan: StackPlan) -> dict[str, int]:
    return {n.quota.key: n.needed for n in stack_needs(plan)}


def test_dedicated_99_100_101_shards() -> None:
    """99 and 100 dedicated domains fit one OAC and function; 101 takes a second of each, none above 100."""
    for count, shards in ((99, 1), (100, 1), (101, 2)):
        n = needs(stack(count))
        assert n["distributions"] == count
        assert (n["originAccessControls"], n["functions"]) == (shards, shards)
        assert n["distributionsPerOriginAccessControl"] == n["distributionsPerFunction"] == min(count, 100)
        assignment = assign_shards([f"d{i}" for i in range(count)], None, 100)
        assert max(list(assignment.values()).count(s) for s in range(shards)) <= 100
        assert set(assignment.values()) == set(range(shards))


def test_dedicated_10000_exceeds_account_quotas_and_says_which() -> None:
    """10,000 dedicated domains need 10,000 distributions (default 500) and certificates (2,500) and 100 OACs."""
    plan = stack(10_000)
    n = needs(plan)
    assert (n["distributions"], n["certificates"], n["originAccessControls"]) == (10_000, 10_000, 100)
    assert n["distributionsPerOriginAccessControl"] == 100
    assert n["recordsPerZone"] == 10_000 * 4 + 2
    exceeded = {p.need.quota.key for p in quota_problems(stack_needs(plan))}
    assert exceeded == {"distributions", "certificates", "certificatesPerYear", "recordsPerZone"}


def test_shared_10000_needs_one_distribution_and_10000_tenants() -> None:
    """10,000 shared domains: no standard distribution, one OAC and function, 10,000 tenants (exactly the quota)."""
    n = needs(stack(10_000, "shared"))
    assert (n["distributions"], n["tenants"], n["originAccessControls"], n["functions"]) == (0, 10_000, 1, 1)
    assert n["distributionsPerOriginAccessControl"] == 0
    assert "tenants" not in {p.need.quota.key for p in quota_problems(stack_needs(stack(10_000, "shared")))}


def test_overrides_raise_the_assumed_limits_and_the_shard_size() -> None:
    """mta-sts:quotas raises what the stack assumes; a raised per-OAC quota means fewer, fuller shards."""
    plan = stack(250, quotas={"distributionsPerOriginAccessControl": 200, "distributionsPerFunction": 250})
    n = {x.quota.key: x for x in stack_needs(plan)}
    assert (n["originAccessControls"].needed, n["distributionsPerOriginAccessControl"].needed) == (2, 200)
    assert n["distributionsPerOriginAccessControl"].limit == 200


def test_unknown_or_bad_quota_override_is_one_line_each() -> None:
    """A typo or a non-number in mta-sts:quotas is refused with the key named."""
    with pytest.raises(ConfigError) as err:
        parse_stack_settings({"domains": {}, "quotas": {"distribution": 10, "tenants": "many"}})
    lines = err.value.lines()
    assert any(line.startswith("mta-sts:quotas.distribution: unknown quota") for line in lines), lines
    assert any(line.startswith("mta-sts:quotas.tenants: expected a whole number") for line in lines), lines


def test_shard_assignment_is_stable_when_domains_come_and_go() -> None:
    """Existing domains keep their shard; new ones fill holes; a dropped shard's domains move into holes only."""
    cap = 3
    first = assign_shards([f"d{i}" for i in range(7)], None, cap)  # 3 shards: 3, 3, 1
    assert sorted(first.values()) == [0, 0, 0, 1, 1, 1, 2]
    # Remove d1 (shard 0) and add a0, which sorts first: only a0 is placed, into the hole.
    second = assign_shards(["a0", *[f"d{i}" for i in range(7) if i != 1]], first, cap)
    assert {d: s for d, s in second.items() if d != "a0"} == {d: s for d, s in first.items() if d != "d1"}
    assert second["a0"] == 0
    # Shrink to 5 domains: shard 2 goes away, its domain moves into a hole in shard 0 or 1.
    survivors = ["d0", "d2", "d3", "d6", "a0"]
    third = assign_shards(survivors, second, cap)
    assert shard_count(5, cap) == 2
    assert all(third[d] == second[d] for d in survivors if second[d] < 2)
    assert third["d6"] in (0, 1)
    assert max(list(third.values()).count(s) for s in (0, 1)) <= cap


def test_assignment_ignores_garbage_in_the_previous_output() -> None:
    """A previous output that is not a mapping, or has non-integer shards, is ignored safely."""
    assert assign_shards(["a", "b"], "nonsense", 1) == {"a": 0, "b": 1}  # type: ignore[arg-type]
    assert assign_shards(["a", "b"], {"a": "7", "b": True}, 1) == {"a": 0, "b": 1}


class FakeQuotas:
    """A Service Quotas client listing one page per call, two pages for cloudfront."""

    def __init__(self, values: dict[str, list[dict[str, Any]]]) -> None:
        self.values = values
        self.calls: list[dict[str, Any]] = []

    def list_service_quotas(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        items = self.values.get(kwargs["ServiceCode"], [])
        if kwargs.get("NextToken") is None and len(items) > 1:
            return {"Quotas": items[:1], "NextToken": "page2"}
        return {"Quotas": items[1:] if kwargs.get("NextToken") else items}


def test_applied_quotas_are_matched_by_code_or_name_across_pages() -> None:
    """The account's values come from ListServiceQuotas, by quota code where known and by name otherwise."""
    client = FakeQuotas(
        {
            "cloudfront": [
                {"QuotaCode": "L-24B04930", "QuotaName": "Distributions per AWS account", "Value": 200.0},
                {
                    "QuotaCode": "L-XXXX",
                    "QuotaName": "Distributions associated with the same origin access control",
                    "Value": 100.0,
                },
            ],
            "acm": [{"QuotaCode": "L-F141DD1D", "QuotaName": "ACM certificates", "Value": 2500.0}],
        }
    )
    assert applied_quotas(client) == {
        "distributions": 200,
        "distributionsPerOriginAccessControl": 100,
        "certificates": 2500,
    }
    assert {c["ServiceCode"] for c in client.calls} == {"cloudfront", "acm", "route53"}


def test_problem_lines_name_the_quota_code_and_how_to_raise_it() -> None:
    """201 dedicated domains against an applied 200 distributions: one line with the code and the command."""
    (problem,) = quota_problems(stack_needs(stack(201)), {"distributions": 200})
    line = str(problem)
    assert line.startswith("mta-sts:quotas.distributions: the stack needs 201")
    assert "the account allows 200 (cloudfront quota L-24B04930)" in line
    assert "--quota-code L-24B04930 --desired-value 201" in line


def test_override_above_the_applied_per_oac_quota_is_refused() -> None:
    """Claiming 200 distributions per OAC in config when the account allows 100 would overfill a shard: refused."""
    plan = stack(150, quotas={"distributionsPerOriginAccessControl": 200, "distributionsPerFunction": 200})
    problems = quota_problems(stack_needs(plan), {"distributionsPerOriginAccessControl": 100})
    assert [p.need.quota.key for p in problems] == ["distributionsPerOriginAccessControl"]


def test_every_quota_cites_its_source() -> None:
    """Each quota names an AWS documentation page and a positive default."""
    for q in QUOTAS.values():
        assert q.source.startswith("https://docs.aws.amazon.com/")
        assert q.default > 0


def test_plan_prints_and_exports_the_needs(tmp_path: Path) -> None:
    """`mtasts plan` shows the quota table, and --json carries each need with its limit and default."""
    stack_file = tmp_path / "Pulumi.t.yaml"
    domains = {f"d{i}.example.com": {"template": "none"} for i in range(101)}
    stack_file.write_text(yaml.safe_dump({"config": {"mta-sts:domains": domains}}))
    table = CliRunner().invoke(cli, ["plan", "--config", str(stack_file)])
    assert table.exit_code == 0, table.output
    assert "distributionsPerOriginAccessControl" in table.stdout
    data = json.loads(CliRunner().invoke(cli, ["plan", "--json", "--config", str(stack_file)]).stdout)
    by_key = {q["quota"]: q for q in data["quotas"]}
    assert by_key["originAccessControls"]["needed"] == 2
    assert by_key["distributions"] == {**by_key["distributions"], "needed": 101, "limit": 500, "ok": True}
