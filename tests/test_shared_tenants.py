"""Distribution tenants as the Terraform AWS provider (bridged by pulumi-aws) stores and diffs them."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botocore.stub import Stubber

from mtasts.resources.providers.tenant_release import release_tenant
from mtasts.resources.shared import MANAGED_IGNORED
from mtasts.resources.tenants import TENANT_NAME_PATTERN, tenant_name
from pulumi_mocks import Run, build
from rollout_fixtures import FakeClock, cloudfront_client

TENANT = "aws:cloudfront/distributionTenant:DistributionTenant"
#: The tenant's arguments that are Optional and not Computed in ``distribution_tenant.go``'s schema: a value in
#: the state that the program's inputs lack is a change (Terraform plans the configuration's null).
NOT_COMPUTED = ("customizations", "managedCertificateRequest", "domains", "distributionId", "name", "parameters")


def apply_ignore_changes(state: dict[str, Any], inputs: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """The inputs after the bridge's ``ApplyIgnoreChanges`` (``unstable/propertyvalue/ignore_changes.go``).

    Each path's value is copied from the prior state; a last path element missing in the state is deleted from
    the inputs, one missing in the inputs is added; any other missing element makes the path do nothing.
    """
    result = copy.deepcopy(inputs)
    for path in paths:
        parts = path.split(".")
        src: Any = state
        dst: Any = result
        for i, part in enumerate(parts):
            if not (isinstance(src, dict) and isinstance(dst, dict)):
                break
            last = i == len(parts) - 1
            if last and part in dst and part not in src:
                del dst[part]
                break
            if last and part in src:
                dst[part] = copy.deepcopy(src[part])
                break
            if part not in src or part not in dst:
                break
            src, dst = src[part], dst[part]
    return result


def planned_changes(state: dict[str, Any], inputs: dict[str, Any], ignore: list[str]) -> set[str]:
    """The non-computed arguments whose planned value differs from the state: what Diff reports as changed."""
    planned = apply_ignore_changes(state, inputs, ignore)
    return {k for k in NOT_COMPUTED if planned.get(k) != state.get(k)}


def shared_settings() -> dict[str, Any]:
    return {
        "hosting": "shared",
        "hostingZone": "hosting.example.net",
        "domains": {
            "a.example.com": {"template": "none", "rua": ["mailto:t@example.com"]},
            "partner.example": {"dns": "external", "template": "none"},
        },
    }


def tenants(run: Run) -> list[str]:
    return sorted(n for n, t in run.mocks.types.items() if t == TENANT)


def test_second_deployment_proposes_no_change_to_managed_certificate_tenants() -> None:
    """With the issued certificate's ARN in the state, the next deployment's tenants plan no change.

    What the mock runtime can show: the inputs and ``ignore_changes`` the program declares, checked against a
    state shaped like the provider's (``customizations.certificate.arn`` set after issuance, as
    ``distribution_tenant.go`` stores it) by replaying the bridge's ignore-changes step and comparing what
    Terraform would plan for the non-computed arguments. It cannot run the provider's own PlanResourceChange.
    """
    first = build(shared_settings())
    second = build(shared_settings(), previous_domains=first.outputs["domains"])
    assert tenants(first) == tenants(second) == ["a.example.com-tenant", "partner.example-tenant"]
    for name in tenants(second):
        state = first.mocks.outputs[name]
        assert state["customizations"]["certificate"]["arn"].startswith("arn:aws:acm:us-east-1:")
        inputs = second.mocks.inputs[name]
        assert "customizations" not in inputs
        assert "managedCertificateRequest" in inputs
        assert second.regs[name].ignore_changes == list(MANAGED_IGNORED)
        assert planned_changes(state, inputs, second.regs[name].ignore_changes) == set()
        # Without ignore_changes the same state plans a change of every tenant (issue #45987's symptom).
        assert planned_changes(state, inputs, []) == {"customizations"}


def test_tenants_presenting_their_acm_certificate_keep_diffing_customizations() -> None:
    """A tenant that carries its ACM certificate declares it, so a changed ARN is still an update."""
    settings = shared_settings()
    del settings["domains"]["partner.example"]
    previous = {"a.example.com": {"hosting": "dedicated", "policyId": None, "certificate": "acm"}}
    run = build(
        {**settings, "domains": {"a.example.com": {**settings["domains"]["a.example.com"], "switch_hosting": True}}},
        previous_domains=previous,
    )
    name = "a.example.com-tenant"
    inputs = run.mocks.inputs[name]
    assert inputs["customizations"]["certificate"]["arn"].startswith("arn:aws:acm:us-east-1:")
    assert run.regs[name].ignore_changes == []
    state = {
        **run.mocks.outputs[name],
        "customizations": {"certificate": {"arn": "arn:aws:acm:us-east-1:1:certificate/old"}},
    }
    assert planned_changes(state, inputs, run.regs[name].ignore_changes) == {"customizations"}


def tenant_view(
    status: str = "Deployed", enabled: bool = True, etag: str = "E1", certificate: str | None = None
) -> dict[str, Any]:
    """A ``GetDistributionTenant`` answer for the tenant of ``a.example.com``, as the CloudFront model shapes it."""
    tenant: dict[str, Any] = {
        "Id": "dt_1",
        "DistributionId": "EDFDVBD6EXAMPLE",
        "Name": "mtasts-a.example.com",
        "Arn": "arn:aws:cloudfront::123456789012:distribution-tenant/dt_1",
        "Domains": [{"Domain": "mta-sts.a.example.com", "Status": "active"}],
        "Parameters": [{"Name": "policyDomain", "Value": "a.example.com"}],
        "ConnectionGroupId": "cg_1",
        "Enabled": enabled,
        "Status": status,
    }
    if certificate:
        tenant["Customizations"] = {"Certificate": {"Arn": certificate}}
    return {"DistributionTenant": tenant, "ETag": etag}


def test_release_sends_the_full_configuration_disabled_then_waits_until_the_tenant_is_gone() -> None:
    """Disabling sends the whole configuration, then delete, then polls until the tenant is EntityNotFound."""
    client = cloudfront_client()
    clock = FakeClock()
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/cf-managed"
    get = {"Identifier": "dt_1"}
    with Stubber(client) as stub:
        stub.add_response("get_distribution_tenant", tenant_view(certificate=arn), get)
        stub.add_response(
            "update_distribution_tenant",
            tenant_view("InProgress", enabled=False, etag="E2", certificate=arn),
            {
                "Id": "dt_1",
                "IfMatch": "E1",
                "DistributionId": "EDFDVBD6EXAMPLE",
                "Domains": [{"Domain": "mta-sts.a.example.com"}],
                "Parameters": [{"Name": "policyDomain", "Value": "a.example.com"}],
                "ConnectionGroupId": "cg_1",
                "Customizations": {"Certificate": {"Arn": arn}},
                "Enabled": False,
            },
        )
        stub.add_response("get_distribution_tenant", tenant_view("InProgress", False, "E2"), get)
        stub.add_response("get_distribution_tenant", tenant_view("Deployed", False, "E2"), get)
        stub.add_response("delete_distribution_tenant", {}, {"Id": "dt_1", "IfMatch": "E2"})
        stub.add_response("get_distribution_tenant", tenant_view("InProgress", False, "E3"), get)
        stub.add_client_error("get_distribution_tenant", "EntityNotFound", http_status_code=404)
        assert release_tenant(client, "dt_1", poll=15, sleep=clock.sleep, clock=clock) == "released"
        stub.assert_no_pending_responses()
    assert clock.now == 30  # one poll while deploying disabled, one while the deletion finished


def test_release_retries_a_stale_etag_and_is_idempotent() -> None:
    """A delete answered PreconditionFailed re-reads the ETag; a tenant already gone is absent, with no other call."""
    client = cloudfront_client()
    clock = FakeClock()
    get = {"Identifier": "dt_1"}
    with Stubber(client) as stub:
        stub.add_response("get_distribution_tenant", tenant_view(enabled=False, etag="E4"), get)
        stub.add_client_error("delete_distribution_tenant", "PreconditionFailed", http_status_code=412)
        stub.add_response("get_distribution_tenant", tenant_view(enabled=False, etag="E5"), get)
        stub.add_response("delete_distribution_tenant", {}, {"Id": "dt_1", "IfMatch": "E5"})
        stub.add_client_error("get_distribution_tenant", "EntityNotFound", http_status_code=404)
        assert release_tenant(client, "dt_1", sleep=clock.sleep, clock=clock) == "released"
        stub.add_client_error("get_distribution_tenant", "EntityNotFound", http_status_code=404)
        assert release_tenant(client, "dt_1", sleep=clock.sleep, clock=clock) == "absent"
        stub.assert_no_pending_responses()


def test_release_that_never_finishes_fails_at_its_one_deadline_naming_the_step() -> None:
    """A tenant still listed after its delete fails the release at the deadline, never returning released."""
    client = cloudfront_client()
    clock = FakeClock()
    get = {"Identifier": "dt_1"}
    with Stubber(client) as stub:
        stub.add_response("get_distribution_tenant", tenant_view(enabled=False, etag="E1"), get)
        stub.add_response("delete_distribution_tenant", {}, {"Id": "dt_1", "IfMatch": "E1"})
        for _ in range(5):
            stub.add_response("get_distribution_tenant", tenant_view("InProgress", False, "E2"), get)
        with pytest.raises(TimeoutError, match="dt_1: removal after delete not done within 60 s"):
            release_tenant(client, "dt_1", timeout=60, poll=15, sleep=clock.sleep, clock=clock)
    assert clock.now == 60


def test_tenant_names_fit_cloudfronts_pattern_and_never_collide() -> None:
    """Names match the model's pattern for domains of any length, stay as they were when short, differ when cut."""
    assert tenant_name("example.com") == "mtasts-example.com"
    label = "a" * 63
    names = set()
    for length in range(4, 254):
        # Host names of every length, some whose cut would end on "-" or "." without the rule.
        domain = ".".join([label, label, label, "b-" * 30 + "c"])[-length:].lstrip(".-") or "x.example"
        name = tenant_name(domain)
        assert TENANT_NAME_PATTERN.fullmatch(name), (domain, name)
        names.add(name)
    twins = [f"{label}.{label}.{'x' * 63}.example", f"{label}.{label}.{'y' * 63}.example"]
    assert tenant_name(twins[0]) != tenant_name(twins[1])
    assert len(tenant_name(twins[0])) == 128


def test_tenants_are_replaced_delete_first_when_their_name_changes() -> None:
    """A tenant is replaced (never updated) on a new name, deleting the old one first: a host name has one tenant."""
    run = build(shared_settings())
    for name in tenants(run):
        assert run.regs[name].replace_on_changes == ["name"]
        assert run.regs[name].delete_before_replace is True


def listed(name: str, tenant_id: str) -> dict[str, Any]:
    """A ListDistributionTenants item, as the CloudFront model shapes it."""
    import datetime

    when = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    return {
        "Id": tenant_id,
        "DistributionId": "EDFDVBD6EXAMPLE",
        "Name": name,
        "Arn": f"arn:aws:cloudfront::123456789012:distribution-tenant/{tenant_id}",
        "Domains": [{"Domain": f"mta-sts.{name.removeprefix('mtasts-')}"}],
        "CreatedTime": when,
        "LastModifiedTime": when,
        "ETag": "E1",
    }


def orphan_client(dns: str = "valid-configuration", pages: int = 2) -> tuple[Any, Stubber]:
    """A stubbed client listing the account's tenants over ``pages`` pages, one of them a.example.com's orphan."""
    client = cloudfront_client()
    stub = Stubber(client)
    first = [listed("mtasts-other.example", "dt_9")]
    if pages == 1:
        stub.add_response(
            "list_distribution_tenants",
            {"DistributionTenantList": [*first, listed("mtasts-a.example.com", "dt_7")]},
            {"MaxItems": 100},
        )
    else:
        stub.add_response(
            "list_distribution_tenants", {"DistributionTenantList": first, "NextMarker": "m2"}, {"MaxItems": 100}
        )
        stub.add_response(
            "list_distribution_tenants",
            {"DistributionTenantList": [listed("mtasts-a.example.com", "dt_7")]},
            {"MaxItems": 100, "Marker": "m2"},
        )
    details = {"CertificateStatus": "failed", "ValidationTokenHost": "cloudfront"}
    stub.add_response("get_managed_certificate_details", {"ManagedCertificateDetails": details}, {"Identifier": "dt_7"})
    check = {"Domain": "mta-sts.a.example.com", "Status": dns, "Reason": "CAA forbids the issuer"}
    stub.add_response(
        "verify_dns_configuration",
        {"DnsConfigurationList": [check]},
        {"Identifier": "dt_7", "Domain": "mta-sts.a.example.com"},
    )
    return client, stub


def test_an_orphan_left_by_a_failed_create_is_released_before_the_tenant_is_created_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The tenant found by name (second page) is diagnosed, logged, released, and the new tenant waits for that."""
    from mtasts.config import parse_stack_settings
    from mtasts.plan import plan_stack
    from mtasts.resources import gates, program
    from mtasts.resources.credentials import AwsSettings

    warnings: list[str] = []
    monkeypatch.setattr(program.pulumi.log, "warn", warnings.append)
    settings = shared_settings()
    plan = plan_stack(parse_stack_settings(settings))
    client, stub = orphan_client()
    with stub:
        orphans = gates.tenant_orphans(plan, {}, None, AwsSettings(), client=client)
        stub.assert_no_pending_responses()
    assert orphans == {"a.example.com": "dt_7"}
    (line,) = warnings
    assert line.startswith("domains.a.example.com: tenant mtasts-a.example.com (dt_7) exists in the account but")
    assert "managed certificate failed" in line
    assert "This deployment deletes it and creates it again" in line
    from pulumi_mocks import Mocks, recording, use_mocks

    mocks = Mocks()
    use_mocks(mocks)
    recorded: dict[str, Any] = {}

    @program.pulumi.runtime.test  # type: ignore[misc]
    def deployed() -> Any:
        with recording() as regs:
            outputs = program.deploy(plan, stack="test", previous_domains={}, orphans=orphans)
        recorded.update(regs)
        return program.pulumi.Output.from_input(outputs).apply(lambda _: None)

    deployed()
    assert mocks.inputs["a.example.com-orphan-release"]["tenantId"] == "dt_7"
    assert "a.example.com-orphan-release" in recorded["a.example.com-tenant"].depends_on
    assert "partner.example-orphan-release" not in mocks.inputs


def test_an_orphan_whose_dns_is_wrong_stops_the_program_naming_the_record() -> None:
    """CloudFront saying the host does not point at the connection group fails before anything is declared."""
    from mtasts.config import parse_stack_settings
    from mtasts.plan import plan_stack
    from mtasts.resources import gates, program
    from mtasts.resources.credentials import AwsSettings

    plan = plan_stack(parse_stack_settings(shared_settings()))
    client, stub = orphan_client(dns="invalid-configuration", pages=1)
    with stub, pytest.raises(program.pulumi.RunError, match=r"Point mta-sts\.a\.example\.com at the connection group"):
        gates.tenant_orphans(plan, {}, None, AwsSettings(), client=client)


def test_live_shared_domains_are_never_looked_for_and_a_failed_listing_only_warns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A domain live on shared hosting has its tenant in the stack; a listing that fails is a warning, no release."""
    from mtasts.config import parse_stack_settings
    from mtasts.plan import plan_stack
    from mtasts.resources import gates, program
    from mtasts.resources.credentials import AwsSettings

    warnings: list[str] = []
    monkeypatch.setattr(program.pulumi.log, "warn", warnings.append)
    plan = plan_stack(parse_stack_settings(shared_settings()))
    live = {d: {"hosting": "shared", "policyId": "x"} for d in ("a.example.com", "partner.example")}
    assert gates.tenant_orphans(plan, live, None, AwsSettings(), client=object()) == {}
    client = cloudfront_client()
    with Stubber(client) as stub:
        stub.add_client_error("list_distribution_tenants", "AccessDenied", http_status_code=403)
        assert gates.tenant_orphans(plan, {}, None, AwsSettings(), client=client) == {}
    assert warnings[0].startswith("could not list the account's distribution tenants")


def test_plan_counts_the_rollouts_invalidation_batches_at_the_3000_path_boundary() -> None:
    """`mtasts plan` names the batches a change of every shared policy takes: none at 3,000, two at 3,001."""
    from mtasts.config import TemplateStore, parse_stack_settings
    from mtasts.plan import plan_stack, stack_needs
    from mtasts.resources.providers.rollout import RolloutTarget, batches_needed

    def note(count: int) -> str:
        domains = {f"d{i}.example": {"dns": "external", "template": "none"} for i in range(count)}
        settings = {"hosting": "shared", "hostingZone": "h.example.net", "domains": domains}
        plan = plan_stack(parse_stack_settings(settings, TemplateStore()))
        return next(n.note for n in stack_needs(plan) if n.quota.key == "tenants")

    assert note(3_000) == "one per shared domain"
    assert note(3_001) == "one per shared domain; a change of every policy is invalidated in 2 batches of 3,000 paths"
    targets = [RolloutTarget(f"d{i}.example", "x", "tenant", f"dt_{i}", "E") for i in range(3_001)]
    assert [batches_needed(targets[:n]) for n in (2_999, 3_000, 3_001)] == [1, 1, 2]
