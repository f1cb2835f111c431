"""The Pulumi program under Pulumi's mock runtime (preview=False): what it would create on AWS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mtasts.resources.parts import CACHING_OPTIMIZED_POLICY_ID
from mtasts.resources.store import PATH_FILTER_CODE
from pulumi_mocks import PROGRAM_CLOCK, Run, build

NOW = PROGRAM_CLOCK

EXAMPLE: dict[str, Any] = {
    "domains": {
        "example.com": {
            "template": "enforce",
            "mx": ["mx1.example.com", "*.mx.example.net"],
            "rua": ["mailto:tls@example.com"],
        },
        "example.org": {"template": "google-workspace", "rua": ["mailto:tls@example.org"], "ttl": 600},
        "bücher.example": {"template": "none"},
    }
}


@pytest.fixture(scope="module")
def example() -> Run:
    return build(EXAMPLE)


def by_type(run: Run, typ: str) -> dict[str, dict[str, Any]]:
    return {name: run.mocks.inputs[name] for name, t in run.mocks.types.items() if t == typ}


def test_bucket_is_private_encrypted_and_versioned(example: Run) -> None:
    """All four public-access blocks, BucketOwnerEnforced, default encryption and versioning are on."""
    (pab,) = by_type(example, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").values()
    assert [pab[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")] == [
        True
    ] * 4
    (own,) = by_type(example, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").values()
    assert own["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    (enc,) = by_type(
        example, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ).values()
    assert enc["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    (ver,) = by_type(example, "aws:s3/bucketVersioning:BucketVersioning").values()
    assert ver["versioningConfiguration"]["status"] == "Enabled"
    assert by_type(example, "aws:cloudfront/originAccessIdentity:OriginAccessIdentity") == {}


def test_origin_access_control_signs_always_with_sigv4(example: Run) -> None:
    """CloudFront reads the bucket through an OAC (sigv4, always), never a legacy OAI."""
    (oac,) = by_type(example, "aws:cloudfront/originAccessControl:OriginAccessControl").values()
    assert (oac["originAccessControlOriginType"], oac["signingBehavior"], oac["signingProtocol"]) == (
        "s3",
        "always",
        "sigv4",
    )


def test_bucket_policy_admits_only_this_stacks_distributions(example: Run) -> None:
    """Only cloudfront.amazonaws.com may read, and only for the stack's own distribution ARNs."""
    (policy,) = by_type(example, "aws:s3/bucketPolicy:BucketPolicy").values()
    document = json.loads(policy["policy"])
    (statement,) = document["Statement"]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Action"] == "s3:GetObject"
    arns = statement["Condition"]["StringEquals"]["AWS:SourceArn"]
    distributions = by_type(example, "aws:cloudfront/distribution:Distribution")
    assert len(arns) == len(distributions) == 3
    assert all(a.startswith("arn:aws:cloudfront::123456789012:distribution/E") for a in arns)


def test_policy_objects_are_the_rendered_bytes(example: Run) -> None:
    """Each object's body equals `mtasts render`, as text/plain; charset=utf-8 with a short Cache-Control."""
    objects = by_type(example, "aws:s3/bucketObjectv2:BucketObjectv2")
    assert len(objects) == 3
    for d in example.plan.domains:
        obj = objects[f"{d.domain}-policy"]
        assert obj["content"].encode("utf-8") == d.policy_bytes
        assert obj["key"] == f"{d.domain}/.well-known/mta-sts.txt"
        assert obj["contentType"] == "text/plain; charset=utf-8"
        assert obj["cacheControl"] == "max-age=300"


def test_policy_objects_match_mtasts_render(example: Run, tmp_path: Path) -> None:
    """The object body is byte for byte what `mtasts render` prints for the same domain."""
    from click.testing import CliRunner

    from mtasts.cli import main

    stack_file = tmp_path / "Pulumi.test.yaml"
    stack_file.write_text(yaml.safe_dump({"config": {"mta-sts:domains": EXAMPLE["domains"]}}))
    for d in example.plan.domains:
        result = CliRunner().invoke(main, ["render", d.domain, "--config", str(stack_file)])
        assert result.exit_code == 0, result.output
        assert result.stdout_bytes == example.mocks.inputs[f"{d.domain}-policy"]["content"].encode("utf-8")


def test_certificates_are_made_in_us_east_1(example: Run) -> None:
    """Every certificate and its validation use the explicit us-east-1 provider, whatever the stack region."""
    (provider,) = by_type(example, "pulumi:providers:aws").values()
    assert provider["region"] == "us-east-1"
    for name, cert in by_type(example, "aws:acm/certificate:Certificate").items():
        assert cert["validationMethod"] == "DNS"
        assert cert["domainName"] == f"mta-sts.{name.removesuffix('-certificate')}"
        assert example.regs[name].provider == "aws-us-east-1"
    for name in by_type(example, "aws:acm/certificateValidation:CertificateValidation"):
        assert example.regs[name].provider == "aws-us-east-1"


def test_distribution_security_settings(example: Run) -> None:
    """Alias, validated certificate, SNI only, TLSv1.2_2021, https-only, IPv6, GET/HEAD, OAC origin, path filter."""
    for d in example.plan.domains:
        dist = example.mocks.inputs[f"{d.domain}-distribution"]
        validation = example.mocks.inputs[f"{d.domain}-certificate-validation"]
        assert dist["aliases"] == [f"mta-sts.{d.domain}"]
        cert = dist["viewerCertificate"]
        assert cert["acmCertificateArn"] == validation["certificateArn"]
        assert (cert["sslSupportMethod"], cert["minimumProtocolVersion"]) == ("sni-only", "TLSv1.2_2021")
        behavior = dist["defaultCacheBehavior"]
        assert behavior["viewerProtocolPolicy"] == "https-only"
        assert behavior["allowedMethods"] == ["GET", "HEAD"]
        assert behavior["cachePolicyId"] == CACHING_OPTIMIZED_POLICY_ID
        assert behavior["functionAssociations"][0]["eventType"] == "viewer-request"
        assert dist["isIpv6Enabled"] is True
        assert dist["priceClass"] == "PriceClass_100"
        (origin,) = dist["origins"]
        assert origin["originPath"] == f"/{d.domain}"
        assert origin["originAccessControlId"] == "policies-oac-id"


def test_path_filter_serves_only_the_policy_path_and_never_redirects() -> None:
    """The edge function passes the policy path and answers 404 text for anything else; no 3xx anywhere."""
    assert 'request.uri === "/.well-known/mta-sts.txt"' in PATH_FILTER_CODE
    assert "statusCode: 404" in PATH_FILTER_CODE
    assert "30" not in PATH_FILTER_CODE.replace("max-age=300", "")


def test_alias_records_point_at_the_distribution(example: Run) -> None:
    """mta-sts.<domain> has A and AAAA alias records to its distribution."""
    for d in example.plan.domains:
        dist = example.mocks.inputs[f"{d.domain}-distribution"]
        for kind in ("a", "aaaa"):
            record = example.mocks.inputs[f"{d.domain}-{kind}"]
            assert record["name"] == f"mta-sts.{d.domain}"
            assert record["type"] == kind.upper()
            assert record["aliases"][0]["zoneId"] == "Z2FDTNDATAQYW2"
            assert record["aliases"][0]["name"].endswith(".cloudfront.net")
            assert dist is not None


def test_txt_records_carry_the_planned_values_and_ttl(example: Run) -> None:
    """_mta-sts and _smtp._tls TXT records hold exactly the plan's values, with the configured TTL."""
    for d in example.plan.domains:
        sts = example.mocks.inputs[f"{d.domain}-sts-txt"]
        assert (sts["name"], sts["type"], sts["records"], sts["ttl"]) == (
            f"_mta-sts.{d.domain}",
            "TXT",
            [d.sts_record.value],
            d.config.ttl,
        )
        assert sts["allowOverwrite"] is False
        tlsrpt = example.mocks.inputs.get(f"{d.domain}-tlsrpt-txt")
        if d.tlsrpt_record is None:
            assert tlsrpt is None
        else:
            assert tlsrpt is not None
            assert tlsrpt["records"] == [d.tlsrpt_record.value]


def test_rollout_order_serving_then_rollout_then_txt(example: Run) -> None:
    """Each TXT depends on its object, A/AAAA, validated certificate, distribution, bucket policy and the rollout.

    RFC 8461 §8.1: the id changes only once CloudFront serves the new body from a host that resolves, with a
    valid certificate; the rollout step depends on every object, host and distribution and the bucket policy.
    """
    rollout = example.regs["policy-rollout"]
    order = list(example.mocks.inputs)  # the order in which the engine received the registrations
    for d in example.plan.domains:
        needs = {f"{d.domain}-{s}" for s in ("policy", "a", "aaaa", "certificate-validation", "distribution")}
        # The rollout step waits for each of them (their values are in its targets) ...
        assert all(order.index(n) < order.index("policy-rollout") for n in needs)
        for suffix in ("sts-txt", "tlsrpt-txt"):
            if f"{d.domain}-{suffix}" in example.regs:
                # ... and each TXT names them, the bucket policy and the rollout step in depends_on.
                assert set(example.regs[f"{d.domain}-{suffix}"].depends_on) == needs | {
                    "policies-bucket-policy",
                    "policy-rollout",
                }
                assert order.index(f"{d.domain}-{suffix}") > order.index("policy-rollout")
        target = example.mocks.inputs["policy-rollout"]["targets"][d.domain]
        assert (target["policyId"], target["kind"]) == (d.policy_id, "distribution")
        assert target["targetId"].startswith("E")
    assert "policies-bucket-policy" in rollout.depends_on


def test_retirement_guard_comes_after_every_domain(example: Run) -> None:
    """The stack's guard depends on every domain's TXT records (the last of each), so it records after go-live."""
    guard = example.regs["retirement-guard"]
    txt = [n for n, r in example.regs.items() if r.type == "aws:route53/record:Record" and n.endswith("-txt")]
    assert sorted(guard.depends_on) == sorted(txt)
    assert {n.rsplit("-", 2)[0] for n in txt} == {d.domain for d in example.plan.domains}
    assert example.mocks.inputs["retirement-guard"]["domains"]["example.com"] == {
        "mode": "enforce",
        "max_age": 604800,
        "policy_id": example.plan.get("example.com").policy_id,
        "ttl": 300,
    }


def test_children_are_parented_to_their_component(example: Run) -> None:
    """Each domain's resources are children of its MtaStsDomain component; stack resources of PolicyStore."""
    for name, reg in example.regs.items():
        if reg.type == "mtasts:index:MtaStsDomain":
            assert reg.parent is None
        elif name.startswith("policies-"):
            assert reg.parent == "policies", name
        elif reg.type not in ("pulumi:providers:aws", "mtasts:index:PolicyStore") and name not in (
            "retirement-guard",
            "policy-rollout",
        ):
            domain = next(d.domain for d in example.plan.domains if name.startswith(d.domain + "-"))
            assert reg.parent == domain, name


def test_resource_names_are_unique(example: Run) -> None:
    """No two resources share a name, across domains and the stack."""
    names = list(example.mocks.types)
    assert len(names) == len(set(names))


def test_outputs(example: Run) -> None:
    """Per domain: policy URL, id, TXT values, distribution name; per stack: bucket name and the retirement record."""
    out = example.outputs
    assert out["bucketName"] == "policies-bucket-bucket"
    for d in example.plan.domains:
        o = out["domains"][d.domain]
        assert o["policyUrl"] == d.policy_url
        assert o["policyId"] == d.policy_id
        assert o["txtValues"] == {r.name: r.value for r in d.records}
        assert o["distributionDomainName"].endswith(".cloudfront.net")
        assert o["delegation"] == []
        assert (o["hosting"], o["pending"]) == ("dedicated", False)
    assert out["retirement"]["example.com"]["mode"] == "enforce"
    assert out["retirement"]["xn--bcher-kva.example"]["mode"] == "none"


def test_changing_one_policy_changes_only_that_domain() -> None:
    """In a 20-domain stack, one policy change alters only its object, trigger and TXT, and its guard entry."""
    domains = {
        f"d{i}.example.com": {"mx": [f"mx.d{i}.example.com"], "rua": ["mailto:t@example.com"]} for i in range(20)
    }
    before = build({"domains": domains})
    changed = {
        **domains,
        "d7.example.com": {"mx": ["mx.d7.example.com", "mx2.d7.example.com"], "rua": ["mailto:t@example.com"]},
    }
    after = build({"domains": changed})
    differing = {
        name
        for name in before.mocks.inputs
        if json.dumps(before.mocks.inputs[name], sort_keys=True, default=str)
        != json.dumps(after.mocks.inputs[name], sort_keys=True, default=str)
    }
    assert differing == {"d7.example.com-policy", "policy-rollout", "d7.example.com-sts-txt", "retirement-guard"}
    targets_before = before.mocks.inputs["policy-rollout"]["targets"]
    targets_after = after.mocks.inputs["policy-rollout"]["targets"]
    assert {d for d in targets_before if targets_before[d] != targets_after[d]} == {"d7.example.com"}
    guard_before = before.mocks.inputs["retirement-guard"]["domains"]
    guard_after = after.mocks.inputs["retirement-guard"]["domains"]
    assert {d for d in guard_before if guard_before[d] != guard_after[d]} == {"d7.example.com"}
    assert set(before.mocks.inputs) == set(after.mocks.inputs)


def test_existing_records_are_never_overwritten_unless_allowed() -> None:
    """allow_overwrite is off by default and follows the domain setting."""
    run = build(
        {
            "domains": {
                "example.com": {"mx": ["m.example.com"], "rua": ["mailto:t@example.com"], "allow_overwrite": True}
            }
        }
    )
    for suffix in ("sts-txt", "tlsrpt-txt", "a", "aaaa"):
        assert run.mocks.inputs[f"example.com-{suffix}"]["allowOverwrite"] is True


def test_adopt_imports_existing_records_by_config() -> None:
    """adopt turns into Pulumi import ids ZONEID_name_TYPE for the listed records."""
    settings = {
        "domains": {
            "example.com": {
                "mx": ["m.example.com"],
                "rua": ["mailto:t@example.com"],
                "adopt": {"zone_id": "Z0123456789ABC", "records": ["_smtp._tls", "mta-sts"]},
            }
        }
    }
    run = build(settings)
    assert run.regs["example.com-tlsrpt-txt"].import_id == "Z0123456789ABC__smtp._tls.example.com_TXT"
    assert run.regs["example.com-a"].import_id == "Z0123456789ABC_mta-sts.example.com_A"
    assert run.regs["example.com-aaaa"].import_id == "Z0123456789ABC_mta-sts.example.com_AAAA"
    assert run.regs["example.com-sts-txt"].import_id is None


def test_price_class_is_configurable() -> None:
    """mta-sts:priceClass reaches every distribution."""
    run = build({"priceClass": "PriceClass_All", "domains": {"example.com": {"template": "none"}}})
    assert run.mocks.inputs["example.com-distribution"]["priceClass"] == "PriceClass_All"


def test_zone_lookup_is_done_once_per_zone() -> None:
    """Domains sharing a zone share one Route53 lookup."""
    run = build({"domains": {f"d{i}.example.com": {"template": "none", "zone": "example.com"} for i in range(5)}})
    lookups = [a["name"] for token, a in run.mocks.calls if token == "aws:route53/getZone:getZone"]
    assert lookups == ["example.com"]


def test_external_dns_is_hosted_shared_with_three_cnames_and_no_validation_record() -> None:
    """dns: external is a tenant in the hosting zone; the owner's three CNAMEs are the plan's, none for ACM."""
    settings = {
        "hostingZone": "hosting.example.net",
        "domains": {
            "partner.example": {"dns": "external", "mx": ["m.partner.example"], "rua": ["mailto:t@example.net"]}
        },
    }
    run = build(settings)
    assert run.mocks.inputs["partner.example-sts-txt"]["name"] == "_mta-sts.partner.example.hosting.example.net"
    assert run.mocks.inputs["partner.example-cname"]["name"] == "mta-sts.partner.example.hosting.example.net"
    assert not any("certificate" in name for name in run.mocks.inputs)
    tenant = run.mocks.inputs["partner.example-tenant"]
    assert tenant["domains"] == [{"domain": "mta-sts.partner.example"}]
    assert tenant["managedCertificateRequest"]["validationTokenHost"] == "cloudfront"
    delegation = run.outputs["domains"]["partner.example"]["delegation"]
    assert [(r["name"], r["type"], r["value"]) for r in delegation] == [
        ("mta-sts.partner.example", "CNAME", "mta-sts.partner.example.hosting.example.net"),
        ("_mta-sts.partner.example", "CNAME", "_mta-sts.partner.example.hosting.example.net"),
        ("_smtp._tls.partner.example", "CNAME", "_smtp._tls.partner.example.hosting.example.net"),
    ]


def test_unsafe_removal_fails_the_program() -> None:
    """Dropping a domain whose last published policy was enforce fails preview/up with the retire instruction."""
    previous = {
        "gone.example": {
            "mode": "enforce",
            "max_age": 604800,
            "policy_id": "x",
            "ttl": 300,
            "active_max_age": 604800,
            "none_since": None,
        }
    }
    with pytest.raises(Exception, match=r"domains\.gone\.example: cannot be removed"):
        build({"domains": {"example.com": {"template": "none"}}}, previous=previous)


def test_removal_after_the_wait_is_allowed() -> None:
    """A domain retired long enough ago may leave the config."""
    previous = {
        "gone.example": {
            "mode": "none",
            "max_age": 86400,
            "policy_id": "x",
            "ttl": 300,
            "active_max_age": 604800,
            "none_since": NOW - 30 * 86400,
        }
    }
    run = build({"domains": {"example.com": {"template": "none"}}}, previous=previous)
    assert set(run.outputs["retirement"]) == {"example.com"}


def test_program_process_runs_without_the_cyclic_collector() -> None:
    """infra/__main__.py turns the collector off (imports frozen) before main(); see bench/bench_program.py."""
    import ast
    import subprocess
    import sys

    entry = Path(__file__).resolve().parents[1] / "infra" / "__main__.py"
    calls = [
        node.value.func.id
        for node in ast.parse(entry.read_text()).body
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
    ]
    assert calls == ["tune_garbage_collector", "main"]
    code = (
        "import gc, warnings; warnings.simplefilter('ignore');"
        "from mtasts.resources.program import tune_garbage_collector as t; t();"
        "print(gc.isenabled(), gc.get_freeze_count() > 1000)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]


def test_bucket_policy_past_the_size_limit_names_the_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_LISTED_DISTRIBUTIONS the policy admits the account's distributions, and TXT still waits for it."""
    monkeypatch.setattr("mtasts.resources.store.MAX_LISTED_DISTRIBUTIONS", 2)
    run = build({"domains": {f"d{i}.example.com": {"template": "none"} for i in range(3)}})
    (policy,) = by_type(run, "aws:s3/bucketPolicy:BucketPolicy").values()
    (statement,) = json.loads(policy["policy"])["Statement"]
    assert statement["Condition"] == {
        "ArnLike": {"AWS:SourceArn": "arn:aws:cloudfront::123456789012:distribution/*"},
        "StringEquals": {"AWS:SourceAccount": "123456789012"},
    }
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    for i in range(3):
        assert "policies-bucket-policy" in run.regs[f"d{i}.example.com-sts-txt"].depends_on
    assert "policies-bucket-policy" in run.regs["policy-rollout"].depends_on
