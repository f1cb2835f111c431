"""The stack schema, declared once: every ``mta-sts:*`` key with its type, default, bounds, RFC and description.

Everything else is derived from these Structs (msgspec, already the kit's decoder for TLS-RPT reports):

* the checks and their one-line messages (:mod:`mtasts.config.fields` reads each field's type, bounds and choices
  through ``msgspec.inspect``);
* the README's config reference tables (:mod:`mtasts.config.reference`, a test keeps the committed ones equal);
* the JSON Schema of a stack file (:func:`json_schema`, committed as ``docs/stack.schema.json``).

Each field's ``Meta`` carries ``description`` (the docs' meaning column and the JSON Schema's) and ``extra``:

* ``rfc``: the section that states the bound or the choices, cited in the message;
* ``unit``: what a whole number counts (``expected a whole number of seconds``);
* ``expected``: what a value of the wrong type is told it should be, when the type's own phrase says less;
* ``invalid``: the message for a value outside the choices or the pattern (``{value}``, ``{choices}``);
* ``range``: name the whole range in the message (``from 1 to 10000``) rather than the bound crossed;
* ``or_false``: ``false`` is accepted too and means "none";
* ``type``, ``default``, ``example``: the docs' columns, where the declared type or default says less.

A default the Struct cannot hold (it depends on the template or on another key) is ``UNSET`` plus a ``default``
text. Cross-field rules (a zone above its domain, enforce needing MX patterns) stay small named functions in
:mod:`mtasts.config.domains` and :mod:`mtasts.config.stack`, each citing its RFC section.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from ..policy import MAX_AGE_LIMIT, Mode
from ..quotas import QUOTAS
from .alerts import AlertSettings
from .promotion import PromotionRules

__all__ = [
    "DEFAULT_MAX_AGE",
    "NAMESPACE",
    "AdoptSettings",
    "DomainSettings",
    "ReportsSettings",
    "StackSettings",
    "TemplateFile",
    "json_schema",
]

#: The Pulumi project name, hence the config namespace (``mta-sts:domains``).
NAMESPACE = "mta-sts"
MAX_TTL = 2_147_483_647  # RFC 2181 §8
#: max_age used when neither the domain nor a template of the same mode sets one.
DEFAULT_MAX_AGE: dict[str, int] = {"testing": 86_400, "enforce": 604_800, "none": 86_400}
#: Below this, an enforce policy expires between refreshes too easily (RFC 8461 §3.2: "weeks or greater").
ENFORCE_MAX_AGE_ADVICE = 604_800
#: Path of the report endpoint on its host.
REPORTS_PATH = "/v1/report"

Hosting = Literal["dedicated", "shared"]
_HOST = {"expected": "expected a host name (a string)"}

ModeField = Annotated[
    Mode,
    Meta(
        description="what senders do when your MX fails the policy (RFC 8461 §5)",
        extra={"rfc": "RFC 8461 §3.2", "default": "the template's mode, else `testing`", "example": "`enforce`"},
    ),
]
MaxAgeField = Annotated[
    int,
    Meta(
        ge=0,
        le=MAX_AGE_LIMIT,
        description="seconds senders cache the policy (RFC 8461 §3.2)",
        extra={
            "rfc": "RFC 8461 §3.2",
            "unit": "seconds",
            "default": "the template's value if the template has this mode, else 86400 (testing, none) / 604800 "
            "(enforce)",
            "example": "`1209600`",
        },
    ),
]
MxField = Annotated[
    list[str],
    Meta(
        description="MX host patterns; replaces the template's list. A leading `*.` matches exactly one label "
        "(RFC 8461 §4.1). Required unless mode is `none`",
        extra={
            "expected": "expected a list of MX patterns",
            "default": "the template's list",
            "example": '`[mx1.example.com, "*.mx.example.net"]`',
        },
    ),
]


class AdoptSettings(Struct, forbid_unknown_fields=True):
    """A domain's ``adopt``: existing records to import on the next ``pulumi up``."""

    zone_id: Annotated[
        str,
        Meta(
            pattern=r"^Z[A-Z0-9]{1,31}$",
            description="Route53 hosted zone id of the records",
            extra={"invalid": "{value} is not a Route53 hosted zone id (Z...)"},
        ),
    ]
    records: Annotated[
        list[Literal["_mta-sts", "_smtp._tls", "mta-sts"]],
        Meta(description="the records to import", extra={"expected": "expected a list of record names"}),
    ]


class DomainSettings(Struct, forbid_unknown_fields=True):
    """One domain's settings under ``mta-sts:domains``; every key is optional."""

    template: Annotated[
        str,
        Meta(
            description="name of a preset in `policy_templates/` to start from",
            extra={"expected": "expected a template name", "example": "`google-workspace`"},
        ),
    ] = "testing"
    mode: ModeField | UnsetType = UNSET
    max_age: MaxAgeField | UnsetType = UNSET
    mx: MxField | UnsetType = UNSET
    rua: Annotated[
        list[str],
        Meta(
            description="TLS-RPT report destinations, `mailto:` or `https:` only; `,` `;` `!` are percent-encoded "
            "for you (RFC 8460 §3)",
            extra={
                "expected": "expected a list of TLS-RPT URIs (mailto: or https:)",
                "default": "none: no `_smtp._tls` record",
                "example": '`[mailto:tls@example.com, "https://r.example.com/v1"]`',
            },
        ),
    ] = msgspec.field(default_factory=list)
    zone: Annotated[
        str | UnsetType,
        Meta(
            description="Route53 hosted zone that holds the records; must be the domain or a parent of it",
            extra={**_HOST, "default": "the domain itself", "example": "`example.com`"},
        ),
    ] = UNSET
    ttl: Annotated[
        int,
        Meta(
            ge=0,
            le=MAX_TTL,
            description="TTL of the TXT records",
            extra={"rfc": "RFC 2181 §8", "unit": "seconds", "example": "`3600`"},
        ),
    ] = 300
    retire: Annotated[
        bool,
        Meta(
            description="withdraw the policy safely: publishes mode `none` with a one-day `max_age` (unless set) and "
            "a new id, still hosted (RFC 8461 §8.3); see [docs/gitops.md](docs/gitops.md#retiring-a-domain)",
            extra={"example": "`true`"},
        ),
    ] = False
    dns: Annotated[
        Literal["route53", "external"],
        Meta(
            description="`external` for domains whose DNS is not in this AWS account: the kit writes the records in "
            "`mta-sts:hostingZone` and the owner publishes three CNAMEs once (hosted `shared`) — "
            "[docs/gitops.md](docs/gitops.md#domains-whose-dns-you-do-not-control)",
            extra={"example": "`external`"},
        ),
    ] = "route53"
    allow_overwrite: Annotated[
        bool,
        Meta(
            description="let `pulumi up` replace existing Route53 records of the same name; off, creating over an "
            "existing record fails",
            extra={"example": "`true`"},
        ),
    ] = False
    adopt: Annotated[
        AdoptSettings | UnsetType,
        Meta(
            description="import existing records (`_mta-sts`, `_smtp._tls`, `mta-sts`) into the stack on the next "
            "`pulumi up` — [docs/deploy.md](docs/deploy.md#adopting-existing-records)",
            extra={"example": "`{zone_id: Z0123…, records: [_smtp._tls, mta-sts]}`"},
        ),
    ] = UNSET
    hosting: Annotated[
        Hosting | UnsetType,
        Meta(
            description="how CloudFront serves this domain: its own distribution, or a tenant of the stack's "
            "multi-tenant distribution; a `dns: external` domain can only start `shared` — "
            "[docs/deploy.md](docs/deploy.md#choosing-a-hosting-mode)",
            extra={"default": "`shared` for `dns: external`, else `mta-sts:hosting`", "example": "`shared`"},
        ),
    ] = UNSET
    switch_hosting: Annotated[
        bool,
        Meta(
            description="let `pulumi up` move this **live** domain from the other hosting mode into `hosting` "
            "(without it such a switch is refused, and it is refused together with a policy change); the policy URL "
            "stops answering for a few minutes during the move, the `_mta-sts` id does not change; the next "
            "deployment deletes the old side, and the key can then go — "
            "[docs/deploy.md](docs/deploy.md#changing-modes)",
            extra={"example": "`true`"},
        ),
    ] = False


def _range(low: int, high: int, unit: str, description: str) -> Meta:
    """A whole number of ``unit`` from ``low`` to ``high``, whose message names the whole range."""
    return Meta(ge=low, le=high, description=description, extra={"unit": unit, "range": True})


class ReportsSettings(Struct, forbid_unknown_fields=True):
    """``mta-sts:reports``: the stack's TLS-RPT endpoint (docs/reports.md, "Receiving reports").

    The highest rate and burst are API Gateway's account-level throttle quotas per region (10,000 requests/s, burst
    5,000); 10,240 KiB is the HTTP API payload quota (10 MB). Athena's per-query cutoff is at least 10,000,000 bytes
    (10 MiB is more); 10 GiB by default (about $0.05 at $5 per TB scanned), a year of 10,000 domains' rows being
    about 1 GB.
    """

    endpoint: Annotated[
        str, Meta(description="host name of the HTTPS endpoint `https://<endpoint>/v1/report`", extra=_HOST)
    ]
    zone: Annotated[
        str | UnsetType,
        Meta(
            description="Route53 zone of the endpoint's records",
            extra={**_HOST, "default": "the endpoint's parent"},
        ),
    ] = UNSET
    retention_days: Annotated[
        int, Meta(ge=1, le=36500, description="days the stored reports are kept", extra={"unit": "days"})
    ] = 400
    mailbox: Annotated[
        str | UnsetType,
        Meta(
            description="an address on a dedicated subdomain (never a zone apex or a policy domain) that receives "
            "reports by mail through SES inbound"
        ),
    ] = UNSET
    rate_limit: Annotated[int, _range(1, 10000, "requests per second", "API Gateway throttling rate")] = 2
    burst_limit: Annotated[int, _range(1, 5000, "requests", "API Gateway throttling burst")] = 20
    reserved_concurrency: Annotated[
        int,
        Meta(
            ge=1,
            le=1000,
            description="Lambda reserved concurrency of the report function; `false` reserves none",
            extra={"unit": "concurrent executions", "range": True, "or_false": True},
        ),
    ] = 2
    max_body_kib: Annotated[int, _range(16, 10240, "KiB", "largest report body accepted")] = 1024
    replace_active_rule_set: Annotated[
        bool, Meta(description="let the mailbox replace another active SES receipt rule set")
    ] = False
    query: Annotated[
        Literal["none", "athena"],
        Meta(
            description="`athena`: a Glue table over the report rows and an Athena workgroup (docs/reports.md)",
            extra={"invalid": "expected one of {choices}, got {value}"},
        ),
    ] = "none"
    query_scan_limit_mib: Annotated[int, _range(10, 10_000_000, "MiB", "Athena's per-query scan cutoff")] = 10240
    query_results_days: Annotated[int, _range(1, 3650, "days", "days Athena's query results are kept")] = 7


_REPORTS = Meta(
    description="deploy the stack's HTTPS TLS-RPT endpoint `https://<endpoint>/v1/report`, which stores only reports "
    "for the stack's domains, with API Gateway throttling and Lambda reserved concurrency bounding volume and cost; "
    "optional `mailbox` adds SES inbound mail; the endpoint's URI joins every domain's `rua` — "
    "[docs/reports.md](docs/reports.md#receiving-reports) (limits and worst-case cost)",
    extra={
        "expected": "expected a mapping with endpoint, zone and retention_days",
        "type": "mapping (keys below)",
        "example": "`{endpoint: tlsrpt.example.net, retention_days: 400, rate_limit: 5}`",
    },
)
_PROMOTION = Meta(
    description="the evidence `mtasts status` and `mtasts promote` require before a domain moves to enforce and up "
    "the `max_age` ladder — [docs/fleet.md](docs/fleet.md#the-rules-mta-stspromotion)",
    extra={"expected": "expected a mapping of rules", "example": "`{min_report_days: 21}`"},
)
_ALERTS = Meta(
    description="days left on a policy host or MX certificate at which `mtasts check` warns / fails and `mtasts "
    "status` adds a warning / says `action-needed` (`--cert-warn-days`/`--cert-action-days` override them); "
    "`per_domain_metrics: true` makes the report functions also write their metrics per policy domain (cost in "
    "[docs/reports.md](docs/reports.md#metrics)); with `email` or `https` (and `mta-sts:reports`), `pulumi up` "
    "declares an SNS topic and CloudWatch alarms (fleet failure rate, reports stopped, and per enforce domain, for up "
    "to `baseline_domains`: failures above its anomaly-detection baseline, reports stopped) — "
    "[docs/alerts.md](docs/alerts.md)",
    extra={"example": "`{email: [ops@example.net], per_domain_metrics: true, certificate_warn_days: 45}`"},
)


class StackSettings(Struct, rename=lambda name: f"{NAMESPACE}:{name}"):
    """The ``mta-sts:*`` keys of a stack file's ``config`` (other namespaces, such as ``aws:*``, are Pulumi's)."""

    domains: Annotated[
        dict[str, DomainSettings],
        Meta(
            description="map of domain name (Unicode or punycode, any case, trailing dot allowed) to its settings",
            extra={"expected": "expected a mapping of domain names"},
        ),
    ]
    preflight: Annotated[
        bool,
        Meta(
            description="check live MX hosts against the patterns before deploying a domain in `enforce` mode "
            "([docs/check.md](docs/check.md))",
            extra={"example": "`false`"},
        ),
    ] = True
    hostingZone: Annotated[  # the key as written in the stack file
        str | UnsetType,
        Meta(
            description="the zone where the kit writes the records of `dns: external` domains",
            extra={**_HOST, "type": "string (a Route53 zone name)", "example": "`mta-sts-hosting.example.net`"},
        ),
    ] = UNSET
    priceClass: Annotated[
        Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"],
        Meta(description="CloudFront price class of every distribution", extra={"example": "`PriceClass_All`"}),
    ] = "PriceClass_100"
    reports: Annotated[ReportsSettings, _REPORTS] | UnsetType = UNSET
    promotion: Annotated[PromotionRules, _PROMOTION] | UnsetType = UNSET
    alerts: Annotated[AlertSettings, _ALERTS] | UnsetType = UNSET
    hosting: Annotated[
        Hosting,
        Meta(
            description="hosting mode of every domain without its own `hosting` key, e.g. `shared` for fleets past a "
            "few hundred domains — [docs/deploy.md](docs/deploy.md#choosing-a-hosting-mode)",
            extra={"example": "`shared`"},
        ),
    ] = "dedicated"
    quotas: Annotated[
        dict[str, Annotated[int, Meta(ge=1, extra={"range": True})]],
        Meta(
            description="AWS quotas raised for this account; names and defaults in "
            "[docs/deploy.md](docs/deploy.md#quotas-as-code); `pulumi up` checks them against the account's applied "
            "values",
            extra={
                "expected": "expected a mapping of quota names to numbers",
                "type": "mapping of quota name to whole number",
                "default": "AWS's defaults",
                "example": "`{distributions: 1000, distributionsPerOriginAccessControl: 200}`",
            },
        ),
    ] = msgspec.field(default_factory=dict)


class TemplateFile(Struct, forbid_unknown_fields=True):
    """``policy_templates/<name>.yaml``: a named policy preset (README, "Policy templates")."""

    description: Annotated[str, Meta(description="one line for people", extra={"expected": "must be a string"})] = ""
    references: Annotated[Any, Meta(description="where the preset's values come from, for people")] = None
    mode: ModeField | UnsetType = UNSET
    max_age: MaxAgeField | UnsetType = UNSET
    mx: MxField | UnsetType = UNSET


class StackFile(Struct):
    """A ``Pulumi.<stack>.yaml`` file, as far as the kit reads it."""

    config: StackSettings


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a stack file's ``mta-sts:*`` keys (``docs/stack.schema.json``), from the Structs.

    Other keys of ``config`` (``aws:region``, …) are allowed; an unknown ``mta-sts:*`` key or quota name is not.
    """
    schema: dict[str, Any] = msgspec.json.schema(StackFile)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Pulumi stack file of the MTA-STS deployment kit"
    stack = schema["$defs"]["StackSettings"]
    stack["propertyNames"] = {"anyOf": [{"enum": sorted(stack["properties"])}, {"not": {"pattern": f"^{NAMESPACE}:"}}]}
    concurrency = schema["$defs"]["ReportsSettings"]["properties"]["reserved_concurrency"]
    number = {k: concurrency.pop(k) for k in ("type", "minimum", "maximum")}
    concurrency["anyOf"] = [number, {"const": False}]
    stack["properties"][f"{NAMESPACE}:quotas"]["propertyNames"] = {"enum": list(QUOTAS)}  # names: mtasts.quotas
    return schema
