"""The CrossGuard pack's validate functions, run offline on what the program registers under mocks."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import PolicyProviderResource, PolicyResourceOptions, ResourceValidationArgs

from pulumi_mocks import Run, build

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "policy_pack"))
from mtasts_policies import POLICIES  # the pack's folder is not a package

SETTINGS = {
    "domains": {
        "example.com": {"template": "enforce", "mx": ["mx.example.com"], "rua": ["mailto:t@example.com"]},
        "example.org": {"template": "none"},
    }
}


@pytest.fixture(scope="module")
def run() -> Run:
    return build(SETTINGS)


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
        validate = policy.validate
        assert callable(validate)
        validate(args, lambda message, urn=None: found.append(message))  # type: ignore[misc]
    return found


def test_the_program_passes_every_policy(run: Run) -> None:
    """Every resource the program registers satisfies every guardrail."""
    for name in run.mocks.inputs:
        if run.mocks.types[name].startswith("pulumi:providers:"):
            continue
        assert violations(args_for(run, name)) == [], name


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


def test_certificate_outside_us_east_1_is_refused(run: Run) -> None:
    """A certificate whose provider is in another region is a violation."""
    assert violations(args_for(run, "example.com-certificate", region="eu-west-1")) == [
        "example.com-certificate is created in eu-west-1, not us-east-1"
    ]
