"""Tenants a failed deployment left behind, found by name before anything is declared, and replaced.

When a tenant's CloudFront-managed certificate is not issued (CAA without Amazon, ``mta-sts.<domain>`` not yet
pointing at CloudFront), the provider's Create fails after ``CreateDistributionTenant`` succeeded and saves no
state (Terraform AWS provider #48353). The tenant stays in the account under its name, which is unique per
account (``CreateDistributionTenant.Name``), so every later ``pulumi up`` would fail on create again.

:func:`find_orphans` lists the account's tenants (``ListDistributionTenants``) and keeps those whose name
belongs to a domain this deployment creates a tenant for (a tenant the stack holds is never one of them: its
domain was live in the last deployment's ``domains`` output). For each it asks CloudFront why
(``GetManagedCertificateDetails``, ``VerifyDnsConfiguration`` for the domain's host), so the message says what
happened. The program then refuses to go on while CloudFront says the host's DNS is wrong (the new tenant would
fail the same way, after waiting hours for its certificate), and otherwise deletes the orphan
(:class:`mtasts.resources.tenant_release.TenantRelease`, which the new tenant depends on) and creates the tenant again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Orphan", "find_orphans"]

#: Tenants per ListDistributionTenants page.
PAGE = 100


@dataclass(frozen=True)
class Orphan:
    """A tenant in the account with the name of a domain whose tenant this deployment creates."""

    domain: str
    tenant_id: str
    name: str
    certificate: str | None
    """``GetManagedCertificateDetails``' status (``failed``, ``validation-timed-out``, …), ``None`` if unknown."""
    dns: str | None
    """``VerifyDnsConfiguration``'s status for the host, with CloudFront's reason; ``None`` if unknown."""

    @property
    def dns_wrong(self) -> bool:
        """CloudFront says the host does not point at the connection group."""
        return bool(self.dns and self.dns.startswith("invalid-configuration"))

    def message(self) -> str:
        """One line: what is there, why it is there, what CloudFront says, and what happens now."""
        host = f"mta-sts.{self.domain}"
        said = f"managed certificate {self.certificate or 'status unknown'}; DNS of {host}: {self.dns or 'unknown'}"
        head = (
            f"domains.{self.domain}: tenant {self.name} ({self.tenant_id}) exists in the account but not in this "
            f"stack: a deployment created it and failed before saving it (Terraform AWS provider #48353); {said}"
        )
        if self.dns_wrong:
            return (
                f"{head}. Point {host} at the connection group (the output sharedRoutingEndpoint; `mtasts check` "
                "names the record), then deploy again: this deployment would fail the same way"
            )
        return (
            f"{head}. This deployment deletes it and creates it again; if its certificate failed, check CAA first "
            "(`mtasts plan --preflight`)"
        )


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def find_orphans(client: Any, wanted: Mapping[str, str]) -> dict[str, Orphan]:
    """The tenants named in ``wanted`` (tenant name → domain) that exist in the account, by domain.

    Reads every page of ``ListDistributionTenants`` (one call per :data:`PAGE` tenants of the account; a
    first deployment of 10,000 domains finds none in one call), then two calls per orphan found.
    """
    if not wanted:
        return {}
    found: dict[str, Orphan] = {}
    marker: str | None = None
    while True:
        page = client.list_distribution_tenants(MaxItems=PAGE, **({"Marker": marker} if marker else {}))
        for tenant in page.get("DistributionTenantList") or []:
            domain = wanted.get(str(tenant["Name"]))
            if domain is not None:
                found[domain] = _diagnose(client, domain, str(tenant["Id"]), str(tenant["Name"]))
        marker = page.get("NextMarker")
        if not marker:
            return found


def _diagnose(client: Any, domain: str, tenant_id: str, name: str) -> Orphan:
    certificate: str | None = None
    try:
        details = client.get_managed_certificate_details(Identifier=tenant_id)["ManagedCertificateDetails"]
        certificate = str(details.get("CertificateStatus") or "") or None
    except Exception as exc:  # no managed certificate, or the read failed: unknown
        certificate = "absent" if _error_code(exc) == "EntityNotFound" else None
    dns: str | None = None
    try:
        answer = client.verify_dns_configuration(Identifier=tenant_id, Domain=f"mta-sts.{domain}")
        for item in answer.get("DnsConfigurationList") or []:
            reason = f" ({item['Reason']})" if item.get("Reason") else ""
            dns = f"{item['Status']}{reason}"
    except Exception:  # a failed check proves nothing
        dns = None
    return Orphan(domain, tenant_id, name, certificate, dns)
