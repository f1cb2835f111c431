"""The domains of the checker's loopback world and how each is published."""

from __future__ import annotations

from loopback import Loopback, Route

from mtasts.policy import Policy

GOOD = Policy(mode="enforce", max_age=604800, mx=("mx.good.example",))
OLD = Policy(mode="testing", max_age=86400, mx=("mx.stale.example",))
NEW = Policy(mode="enforce", max_age=604800, mx=("mx.stale.example",))


def policy_for(domain: str, mode: str = "enforce") -> Policy:
    return Policy(mode=mode, max_age=604800, mx=(f"mx.{domain}",))  # type: ignore[arg-type]


SMTP = {
    "mx.good.example": "mx.good.example",
    "mx.nostarttls.example": None,
    "mx.badcert.example": "mx.someone-else.example",
    "mx.nsonly.example": "mx.nsonly.example",
}


def serve(world: Loopback, domain: str, policy: Policy, *, txt: str | None = None, route: Route | None = None) -> None:
    """Publish ``policy`` for ``domain``: A record, TXT id (or ``txt``), MX, TLS-RPT, and the HTTPS route."""
    record = txt if txt is not None else f"v=STSv1; id={policy.id}"
    world.zone.add(
        f'_mta-sts.{domain}. 300 IN TXT "{record}"\n'
        f"mta-sts.{domain}. 300 IN A 127.0.0.1\n"
        f"{domain}. 300 IN MX 10 mx.{domain}.\n"
        f'_smtp._tls.{domain}. 300 IN TXT "v=TLSRPTv1; rua=mailto:tls@{domain}"\n'
    )
    world.routes[f"mta-sts.{domain}"] = route or Route(body=policy.to_bytes())
