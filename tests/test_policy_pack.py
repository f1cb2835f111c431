"""The CrossGuard pack's validate functions, run offline on what the program registers under mocks."""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi.runtime.mocks
import pytest
from pulumi_policy import (
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from pulumi_mocks import Run, build

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "policy_pack"))
from mtasts_policies import POLICIES  # the pack's folder is not a package

SETTINGS = {
    "domains": {
        "example.com": {"template": "enforce", "mx": ["mx.example.com"], "rua": ["mailto:t@example.com"]},
        "example.org": {"template": "none"},
    }
}


#: A stack with the TLS-RPT receiver (HTTPS endpoint and SES mailbox) in the stack's region, eu-west-1.
REPORTS_SETTINGS = {
    **SETTINGS,
    "reports": {"endpoint": "tlsrpt.example.net", "mailbox": "tls@reports.example.net"},
}
#: The region of the stack's default provider (``aws:region``), as the policy engine would report it.
STACK_REGION = "eu-west-1"


@dataclass
class Graph:
    """What the engine hands a stack policy: each resource's provider and property dependencies, by name."""

    run: Run
    property_dependencies: dict[str, dict[str, list[str]]]


@contextmanager
def capturing_property_dependencies() -> Iterator[dict[str, dict[str, list[str]]]]:
    """Record the property dependencies of each registration as the mock monitor receives them."""
    seen: dict[str, dict[str, list[str]]] = {}
    original = pulumi.runtime.mocks.MockMonitor.RegisterResource

    def wrapper(self: Any, request: Any) -> Any:
        seen[request.name] = {
            key: [urn.rsplit("::", 1)[-1] for urn in deps.urns] for key, deps in request.propertyDependencies.items()
        }
        return original(self, request)

    pulumi.runtime.mocks.MockMonitor.RegisterResource = wrapper  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        pulumi.runtime.mocks.MockMonitor.RegisterResource = original  # type: ignore[method-assign]


def build_graph(settings: dict[str, Any]) -> Graph:
    with capturing_property_dependencies() as seen:
        run = build(settings)
    return Graph(run, seen)


@pytest.fixture(scope="module")
def graph() -> Graph:
    return build_graph(SETTINGS)


@pytest.fixture(scope="module")
def reports_graph() -> Graph:
    return build_graph(REPORTS_SETTINGS)


@pytest.fixture(scope="module")
def run(graph: Graph) -> Run:
    return graph.run


def provider_for(run: Run, name: str, region: str | None = None) -> PolicyProviderResource:
    """The provider the engine reports: the explicit one the program passed, else the stack's default provider."""
    reg = run.regs[name]
    if reg.provider is None:
        return PolicyProviderResource(
            "pulumi:providers:aws", {"region": region or STACK_REGION}, "urn:default", "default"
        )
    provider_props = dict(run.mocks.inputs[reg.provider])
    if region is not None:
        provider_props["region"] = region
    return PolicyProviderResource("pulumi:providers:aws", provider_props, f"urn:{reg.provider}", reg.provider)


def args_for(
    run: Run, name: str, props: dict[str, Any] | None = None, region: str | None = None
) -> ResourceValidationArgs:
    reg = run.regs[name]
    provider = None
    if reg.provider is not None:
        provider_props = dict(run.mocks.inputs[reg.provider])
        if region is not None:
            provider_props["region"] = region
        provider = PolicyProviderResource("pulumi:providers:aws", provider_props, f"urn:{reg.provider}", reg.provider)
    options = PolicyResourceOptions(False, [], None, [], None, [])  # type: ignore[arg-type]
    return ResourceValidationArgs(
        run.mocks.types[name],
        props if props is not None else run.mocks.inputs[name],
        f"urn:{name}",
        name,
        options,
        provider,
    )


def violations(args: ResourceValidationArgs) -> list[str]:
    found: list[str] = []
    for policy in POLICIES:
        if isinstance(policy, ResourceValidationPolicy):
            policy.validate(args, lambda message, urn=None: found.append(message))
    return found


def stack_args(graph: Graph, regions: dict[str, str] | None = None) -> StackValidationArgs:
    """Every registered resource as the engine passes it to a stack policy, with ``regions`` overriding providers."""
    run, regions = graph.run, regions or {}
    options = PolicyResourceOptions(False, [], None, [], None, [])  # type: ignore[arg-type]
    resources: dict[str, PolicyResource] = {}
    for name, typ in run.mocks.types.items():
        if typ.startswith("pulumi:providers:"):
            continue
        provider = provider_for(run, name, regions.get(name))
        resources[name] = PolicyResource(
            typ, run.mocks.inputs[name], f"urn:{name}", name, options, provider, None, [], {}
        )
    for name, resource in resources.items():
        resource.property_dependencies = {
            key: [resources[dep] for dep in deps if dep in resources]
            for key, deps in graph.property_dependencies.get(name, {}).items()
        }
        resource.dependencies = sorted(
            {dep.urn: dep for deps in resource.property_dependencies.values() for dep in deps}.values(),
            key=lambda r: r.urn,
        )
    return StackValidationArgs(list(resources.values()))


def stack_violations(args: StackValidationArgs) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for policy in POLICIES:
        if isinstance(policy, StackValidationPolicy):
            policy.validate(args, lambda message, urn=None: found.append((message, urn)))
    return found


def test_the_program_passes_every_policy(graph: Graph) -> None:
    """Every resource the program registers satisfies every resource guardrail, and the stack every stack guardrail."""
    run = graph.run
    for name in run.mocks.inputs:
        if run.mocks.types[name].startswith("pulumi:providers:"):
            continue
        assert violations(args_for(run, name)) == [], name
    assert stack_violations(stack_args(graph)) == []


def test_a_stack_with_reports_in_another_region_passes(reports_graph: Graph) -> None:
    """With mta-sts:reports in eu-west-1, the receiver's regional certificate is no violation (issue 10 item 3)."""
    run = reports_graph.run
    regional = [n for n, t in run.mocks.types.items() if t == "aws:acm/certificate:Certificate" and n.startswith("tls")]
    assert regional == ["tlsrpt-receiver-certificate"]
    assert run.regs["tlsrpt-receiver-certificate"].provider is None  # the stack's default provider, eu-west-1
    for name in run.mocks.inputs:
        if not run.mocks.types[name].startswith("pulumi:providers:"):
            assert violations(args_for(run, name)) == [], name
    assert stack_violations(stack_args(reports_graph)) == []


def mutated(run: Run, name: str, change: Any) -> list[str]:
    props = copy.deepcopy(run.mocks.inputs[name])
    change(props)
    return violations(args_for(run, name, props))


def test_policy_object_must_be_text_plain(run: Run) -> None:
    """A policy object served as text/html is a violation."""
    found = mutated(run, "example.com-policy", lambda p: p.update(contentType="text/html"))
    assert found == ["policy object example.com/.well-known/mta-sts.txt has content type 'text/html', not text/plain"]


def test_public_access_must_stay_blocked(run: Run) -> None:
    """Turning off one public-access block, or a policy for everyone, is a violation."""
    assert mutated(run, "policies-public-access-block", lambda p: p.update(restrictPublicBuckets=False))
    everyone = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}
    assert mutated(run, "policies-bucket-policy", lambda p: p.update(policy=json.dumps(everyone)))


def test_oai_is_refused(run: Run) -> None:
    """An origin with a legacy OAI, or without an OAC, is a violation."""

    def use_oai(props: dict[str, Any]) -> None:
        props["origins"][0].pop("originAccessControlId")
        props["origins"][0]["s3OriginConfig"] = {"originAccessIdentity": "origin-access-identity/cloudfront/E1"}

    assert mutated(run, "example.com-distribution", use_oai)


def test_old_tls_and_redirects_are_refused(run: Run) -> None:
    """TLSv1 or redirect-to-https on a distribution are violations."""
    assert mutated(
        run, "example.com-distribution", lambda p: p["viewerCertificate"].update(minimumProtocolVersion="TLSv1")
    )
    found = mutated(
        run,
        "example.com-distribution",
        lambda p: p["defaultCacheBehavior"].update(viewerProtocolPolicy="redirect-to-https"),
    )
    assert found == ["viewer protocol policy is 'redirect-to-https', not https-only"]


def test_certificate_outside_us_east_1_is_refused(graph: Graph) -> None:
    """A certificate a distribution uses, created by a provider in another region, is a violation at preview."""
    found = stack_violations(stack_args(graph, regions={"example.com-certificate": "eu-west-1"}))
    assert found == [
        (
            "example.com-certificate is used by CloudFront but created in eu-west-1, not us-east-1",
            "urn:example.com-certificate",
        )
    ]


def test_validation_outside_us_east_1_is_refused(graph: Graph) -> None:
    """The certificate validation between a distribution and its certificate is followed and checked too."""
    found = stack_violations(stack_args(graph, regions={"example.org-certificate-validation": "eu-west-1"}))
    assert [urn for _, urn in found] == ["urn:example.org-certificate-validation"]


def test_the_certificate_rule_follows_the_distribution(graph: Graph) -> None:
    """The stack rule reaches every domain's certificate only through its distribution's viewer certificate."""
    args = stack_args(graph, regions={"example.com-certificate": "eu-west-1", "example.org-certificate": "eu-west-1"})
    assert len(stack_violations(args)) == 2
    for resource in args.resources:
        if resource.resource_type == "aws:cloudfront/distribution:Distribution":
            resource.property_dependencies["viewerCertificate"] = []
    assert stack_violations(args) == []


def test_distribution_serving_a_regional_certificate_is_refused(run: Run) -> None:
    """A distribution whose viewer certificate ARN is in another region is a violation before it is created."""
    arn = "arn:aws:acm:eu-west-1:123456789012:certificate/abc"
    found = mutated(run, "example.com-distribution", lambda p: p["viewerCertificate"].update(acmCertificateArn=arn))
    assert found == [f"example.com-distribution serves certificate {arn} from eu-west-1, not us-east-1"]


def test_tenant_serving_a_regional_certificate_is_refused(run: Run) -> None:
    """A multi-tenant distribution's tenant with a certificate outside us-east-1 is a violation too."""
    arn = "arn:aws:acm:eu-west-1:123456789012:certificate/abc"
    props = {"customizations": {"certificate": {"arn": arn}}, "domains": [{"domain": "mta-sts.example.com"}]}
    args = ResourceValidationArgs(
        "aws:cloudfront/distributionTenant:DistributionTenant",
        props,
        "urn:tenant",
        "tenant",
        PolicyResourceOptions(False, [], None, [], None, []),  # type: ignore[arg-type]
        None,
    )
    assert violations(args) == [f"tenant serves certificate {arn} from eu-west-1, not us-east-1"]
    props["customizations"]["certificate"]["arn"] = arn.replace("eu-west-1", "us-east-1")
    assert violations(args) == []


SHARED_SETTINGS: dict[str, Any] = {
    "hosting": "shared",
    "hostingZone": "hosting.example.net",
    "domains": {
        "example.com": {"mx": ["m.example.com"], "rua": ["mailto:t@example.com"]},
        "partner.example": {"dns": "external", "template": "none", "rua": ["mailto:t@example.net"]},
    },
}


@pytest.fixture(scope="module")
def shared_graph() -> Graph:
    return build_graph(SHARED_SETTINGS)


def test_a_shared_hosting_stack_passes(shared_graph: Graph) -> None:
    """A stack in shared (multi-tenant) hosting, with a delegated domain, passes every policy of the pack."""
    graph = shared_graph
    run = graph.run
    assert "aws:cloudfront/distributionTenant:DistributionTenant" in run.mocks.types.values()
    for name in run.mocks.inputs:
        if not run.mocks.types[name].startswith("pulumi:providers:"):
            assert violations(args_for(run, name)) == [], name
    assert stack_violations(stack_args(graph)) == []


def test_the_shared_distribution_must_be_https_only_through_an_oac(shared_graph: Graph) -> None:
    """The multi-tenant distribution is held to the same rules: HTTPS only, and S3 read through an OAC."""
    run = shared_graph.run
    (name,) = [n for n, t in run.mocks.types.items() if t.endswith("MultitenantDistribution")]
    found = mutated(run, name, lambda p: p["defaultCacheBehavior"].update(viewerProtocolPolicy="allow-all"))
    assert found == ["viewer protocol policy is 'allow-all', not https-only"]
    found = mutated(run, name, lambda p: p["origins"][0].pop("originAccessControlId"))
    assert len(found) == 1
    assert "must use an origin access control" in found[0]
