"""Moving a live domain between hosting modes (switch_hosting), under Pulumi's mock runtime, and the tenant release."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pulumi
import pulumi.resource
import pytest
from botocore.stub import Stubber

from mtasts.config import parse_stack_settings
from mtasts.plan import plan_stack
from mtasts.resources import shared
from mtasts.resources.providers import rollout
from mtasts.resources.quotas import stack_needs
from pulumi_mocks import Mocks, Run, build, use_mocks
from rollout_fixtures import FakeClock, cloudfront_client, invalidation

DOMAIN = "example.com"
HOST = f"mta-sts.{DOMAIN}"


def settings(hosting: str, switch: bool = False, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"template": "none", "rua": ["mailto:t@example.com"], **extra}
    if switch:
        entry["switch_hosting"] = True
    return {"hosting": hosting, "domains": {DOMAIN: entry}}


@contextmanager
def retained() -> Iterator[set[str]]:
    """Names of the resources registered with ``retain_on_delete``."""
    names: set[str] = set()
    original = pulumi.resource.register_resource

    def wrapper(
        res: Any, ty: str, name: str, custom: bool, remote: bool, new: Any, props: Any, opts: Any, *a: Any
    ) -> Any:
        if opts is not None and opts.retain_on_delete:
            names.add(name)
        return original(res, ty, name, custom, remote, new, props, opts, *a)

    pulumi.resource.register_resource = wrapper  # type: ignore[assignment]
    try:
        yield names
    finally:
        pulumi.resource.register_resource = original  # type: ignore[assignment]


def after(run: Run, config: dict[str, Any]) -> Run:
    """The next deployment of ``config``, reading ``run``'s outputs as its previous ones."""
    return build(config, previous_domains=run.outputs["domains"], shards=run.outputs["hostingShards"])


@pytest.fixture(scope="module")
def chain() -> dict[str, Run]:
    """dedicated, switch to shared, follow-up, switch back to dedicated, follow-up: each reading the last outputs."""
    runs = {"dedicated": build(settings("dedicated"))}
    runs["to_shared"] = after(runs["dedicated"], settings("shared", switch=True))
    runs["shared"] = after(runs["to_shared"], settings("shared"))
    with retained() as names:
        runs["to_dedicated"] = after(runs["shared"], settings("dedicated", switch=True))
    runs["to_dedicated"].mocks.calls.append(("retained", {"names": sorted(names)}))
    runs["back"] = after(runs["to_dedicated"], settings("dedicated"))
    return runs


def test_the_id_and_the_policy_object_never_change_across_both_moves(chain: dict[str, Run]) -> None:
    """dedicated -> shared -> dedicated: the _mta-sts TXT value and the policy object are the same in every step."""
    txt = {k: r.mocks.inputs[f"{DOMAIN}-sts-txt"]["records"] for k, r in chain.items()}
    assert len({tuple(v) for v in txt.values()}) == 1, txt
    objects = [r.mocks.inputs[f"{DOMAIN}-policy"] for r in chain.values()]
    assert all(o == objects[0] for o in objects)
    assert {r.outputs["domains"][DOMAIN]["policyId"] for r in chain.values()} == {
        chain["dedicated"].plan.domains[0].policy_id
    }


def test_to_shared_releases_the_distribution_before_the_tenant_claims_the_name(chain: dict[str, Run]) -> None:
    """dedicated -> shared: alias removed from the kept distribution, then the tenant, then the host records."""
    run = chain["to_shared"]
    dist = run.mocks.inputs[f"{DOMAIN}-distribution"]
    assert dist.get("aliases") in (None, [])
    before = chain["dedicated"].mocks.inputs[f"{DOMAIN}-distribution"]
    assert {k: v for k, v in dist.items() if k not in ("aliases", "comment")} == {
        k: v for k, v in before.items() if k not in ("aliases", "comment")
    }  # only the alias goes: same certificate and TLS settings, same origin, OAC and function
    assert chain["dedicated"].mocks.inputs[f"{DOMAIN}-distribution"]["aliases"] == [HOST]
    # released only once the shared distribution and connection group exist
    assert set(run.regs[f"{DOMAIN}-distribution"].depends_on) == {"shared-distribution", "shared-connection-group"}
    tenant = run.regs[f"{DOMAIN}-tenant"]
    assert set(tenant.depends_on) == {f"{DOMAIN}-distribution", f"{DOMAIN}-certificate-validation"}
    for kind in ("a", "aaaa"):
        assert run.regs[f"{DOMAIN}-{kind}"].depends_on == [f"{DOMAIN}-tenant"]
        assert run.mocks.inputs[f"{DOMAIN}-{kind}"]["aliases"][0]["name"] == run.outputs["sharedRoutingEndpoint"]
    txt = set(run.regs[f"{DOMAIN}-sts-txt"].depends_on)
    assert {f"{DOMAIN}-tenant", f"{DOMAIN}-a", f"{DOMAIN}-aaaa", "policy-rollout"} <= txt
    assert run.mocks.inputs["policy-rollout"]["targets"][DOMAIN]["kind"] == "tenant"


def test_to_shared_reuses_the_validated_acm_certificate(chain: dict[str, Run]) -> None:
    """The tenant presents the domain's existing ACM certificate (same resources, same inputs): no validation wait."""
    before, run = chain["dedicated"], chain["to_shared"]
    tenant = run.mocks.inputs[f"{DOMAIN}-tenant"]
    assert "managedCertificateRequest" not in tenant
    arn = tenant["customizations"]["certificate"]["arn"]
    assert arn == f"arn:aws:acm:us-east-1:123456789012:certificate/{DOMAIN}-certificate"
    for name in ("certificate", "certificate-validation-record", "certificate-validation"):
        assert run.mocks.inputs[f"{DOMAIN}-{name}"] == before.mocks.inputs[f"{DOMAIN}-{name}"]
        assert run.regs[f"{DOMAIN}-{name}"].parent == DOMAIN
    assert run.outputs["domains"][DOMAIN] | {} == {
        **run.outputs["domains"][DOMAIN],
        "hosting": "shared",
        "certificate": "acm",
        "switchedFrom": "dedicated",
    }
    # The released distribution keeps its shard (its OAC and function association) until it is deleted.
    assert run.outputs["hostingShards"] == {DOMAIN: 0}


def test_follow_up_deletes_the_old_distribution_and_keeps_the_certificate(chain: dict[str, Run]) -> None:
    """The next deployment no longer declares the distribution (Pulumi deletes it); the tenant keeps its ACM cert."""
    run = chain["shared"]
    assert f"{DOMAIN}-distribution" not in run.mocks.inputs
    assert run.outputs["hostingShards"] == {}
    assert run.mocks.inputs[f"{DOMAIN}-tenant"] == chain["to_shared"].mocks.inputs[f"{DOMAIN}-tenant"]
    assert f"{DOMAIN}-certificate" in run.mocks.inputs
    assert run.outputs["domains"][DOMAIN]["switchedFrom"] is None
    assert run.outputs["domains"][DOMAIN]["certificate"] == "acm"


def test_to_dedicated_releases_the_tenant_before_the_distribution_claims_the_name(chain: dict[str, Run]) -> None:
    """shared -> dedicated: certificate validated, tenant released (kept, retained), distribution, then records."""
    run = chain["to_dedicated"]
    release = run.regs[f"{DOMAIN}-tenant-release"]
    assert release.type == "pulumi-python:dynamic:Resource"
    assert set(release.depends_on) == {f"{DOMAIN}-tenant", f"{DOMAIN}-certificate-validation"}
    assert run.mocks.inputs[f"{DOMAIN}-tenant-release"]["tenantId"] == f"dt_{_crc(f'{DOMAIN}-tenant')}"
    assert run.regs[f"{DOMAIN}-distribution"].depends_on == [f"{DOMAIN}-tenant-release"]
    assert run.mocks.inputs[f"{DOMAIN}-distribution"]["aliases"] == [HOST]
    # The tenant is declared unchanged (no update before its release) and only forgotten by the next deployment.
    assert run.mocks.inputs[f"{DOMAIN}-tenant"] == chain["shared"].mocks.inputs[f"{DOMAIN}-tenant"]
    assert run.mocks.calls[-1] == ("retained", {"names": [f"{DOMAIN}-tenant"]})
    dist_name = run.outputs["domains"][DOMAIN]["distributionDomainName"]
    for kind in ("a", "aaaa"):
        assert run.mocks.inputs[f"{DOMAIN}-{kind}"]["aliases"][0]["name"] == dist_name
        assert run.regs[f"{DOMAIN}-{kind}"].depends_on == [f"{DOMAIN}-distribution"]
    assert {f"{DOMAIN}-distribution", f"{DOMAIN}-a", "policy-rollout"} <= set(run.regs[f"{DOMAIN}-sts-txt"].depends_on)
    assert run.mocks.inputs["policy-rollout"]["targets"][DOMAIN]["kind"] == "distribution"
    assert run.outputs["domains"][DOMAIN]["switchedFrom"] == "shared"
    # The certificate it carried in shared hosting is the one the distribution presents: nothing new to validate.
    assert run.mocks.inputs[f"{DOMAIN}-certificate"] == chain["dedicated"].mocks.inputs[f"{DOMAIN}-certificate"]


def test_follow_up_forgets_the_tenant_and_the_shared_distribution(chain: dict[str, Run]) -> None:
    """Back on dedicated: no tenant, no release, no multi-tenant distribution left declared."""
    run = chain["back"]
    assert not any(n.startswith(f"{DOMAIN}-tenant") for n in run.mocks.inputs)
    assert "shared-distribution" not in run.mocks.inputs
    assert run.mocks.inputs[f"{DOMAIN}-distribution"] == chain["dedicated"].mocks.inputs[f"{DOMAIN}-distribution"]


def test_the_transitional_deployments_pass_the_policy_pack(chain: dict[str, Run]) -> None:
    """Every resource of both switch deployments satisfies every resource guardrail (TLS, OAC, us-east-1, …)."""
    from test_policy_pack import args_for, violations

    for step in ("to_shared", "to_dedicated"):
        run = chain[step]
        for name, typ in run.mocks.types.items():
            if not typ.startswith("pulumi:providers:"):
                assert violations(args_for(run, name)) == [], (step, name)


def test_a_managed_certificate_tenant_moves_to_dedicated_too() -> None:
    """A domain that started shared (CloudFront-managed certificate) moves with a new, first validated ACM one."""
    first = build(settings("shared"))
    assert "managedCertificateRequest" in first.mocks.inputs[f"{DOMAIN}-tenant"]
    run = after(first, settings("dedicated", switch=True))
    assert run.mocks.inputs[f"{DOMAIN}-tenant"] == first.mocks.inputs[f"{DOMAIN}-tenant"]
    assert f"{DOMAIN}-certificate-validation" in run.regs[f"{DOMAIN}-tenant-release"].depends_on
    assert run.mocks.inputs[f"{DOMAIN}-sts-txt"]["records"] == first.mocks.inputs[f"{DOMAIN}-sts-txt"]["records"]


def test_switch_without_opt_in_is_refused_before_anything_is_declared() -> None:
    """Without switch_hosting a live domain's switch is refused in one line, and no cloud resource is declared."""
    first = build(settings("dedicated"))
    mocks = Mocks()
    with pytest.raises(Exception, match=r"domains\.example\.com\.hosting: .* needs switch_hosting: true") as err:
        build(settings("shared"), previous_domains=first.outputs["domains"], mocks=mocks)
    assert str(err.value).count("error:") == 1
    assert not any(t.startswith("aws:") for t in mocks.types.values())


def test_switch_together_with_a_policy_change_is_refused() -> None:
    """A move and a policy change in the same deployment: refused, one thing at a time."""
    first = build(settings("dedicated"))
    with pytest.raises(Exception, match=r"domains\.example\.com\.switch_hosting: .*changes its policy"):
        build(settings("shared", switch=True, max_age=172_800), previous_domains=first.outputs["domains"])


def test_external_domain_cannot_move_to_dedicated() -> None:
    """A dns: external domain has no validation record anyone could publish in time: refused with switch_hosting."""
    config = {
        "hostingZone": "h.example.net",
        "domains": {
            "p.example": {"dns": "external", "template": "none", "hosting": "dedicated", "switch_hosting": True}
        },
    }
    previous = {"p.example": {"hosting": "shared", "pending": False}}
    with pytest.raises(Exception, match=r"domains\.p\.example\.hosting: a dns: external domain cannot move to"):
        build(config, previous_domains=previous)


def test_legacy_external_dedicated_domain_moves_to_shared_keeping_a_aaaa() -> None:
    """A legacy dedicated dns: external domain moves to shared: A/AAAA in the hosting zone stay (no CNAME clash)."""
    config = {
        "hostingZone": "h.example.net",
        "domains": {"p.example": {"dns": "external", "template": "none", "switch_hosting": True}},
    }
    legacy = {"p.example": {"distributionDomainName": "e1.cloudfront.net"}}
    run = build(config, previous_domains=legacy, delegated=set())
    assert "p.example-cname" not in run.mocks.inputs
    assert run.mocks.inputs["p.example-a"]["name"] == "mta-sts.p.example.h.example.net"
    assert run.regs["p.example-a"].depends_on == ["p.example-tenant"]
    assert "p.example-certificate-validation-record" not in run.mocks.inputs  # the owner's CNAME validates it
    assert run.outputs["domains"]["p.example"]["pending"] is False


def test_opt_in_on_a_new_or_settled_domain_changes_nothing() -> None:
    """switch_hosting on a domain with nothing to move declares it as usual: no released side, no release step."""
    run = build(settings("shared", switch=True))
    assert "managedCertificateRequest" in run.mocks.inputs[f"{DOMAIN}-tenant"]
    assert f"{DOMAIN}-distribution" not in run.mocks.inputs
    assert run.outputs["domains"][DOMAIN]["switchedFrom"] is None


def test_quotas_count_a_moving_domain_on_both_sides() -> None:
    """While moving, a domain needs a distribution and a tenant; a move to dedicated needs a second certificate."""
    plan = plan_stack(parse_stack_settings(settings("shared", switch=True)))

    def needs(moving: dict[str, str] | None) -> dict[str, int]:
        return {n.quota.key: n.needed for n in stack_needs(plan, moving)}

    assert needs({})["distributions"] == 0
    assert (needs({})["tenants"], needs({})["certificates"]) == (1, 1)
    offline = needs(None)  # mtasts plan: every switch_hosting domain counted on both sides
    assert (offline["distributions"], offline["tenants"], offline["certificates"]) == (1, 1, 1)
    assert offline["distributionsPerOriginAccessControl"] == 1
    back = plan_stack(parse_stack_settings(settings("dedicated", switch=True)))
    moving_back = {n.quota.key: n.needed for n in stack_needs(back)}
    assert (moving_back["distributions"], moving_back["tenants"], moving_back["certificates"]) == (1, 1, 2)


def test_switch_hosting_is_announced_in_the_plan() -> None:
    """mtasts plan warns, on the domain's switch_hosting, that a move takes the policy URL down for minutes."""
    (domain,) = parse_stack_settings(settings("shared", switch=True)).domains
    (warning,) = [w for w in domain.warnings if w.path.endswith("switch_hosting")]
    assert warning.path == f"domains.{DOMAIN}.switch_hosting"
    assert "stops answering for a few minutes" in warning.message
    assert plan_stack(parse_stack_settings(settings("shared", switch=True))).to_dict()["domains"][0]["switch_hosting"]


def test_switch_hosting_must_be_a_boolean() -> None:
    """switch_hosting: anything but true or false is one error naming the domain and the key."""
    from mtasts.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        parse_stack_settings({"domains": {"a.example": {"template": "none", "switch_hosting": "yes"}}})
    assert err.value.lines() == ["domains.a.example.switch_hosting: expected true or false, got str 'yes'"]


def test_main_reads_the_previous_domains_before_declaring(monkeypatch: pytest.MonkeyPatch) -> None:
    """pulumi up reads its own last domains output synchronously: an un-opted switch fails before any AWS resource."""
    import json

    from mtasts.resources import gates, program

    monkeypatch.setattr(gates, "preflight", lambda plan: None)
    monkeypatch.setattr(gates, "check_quotas", lambda plan, settings: None)
    monkeypatch.setattr(program, "published_delegations", lambda domains: set())
    mocks = Mocks(previous_outputs={"domains": {DOMAIN: {"hosting": "dedicated", "pending": False}}})
    use_mocks(mocks)
    config = settings("shared")
    pulumi.runtime.set_all_config(
        {"mta-sts:domains": json.dumps(config["domains"]), "mta-sts:hosting": json.dumps("shared")}
    )

    @pulumi.runtime.test
    def entry() -> None:
        program.main()

    try:
        with pytest.raises(Exception, match=r"example\.com is live on dedicated hosting; switching it to shared"):
            entry()
    finally:
        pulumi.runtime.set_all_config({})
    assert not any(t.startswith("aws:") for t in mocks.types.values())


def _crc(name: str) -> str:
    import zlib

    return f"{zlib.crc32(name.encode()):010d}"


def test_a_move_whose_verification_fails_keeps_announcing_the_live_id() -> None:
    """The rollout's first run verifies a moving domain again but, failing, publishes its live id, never none."""
    dedicated = build(settings("dedicated"))
    live_id = dedicated.outputs["domains"][DOMAIN]["policyId"]
    moved = after(dedicated, settings("shared", switch=True))
    step = moved.mocks.inputs["policy-rollout"]
    assert (step["live"], step["moving"]) == ({DOMAIN: live_id}, [DOMAIN])
    target = step["targets"][DOMAIN]
    props = {"targets": step["targets"], "live": step["live"], "moving": step["moving"]}
    client, clock = cloudfront_client(), FakeClock()
    with Stubber(client) as stub, pytest.MonkeyPatch.context() as patch:
        created = {"Location": "https://x", "Invalidation": invalidation("I1", "InProgress")}
        stub.add_response("create_invalidation_for_distribution_tenant", created)
        got = {"Invalidation": invalidation("I1", "Completed")}
        stub.add_response(
            "get_invalidation_for_distribution_tenant", got, {"DistributionTenantId": target["targetId"], "Id": "I1"}
        )
        original = rollout.run_rollout

        def run(client_: Any, targets: Any, previous: dict[str, str], **kw: Any) -> Any:
            assert previous == {}  # moving: verified at the tenant, not taken as live there
            fail = lambda host: b"version: STSv1\nmode: none\nmax_age: 1\n"  # noqa: E731 - not the domain's policy
            return original(client, targets, previous, fallback=kw["fallback"], fetch=fail, sleep=clock.sleep,
                            clock=clock, timeout=30)  # fmt: skip

        patch.setattr(rollout, "run_rollout", run)
        patch.setattr(rollout, "_client", lambda props: client)
        outs = rollout.PolicyRolloutProvider().create(props).outs
    assert outs["published"] == {DOMAIN: live_id}
    assert "serves id" in outs["failures"][DOMAIN]


def test_a_move_to_shared_verifies_only_after_the_updated_host_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """dedicated -> shared: the rollout target waits (by value) for the A/AAAA records, which follow the tenant."""
    waited: list[int] = []
    components: list[Any] = []
    value_only, rollout_target = shared.value_only, shared.SharedDomain.rollout_target

    def spy_value_only(output: Any) -> Any:
        waited.append(id(output))
        return value_only(output)

    def spy_target(self: Any, distribution_id: Any) -> Any:
        components.append(self)
        return rollout_target(self, distribution_id)

    monkeypatch.setattr(shared, "value_only", spy_value_only)
    monkeypatch.setattr(shared.SharedDomain, "rollout_target", spy_target)
    dedicated = build(settings("dedicated"))
    run = build(settings("shared", switch=True), previous_domains=dedicated.outputs["domains"])
    (component,) = components
    assert [r.pulumi_resource_name for r in component.alias_records] == [f"{DOMAIN}-a", f"{DOMAIN}-aaaa"]
    assert {id(r.fqdn) for r in component.alias_records} <= set(waited)
    assert run.regs[f"{DOMAIN}-a"].depends_on == [f"{DOMAIN}-tenant"]


@pytest.mark.parametrize("step", ["dedicated", "to_shared", "shared", "to_dedicated", "back"])
def test_the_bucket_policy_names_every_distribution_of_each_step(chain: dict[str, Run], step: str) -> None:
    """Each deployment's bucket policy lets exactly its distributions read: dedicated, released and shared ones."""
    mocks = chain[step].mocks
    kinds = (
        "aws:cloudfront/distribution:Distribution",
        "aws:cloudfront/multitenantDistribution:MultitenantDistribution",
    )
    declared = sorted(mocks.outputs[name]["arn"] for name, kind in mocks.types.items() if kind in kinds)
    document = json.loads(mocks.inputs["policies-bucket-policy"]["policy"])
    (reads,) = [s for s in document["Statement"] if s["Sid"] == "CloudFrontReadsPolicies"]
    assert reads["Condition"] == {"StringEquals": {"AWS:SourceArn": declared}}
    assert len(declared) == {"dedicated": 1, "to_shared": 2, "shared": 1, "to_dedicated": 2, "back": 1}[step]
