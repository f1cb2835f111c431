"""Hosting modes under Pulumi's mock runtime: shards, shared tenants, pending delegations, switching modes."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pulumi
import pytest

from mtasts.resources import gates, program
from pulumi_mocks import Mocks, Run, build, use_mocks


def by_type(run: Run, typ: str) -> dict[str, dict[str, Any]]:
    return {name: run.mocks.inputs[name] for name, t in run.mocks.types.items() if t == typ}


def domains(count: int, **extra: Any) -> dict[str, Any]:
    return {
        f"d{i:03d}.example.com": {"template": "none", "rua": ["mailto:t@example.com"], **extra} for i in range(count)
    }


def test_dedicated_distributions_are_sharded_within_the_per_oac_and_per_function_quota() -> None:
    """With 2 distributions per OAC/function allowed, 5 domains use 3 OACs and 3 functions, none above 2."""
    quotas = {"distributionsPerOriginAccessControl": 2, "distributionsPerFunction": 2}
    run = build({"domains": domains(5), "quotas": quotas})
    oacs = by_type(run, "aws:cloudfront/originAccessControl:OriginAccessControl")
    functions = by_type(run, "aws:cloudfront/function:Function")
    assert sorted(oacs) == ["policies-oac", "policies-oac-1", "policies-oac-2"]
    assert sorted(functions) == ["policies-path-filter", "policies-path-filter-1", "policies-path-filter-2"]
    dists = by_type(run, "aws:cloudfront/distribution:Distribution").values()
    per_oac = Counter(d["origins"][0]["originAccessControlId"] for d in dists)
    per_function = Counter(d["defaultCacheBehavior"]["functionAssociations"][0]["functionArn"] for d in dists)
    assert sorted(per_oac.values()) == [1, 2, 2]
    assert sorted(per_function.values()) == [1, 2, 2]
    assert set(per_oac) == {f"{n}-id" for n in oacs}
    assert run.outputs["hostingShards"] == {f"d{i:03d}.example.com": i // 2 for i in range(5)}


def test_previous_shards_are_kept() -> None:
    """A domain keeps the shard the last deployment recorded, so its distribution is not updated."""
    quotas = {"distributionsPerOriginAccessControl": 2, "distributionsPerFunction": 2}
    previous = {"d000.example.com": 1, "d001.example.com": 1, "d002.example.com": 0}
    run = build({"domains": domains(3), "quotas": quotas}, shards=previous)
    assert run.outputs["hostingShards"] == previous
    dist = run.mocks.inputs["d000.example.com-distribution"]
    assert dist["origins"][0]["originAccessControlId"] == "policies-oac-1-id"


@pytest.fixture(scope="module")
def shared() -> Run:
    settings = {
        "hosting": "shared",
        "hostingZone": "hosting.example.net",
        "domains": {
            **domains(3),
            "partner.example": {"dns": "external", "template": "none", "rua": ["mailto:t@example.net"]},
        },
    }
    return build(settings)


def test_shared_mode_is_one_distribution_and_one_tenant_per_domain(shared: Run) -> None:
    """shared: one multi-tenant distribution and connection group, a tenant per domain, no certificate resources."""
    assert len(by_type(shared, "aws:cloudfront/multitenantDistribution:MultitenantDistribution")) == 1
    assert len(by_type(shared, "aws:cloudfront/connectionGroup:ConnectionGroup")) == 1
    assert len(by_type(shared, "aws:cloudfront/distributionTenant:DistributionTenant")) == 4
    assert by_type(shared, "aws:cloudfront/distribution:Distribution") == {}
    assert by_type(shared, "aws:acm/certificate:Certificate") == {}

    def cloud(domain: str) -> int:
        return sum(
            1 for n, t in shared.mocks.types.items() if n.startswith(f"{domain}-") and not t.startswith("mtasts:")
        )

    # object, CNAME, tenant and two TXT for a delegated domain; A and AAAA instead of the CNAME in a Route53 zone.
    assert cloud("partner.example") == 5
    assert cloud("d000.example.com") == 6
    dist = next(iter(by_type(shared, "aws:cloudfront/multitenantDistribution:MultitenantDistribution").values()))
    assert dist["defaultCacheBehavior"]["viewerProtocolPolicy"] == "https-only"
    assert dist["origins"][0]["originPath"] == "/{{policyDomain}}"
    assert dist["origins"][0]["originAccessControlId"] == "shared-oac-id"
    (definition,) = dist["tenantConfig"]["parameterDefinitions"]
    assert definition["name"] == "policyDomain"
    assert definition["definitions"][0]["stringSchemas"][0]["required"] is True


def test_a_tenant_can_only_be_served_its_own_domains_policy(shared: Run) -> None:
    """Each tenant serves only mta-sts.<domain>, reads only <domain>/ in the bucket and is invalidated by itself.

    The origin path is the tenant parameter, set to the tenant's own domain, which is also the prefix of the
    domain's object key; the rollout invalidates and verifies each tenant by its own id and host.
    """
    targets = shared.mocks.inputs["policy-rollout"]["targets"]
    for d in shared.plan.domains:
        tenant = shared.mocks.inputs[f"{d.domain}-tenant"]
        assert tenant["domains"] == [{"domain": f"mta-sts.{d.domain}"}]
        assert tenant["parameters"] == [{"name": "policyDomain", "value": d.domain}]
        assert shared.mocks.inputs[f"{d.domain}-policy"]["key"] == f"{d.domain}/.well-known/mta-sts.txt"
        assert tenant["managedCertificateRequest"]["primaryDomainName"] == f"mta-sts.{d.domain}"
        assert targets[d.domain] == {
            "policyId": d.policy_id,
            "kind": "tenant",
            "targetId": f"{d.domain}-tenant-id".replace(f"{d.domain}-tenant-id", targets[d.domain]["targetId"]),
            "distributionId": targets[d.domain]["distributionId"],
            "paths": ["/.well-known/mta-sts.txt"],
        }
    tenant_ids = [t["targetId"] for t in targets.values()]
    assert len(set(tenant_ids)) == len(tenant_ids)
    parameters = [shared.mocks.inputs[f"{d.domain}-tenant"]["parameters"][0]["value"] for d in shared.plan.domains]
    assert len(set(parameters)) == len(parameters)


def test_shared_txt_waits_for_object_host_records_tenant_and_rollout(shared: Run) -> None:
    """Order in shared mode: each TXT depends on its object, A/AAAA, tenant, the bucket policy and the rollout."""
    for d in shared.plan.domains:
        hosts = {f"{d.domain}-cname"} if d.external else {f"{d.domain}-a", f"{d.domain}-aaaa"}
        needs = {f"{d.domain}-policy", f"{d.domain}-tenant", *hosts, "policies-bucket-policy", "policy-rollout"}
        assert set(shared.regs[f"{d.domain}-sts-txt"].depends_on) == needs
        assert set(shared.regs[f"{d.domain}-tenant"].depends_on) == hosts
        if d.external:
            assert shared.mocks.inputs[f"{d.domain}-cname"]["records"] == [shared.outputs["sharedRoutingEndpoint"]]
        else:
            alias = shared.mocks.inputs[f"{d.domain}-a"]["aliases"][0]
            assert alias["name"] == shared.outputs["sharedRoutingEndpoint"]


def test_bucket_policy_admits_the_shared_distribution(shared: Run) -> None:
    """The multi-tenant distribution's ARN is the one distribution the bucket policy names in shared mode.

    A second statement admits the account's tenants (which source ARN OAC presents for them is unknown).
    """
    (policy,) = by_type(shared, "aws:s3/bucketPolicy:BucketPolicy").values()
    statement, tenants = json.loads(policy["policy"])["Statement"]
    (arn,) = statement["Condition"]["StringEquals"]["AWS:SourceArn"]
    assert arn.startswith("arn:aws:cloudfront::123456789012:distribution/E")
    assert tenants["Condition"] == {
        "ArnLike": {"AWS:SourceArn": "arn:aws:cloudfront::123456789012:distribution-tenant/*"},
        "StringEquals": {"AWS:SourceAccount": "123456789012"},
    }
    assert (tenants["Principal"], tenants["Action"]) == (statement["Principal"], "s3:GetObject")


def test_pending_delegation_does_not_block_the_rest() -> None:
    """An external domain whose owner has not published the CNAMEs gets its targets but no tenant and no TXT."""
    settings = {
        "hostingZone": "hosting.example.net",
        "domains": {
            "ready.example": {"dns": "external", "template": "none"},
            "late.example": {"dns": "external", "template": "none"},
            "own.example.com": {"template": "none", "hosting": "shared"},
        },
    }
    run = build(settings, delegated={"ready.example"})
    assert "late.example-tenant" not in run.mocks.inputs
    assert "late.example-sts-txt" not in run.mocks.inputs
    assert run.mocks.inputs["late.example-cname"]["name"] == "mta-sts.late.example.hosting.example.net"
    assert set(run.mocks.inputs["policy-rollout"]["targets"]) == {"ready.example", "own.example.com"}
    assert run.outputs["domains"]["late.example"]["pending"] is True
    assert "ready.example-sts-txt" in run.mocks.inputs
    assert "own.example.com-sts-txt" in run.mocks.inputs


def test_switching_modes_keeps_host_records_and_id() -> None:
    """dedicated -> shared -> dedicated: same A/AAAA records (target updated in place) and the same TXT value."""
    settings = {"domains": {"example.com": {"template": "none", "rua": ["mailto:t@example.com"]}}}
    dedicated = build(settings)
    shared = build({**settings, "hosting": "shared"})
    back = build(settings)
    for kind in ("a", "aaaa"):
        name = f"example.com-{kind}"
        assert dedicated.mocks.types[name] == shared.mocks.types[name] == "aws:route53/record:Record"
        before, during = dedicated.mocks.inputs[name], shared.mocks.inputs[name]
        assert (before["name"], before["type"]) == (during["name"], during["type"])
        assert before["aliases"][0]["name"] != during["aliases"][0]["name"]
        assert back.mocks.inputs[name] == before
    txt = [r.mocks.inputs["example.com-sts-txt"]["records"] for r in (dedicated, shared, back)]
    assert txt[0] == txt[1] == txt[2]
    assert dedicated.mocks.inputs["example.com-policy"] == shared.mocks.inputs["example.com-policy"]


def test_switching_a_live_domain_in_place_is_refused() -> None:
    """A domain live on dedicated hosting cannot be switched to shared in place: one line naming it, in preview.

    CloudFront moves a host name only from a disabled distribution, so the policy URL would stop answering.
    """
    settings = {
        "hosting": "shared",
        "domains": {"example.com": {"template": "none"}, "new.example": {"template": "none"}},
    }
    previous = {"example.com": {"hosting": "dedicated", "pending": False}}
    with pytest.raises(Exception, match=r"domains\.example\.com\.hosting: example\.com is live on dedicated hosting"):
        build(settings, previous_domains=previous)
    run = build(settings, previous_domains={"example.com": {"hosting": "shared", "pending": False}})
    assert run.outputs["domains"]["example.com"]["hosting"] == "shared"


def test_new_dedicated_external_domain_is_refused_but_an_existing_one_stays() -> None:
    """hosting: dedicated on dns: external: a warning in the plan, refused for a new domain, kept for a live one.

    A new one's ACM validation CNAME is only known after the deployment that waits on it; a domain deployed so
    by an earlier version keeps working, with the validation CNAME in its delegation output.
    """
    from mtasts.config import parse_stack_settings

    settings = {
        "hostingZone": "h.example.net",
        "domains": {"p.example": {"dns": "external", "hosting": "dedicated", "template": "none"}},
    }
    (domain,) = parse_stack_settings(settings).domains
    assert [w.path for w in domain.warnings] == ["domains.p.example.hosting"]
    with pytest.raises(Exception, match=r"domains\.p\.example\.hosting: a new dns: external domain cannot be"):
        build(settings)
    legacy = {"p.example": {"distributionDomainName": "e1.cloudfront.net", "policyId": "x"}}  # no hosting key
    run = build(settings, previous_domains=legacy)
    assert "p.example-certificate-validation-record" not in run.mocks.inputs
    names = [r["name"] for r in run.outputs["domains"]["p.example"]["delegation"]]
    assert names == ["mta-sts.p.example", "_mta-sts.p.example", "_smtp._tls.p.example", "_a1b2.mta-sts.p.example"]


def test_upgrade_keeps_legacy_external_domains_from_switching_silently() -> None:
    """Outputs from before hosting modes count as dedicated: an external domain now defaulting to shared is refused."""
    settings = {"hostingZone": "h.example.net", "domains": {"p.example": {"dns": "external", "template": "none"}}}
    legacy = {"p.example": {"distributionDomainName": "e1.cloudfront.net"}}
    with pytest.raises(Exception, match=r"p\.example is live on dedicated hosting; switching it to shared"):
        build(settings, previous_domains=legacy)


def test_main_refuses_a_stack_over_the_accounts_applied_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    """main() reads the applied quotas and refuses, before declaring anything, naming the quota code."""

    class Client:
        def list_service_quotas(self, **kwargs: Any) -> dict[str, Any]:
            if kwargs["ServiceCode"] != "cloudfront":
                return {"Quotas": []}
            return {"Quotas": [{"QuotaCode": "L-24B04930", "QuotaName": "Distributions per AWS account", "Value": 2}]}

    class Session:
        def client(self, *_: Any, **__: Any) -> Client:
            return Client()

    monkeypatch.setattr(gates, "boto3_session", lambda profile: Session())
    monkeypatch.setattr("mtasts.checker.preflight.preflight", lambda plan, net=None: [])
    mocks = Mocks()
    use_mocks(mocks)
    pulumi.runtime.set_all_config({"mta-sts:domains": json.dumps(domains(3))})

    @pulumi.runtime.test
    def entry() -> None:
        program.main()

    try:
        with pytest.raises(Exception, match=r"mta-sts:quotas.distributions: the stack needs 3.*L-24B04930"):
            entry()
    finally:
        pulumi.runtime.set_all_config({})
    assert not any(t.startswith("aws:") for t in mocks.types.values())


def test_300_dedicated_domains_stay_within_every_association_quota() -> None:
    """300 dedicated domains at AWS's default quotas: 3 OACs and 3 functions, none with more than 100 distributions."""
    run = build({"domains": {f"d{i:03d}.example.com": {"template": "none"} for i in range(300)}})
    dists = list(by_type(run, "aws:cloudfront/distribution:Distribution").values())
    assert len(dists) == 300
    per_oac = Counter(d["origins"][0]["originAccessControlId"] for d in dists)
    per_function = Counter(d["defaultCacheBehavior"]["functionAssociations"][0]["functionArn"] for d in dists)
    assert sorted(per_oac.values()) == [100, 100, 100]
    assert sorted(per_function.values()) == [100, 100, 100]
    assert len(by_type(run, "aws:cloudfront/originAccessControl:OriginAccessControl")) == 3


def test_hosting_values_are_validated() -> None:
    """mta-sts:hosting and a domain's hosting accept only dedicated or shared, one line each."""
    from mtasts.config import parse_stack_settings
    from mtasts.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        parse_stack_settings({"hosting": "cheap", "domains": {"a.example": {"template": "none", "hosting": 1}}})
    lines = err.value.lines()
    assert "mta-sts:hosting: 'cheap' is not one of dedicated, shared" in lines
    assert "domains.a.example.hosting: 1 is not one of dedicated, shared" in lines


def test_domain_hosting_overrides_the_stack_setting() -> None:
    """A domain's hosting wins over mta-sts:hosting; dns external defaults to shared whatever the stack says."""
    from mtasts.config import parse_stack_settings

    config = parse_stack_settings(
        {
            "hosting": "shared",
            "hostingZone": "h.example.net",
            "domains": {
                "a.example": {"template": "none", "hosting": "dedicated"},
                "b.example": {"template": "none"},
                "c.example": {"template": "none", "dns": "external"},
            },
        }
    )
    assert [(d.domain, d.hosting) for d in config.domains] == [
        ("a.example", "dedicated"),
        ("b.example", "shared"),
        ("c.example", "shared"),
    ]


def test_delegation_lookup_published_missing_wrong_and_transient() -> None:
    """A CNAME to the target is published; none or elsewhere is pending; a failed lookup keeps the domain."""
    from mtasts.config import parse_stack_settings
    from mtasts.plan import plan_stack
    from mtasts.resources.tenants import published_delegations

    names = ("ok", "none", "wrong", "flaky")
    plan = plan_stack(
        parse_stack_settings(
            {
                "hostingZone": "h.example.net",
                "domains": {f"{n}.example": {"dns": "external", "template": "none"} for n in names},
            }
        )
    )

    def lookup(name: str) -> list[str]:
        if name.startswith("mta-sts.flaky."):
            raise TimeoutError("resolver did not answer")
        return {
            "mta-sts.ok.example": ["mta-sts.ok.example.h.example.net."],
            "mta-sts.wrong.example": ["elsewhere.example.org."],
        }.get(name, [])

    assert published_delegations(plan.domains, lookup) == {"ok.example", "flaky.example"}
