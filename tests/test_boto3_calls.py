"""Every boto3 operation the deploy code calls runs in a test through botocore's Stubber or moto.

Stubber validates each request against the service model (required members, names, types) as AWS would, and
moto implements the API; a hand-made fake checks neither. So every operation found under
infra/mtasts/resources is listed here with a test that calls it that way, and that test is run with every
request recorded.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore.session
from botocore import xform_name
from botocore.stub import Stubber

from mtasts.resources.quotas import QUOTAS, applied_quotas

ROOT = Path(__file__).resolve().parents[1]
RESOURCES = ROOT / "infra" / "mtasts" / "resources"
#: The services whose clients the deploy code makes (``.client("...")``; STS inside the credential chain).
SERVICES = ("cloudfront", "service-quotas", "ses", "sts")

#: (service, operation) -> a test that calls it through Stubber or moto.
EXERCISED_BY = {
    ("cloudfront", "create_invalidation"): "tests/test_rollout.py::test_against_moto_distributions_and_loopback_https",
    ("cloudfront", "get_invalidation"): "tests/test_rollout.py::test_against_moto_distributions_and_loopback_https",
    ("cloudfront", "create_invalidation_for_distribution_tenant"): (
        "tests/test_rollout.py::test_an_api_error_fails_one_domain_with_its_reason"
    ),
    ("cloudfront", "get_invalidation_for_distribution_tenant"): (
        "tests/test_rollout.py::test_an_api_error_fails_one_domain_with_its_reason"
    ),
    ("cloudfront", "get_distribution_tenant"): (
        "tests/test_shared_tenants.py::test_release_sends_the_full_configuration_disabled_then_waits_until_the_tenant_is_gone"
    ),
    ("cloudfront", "update_distribution_tenant"): (
        "tests/test_shared_tenants.py::test_release_sends_the_full_configuration_disabled_then_waits_until_the_tenant_is_gone"
    ),
    ("cloudfront", "delete_distribution_tenant"): (
        "tests/test_shared_tenants.py::test_release_sends_the_full_configuration_disabled_then_waits_until_the_tenant_is_gone"
    ),
    ("cloudfront", "list_distribution_tenants"): (
        "tests/test_shared_tenants.py::test_an_orphan_whose_dns_is_wrong_stops_the_program_naming_the_record"
    ),
    ("cloudfront", "get_managed_certificate_details"): (
        "tests/test_shared_tenants.py::test_an_orphan_whose_dns_is_wrong_stops_the_program_naming_the_record"
    ),
    ("cloudfront", "verify_dns_configuration"): (
        "tests/test_shared_tenants.py::test_an_orphan_whose_dns_is_wrong_stops_the_program_naming_the_record"
    ),
    ("service-quotas", "list_service_quotas"): (
        "tests/test_boto3_calls.py::test_applied_quotas_reads_every_page_of_each_service_through_stubber"
    ),
    ("ses", "describe_active_receipt_rule_set"): (
        "tests/tlsrpt/test_receiver_mail.py::test_another_active_rule_set_is_refused_unless_allowed"
    ),
    ("sts", "get_caller_identity"): "tests/test_credentials.py::test_allowed_account_ids_are_enforced",
    ("sts", "assume_role_with_web_identity"): "tests/test_credentials.py::test_web_identity_comes_before_the_chain",
}


def package_operations() -> set[tuple[str, str]]:
    """(service, operation) for every attribute of the deploy code named like an operation of :data:`SERVICES`.

    Calls and references both count (the quota check passes ``client.list_service_quotas`` along).
    """
    session = botocore.session.get_session()
    names: dict[str, str] = {}
    for service in SERVICES:
        for operation in session.get_service_model(service).operation_names:
            names[xform_name(operation)] = service
    found = set()
    for path in sorted(RESOURCES.rglob("*.py")):  # the dynamic providers in providers/ too
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in names:
                found.add((names[node.attr], node.attr))
    return found


def test_every_operation_of_the_deploy_code_has_a_stubber_or_moto_test(tmp_path: Path) -> None:
    """The operations in the code are exactly those listed; each listed test makes them through Stubber or moto."""
    assert package_operations() == set(EXERCISED_BY), "list each new boto3 operation with a Stubber or moto test"
    log = tmp_path / "boto3-calls.log"
    env = {**os.environ, "BOTO3_RECORD": str(log), "PYTHONPATH": str(ROOT / "tests")}
    tests = sorted(set(EXERCISED_BY.values()))
    child = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "boto3_recorder", "-p", "no:cacheprovider", *tests],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert child.returncode == 0, child.stdout[-3000:]
    lines = [line.split() for line in log.read_text().splitlines()]
    recorded = {(service, operation): how for service, operation, how in lines}
    missing = {k: recorded.get(k, "not called") for k in EXERCISED_BY if recorded.get(k) not in ("stubber", "moto")}
    assert missing == {}
    assert all(how in ("stubber", "moto") for how in recorded.values())  # no request left the process


def test_applied_quotas_reads_every_page_of_each_service_through_stubber() -> None:
    """ListServiceQuotas, paged by NextToken, per service of the kit's quotas, requests checked against the model."""
    import boto3

    session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1")  # noqa: S106
    client = session.client("service-quotas")
    quota = next(q for q in QUOTAS.values() if q.service == "cloudfront" and q.code)
    services = list(dict.fromkeys(q.service for q in QUOTAS.values()))  # the order applied_quotas asks in
    item: dict[str, Any] = {
        "ServiceCode": "cloudfront",
        "QuotaCode": quota.code,
        "QuotaName": quota.names[0] if quota.names else quota.key,
        "Value": 1234.0,
        "Adjustable": True,
    }
    with Stubber(client) as stub:
        for service in services:
            if service == "cloudfront":
                stub.add_response("list_service_quotas", {"Quotas": [], "NextToken": "p2"}, {"ServiceCode": service})
                stub.add_response(
                    "list_service_quotas", {"Quotas": [item]}, {"ServiceCode": service, "NextToken": "p2"}
                )
            else:
                stub.add_response("list_service_quotas", {"Quotas": []}, {"ServiceCode": service})
        values = applied_quotas(client)
        stub.assert_no_pending_responses()
    assert values == {quota.key: 1234}
