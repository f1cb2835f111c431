"""Pulumi's mock runtime for the program's tests: every property the code reads, and a record of registrations."""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi.resource

from mtasts.config import parse_stack_settings
from mtasts.plan import StackPlan, plan_stack
from mtasts.resources.credentials import AwsSettings
from mtasts.resources.program import deploy
from mtasts.resources.providers.guard import RetirementGuardProvider

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # pulumi_aws warns about its own deprecated modules
    import pulumi_aws  # noqa: F401

ACCOUNT = "123456789012"
#: The time the mocked retirement guard stamps.
GUARD_CLOCK = 1_800_000_000.0
#: The time the program runs at, in tests.
PROGRAM_CLOCK = 1_900_000_000.0


@dataclass
class Registration:
    """One resource as the program registered it."""

    type: str
    name: str
    inputs: dict[str, Any] = field(default_factory=dict)
    depends_on: list[str] = field(default_factory=list)
    parent: str | None = None
    provider: str | None = None
    import_id: str | None = None
    protect: bool | None = None
    ignore_changes: list[str] = field(default_factory=list)
    replace_on_changes: list[str] = field(default_factory=list)
    delete_before_replace: bool | None = None


class Mocks(pulumi.runtime.Mocks):
    """Returns the outputs AWS would, with deterministic ids; remembers every input it saw."""

    def __init__(self, previous_outputs: dict[str, Any] | None = None) -> None:
        self.inputs: dict[str, dict[str, Any]] = {}
        #: What each resource's state holds after its create, as the provider would write it.
        self.outputs: dict[str, dict[str, Any]] = {}
        self.types: dict[str, str] = {}
        self.previous_outputs = previous_outputs or {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        #: Domains the mocked rollout step fails, with the id their TXT had before (``None``: new domain).
        self.rollout_failures: dict[str, str | None] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        """Outputs per resource type, in camelCase as the provider returns them."""
        name, inputs = args.name, dict(args.inputs)
        self.inputs[name] = inputs
        self.types[name] = args.typ
        outputs = dict(inputs)
        rid = f"{name}-id"
        match args.typ:
            case "aws:s3/bucket:Bucket":
                outputs |= {
                    "bucket": f"{name}-bucket",
                    "arn": f"arn:aws:s3:::{name}-bucket",
                    "bucketRegionalDomainName": f"{name}-bucket.s3.eu-west-1.amazonaws.com",
                }
            case "aws:acm/certificate:Certificate":
                host = inputs["domainName"]
                outputs |= {
                    "arn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/{name}",
                    "domainValidationOptions": [
                        {
                            "domainName": host,
                            "resourceRecordName": f"_a1b2.{host}.",
                            "resourceRecordType": "CNAME",
                            "resourceRecordValue": f"_c3d4.{name}.acm-validations.aws.",
                        }
                    ],
                }
            case "aws:acm/certificateValidation:CertificateValidation":
                outputs["certificateArn"] = inputs["certificateArn"]
            case "aws:cloudfront/distribution:Distribution":
                rid = f"E{zlib.crc32(name.encode()):010d}"
                outputs |= {
                    "arn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/{rid}",
                    "domainName": f"{rid.lower()}.cloudfront.net",
                    "hostedZoneId": "Z2FDTNDATAQYW2",
                }
            case "aws:cloudfront/connectionGroup:ConnectionGroup":
                rid = f"cg_{zlib.crc32(name.encode()):010d}"
                outputs |= {
                    "arn": f"arn:aws:cloudfront::{ACCOUNT}:connection-group/{rid}",
                    "routingEndpoint": f"d{zlib.crc32(name.encode()):010d}.cloudfront.net",
                }
            case "aws:cloudfront/multitenantDistribution:MultitenantDistribution":
                rid = f"E{zlib.crc32(name.encode()):010d}"
                outputs |= {
                    "arn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/{rid}",
                    "domainName": f"{rid.lower()}.cloudfront.net",
                }
            case "aws:cloudfront/distributionTenant:DistributionTenant":
                rid = f"dt_{zlib.crc32(name.encode()):010d}"
                outputs |= {
                    "arn": f"arn:aws:cloudfront::{ACCOUNT}:distribution-tenant/{rid}",
                    "etag": "E2QWRUHEXAMPLE",
                    "status": "Deployed",
                }
                if "managedCertificateRequest" in inputs:
                    # What distribution_tenant.go's Create stores once the managed certificate is issued: the
                    # tenant re-read, whose Customizations now carry the certificate's ARN.
                    outputs["customizations"] = {
                        "certificate": {"arn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/cf-managed-{rid}"}
                    }
            case "aws:cloudfront/function:Function":
                outputs["arn"] = f"arn:aws:cloudfront::{ACCOUNT}:function/{name}"
            case "aws:route53/record:Record":
                outputs["fqdn"] = inputs["name"]
            case "aws:ses/domainIdentity:DomainIdentity":
                outputs |= {"verificationToken": f"token-{inputs['domain']}", "arn": f"arn:aws:ses:::identity/{name}"}
            case "pulumi:pulumi:StackReference":
                outputs = {"name": inputs.get("name"), "outputs": self.previous_outputs, "secretOutputNames": []}
            case "pulumi-python:dynamic:Resource":
                outputs = {k: v for k, v in inputs.items() if k != "__provider"}
                if "trigger" in outputs:
                    outputs["invalidationId"] = f"I{name}"
                if "targets" in outputs:
                    # The rollout step: every target verified, except the ones a test makes fail.
                    targets = outputs["targets"] or {}
                    published = {d: t["policyId"] for d, t in targets.items() if d not in self.rollout_failures}
                    published |= {d: old for d, old in self.rollout_failures.items() if old is not None}
                    outputs["published"] = published
                    outputs["failures"] = {d: "mocked failure" for d in self.rollout_failures if d in targets}
                if "domains" in outputs:
                    # The guard's create, with the real provider logic and a fixed clock.
                    guard = RetirementGuardProvider(clock=lambda: GUARD_CLOCK)
                    outputs["record"] = guard.create(outputs).outs["record"]
        self.outputs[name] = outputs
        return rid, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        """Data sources: the Route53 zone lookup and the caller identity."""
        self.calls.append((args.token, dict(args.args)))
        if args.token == "aws:route53/getZone:getZone":
            zone = args.args["name"]
            zone_id = "Z" + "".join(c for c in zone.upper() if c.isalnum())[:20]
            return {"zoneId": zone_id, "id": zone_id, "name": zone}
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": "eu-west-1", "name": "eu-west-1", "id": "eu-west-1", "endpoint": "", "description": ""}
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/test", "id": ACCOUNT, "userId": "AID"}
        return {}


@contextmanager
def recording() -> Iterator[dict[str, Registration]]:
    """Record each registration's type, parent, provider and depends_on as the program passes them."""
    seen: dict[str, Registration] = {}
    original = pulumi.resource.register_resource

    def wrapper(
        res: Any, ty: str, name: str, custom: bool, remote: bool, new_dep: Any, props: Any, opts: Any, *a: Any, **k: Any
    ) -> Any:
        opts = opts or pulumi.ResourceOptions()
        depends = [d._name for d in (opts.depends_on or []) if isinstance(d, pulumi.Resource)]
        seen[name] = Registration(
            type=ty,
            name=name,
            depends_on=depends,
            parent=opts.parent._name if opts.parent is not None else None,
            provider=opts.provider._name if opts.provider is not None else None,
            import_id=opts.import_,
            protect=opts.protect,
            ignore_changes=list(opts.ignore_changes or []),
            replace_on_changes=list(opts.replace_on_changes or []),
            delete_before_replace=opts.delete_before_replace,
        )
        return original(res, ty, name, custom, remote, new_dep, props, opts, *a, **k)

    pulumi.resource.register_resource = wrapper  # type: ignore[assignment]
    try:
        yield seen
    finally:
        pulumi.resource.register_resource = original  # type: ignore[assignment]


@dataclass
class Run:
    """What one program run registered."""

    mocks: Mocks
    regs: dict[str, Registration]
    plan: StackPlan
    outputs: dict[str, Any]


def build(
    settings: dict[str, Any],
    previous: dict[str, Any] | None = None,
    now: float | None = None,
    *,
    shards: dict[str, int] | None = None,
    delegated: set[str] | None = None,
    mocks: Mocks | None = None,
    previous_domains: dict[str, Any] | None = None,
    aws_settings: AwsSettings | None = None,
) -> Run:
    """Run the program on ``settings`` under mocks and return what it registered, once all of it resolved."""
    now = PROGRAM_CLOCK if now is None else now
    mocks = mocks or Mocks()
    use_mocks(mocks)
    run: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        with recording() as regs:
            plan = plan_stack(parse_stack_settings(settings))
            outputs = deploy(
                plan,
                stack="test",
                previous_retirement=previous or {},
                now=now,
                previous_shards=shards or {},
                delegated=delegated,
                previous_domains=previous_domains or {},
                aws_settings=aws_settings,
            )
        run.update(regs=regs, plan=plan)
        return pulumi.Output.from_input(outputs).apply(lambda resolved: run.update(outputs=resolved))

    program()
    return Run(mocks, run["regs"], run["plan"], run["outputs"])


def use_mocks(mocks: Mocks) -> None:
    """Install ``mocks`` for a real (non-preview) update of project mta-sts, stack test."""
    pulumi.runtime.set_mocks(mocks, project="mta-sts", stack="test", preview=False)
