"""One hermetic world of domains, each set up to show one way a deployment can be right or wrong."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import HOSTILE_HTTPS, HOSTILE_SMTP, Loopback, Route, running
from scenarios import GOOD, NEW, OLD, SMTP, policy_for, serve

from mtasts.checker.net import Network, parse_connect_to, parse_nameserver


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loopback]:
    with running(str(tmp_path_factory.mktemp("ca")), SMTP) as w:
        serve(w, "good.example", GOOD)
        serve(w, "testing.example", policy_for("testing.example", "testing"))
        w.zone.add("testing.example. 300 IN MX 20 mx.elsewhere.example.\n")
        serve(w, "uncovered.example", policy_for("uncovered.example"))
        w.zone.add("uncovered.example. 300 IN MX 20 backup.elsewhere.example.\n")
        p = policy_for("redirect.example")
        serve(w, "redirect.example", p, route=Route(status=301, headers={"Location": "https://elsewhere.example/"}))
        p = policy_for("html.example")
        serve(w, "html.example", p, route=Route(content_type="text/html", body=p.to_bytes()))
        p = policy_for("big.example")
        serve(w, "big.example", p, route=Route(body=p.to_bytes() + b"x-pad: " + b"y" * 70_000 + b"\r\n"))
        serve(w, "wrongname.example", policy_for("wrongname.example"))
        serve(w, "expired.example", policy_for("expired.example"))
        serve(
            w, "invalid.example", policy_for("invalid.example"), route=Route(body=b"version: STSv1\r\nmode: strict\r\n")
        )
        serve(w, "badid.example", policy_for("badid.example"), txt="v=STSv1; id=not-valid!")
        serve(w, "twotxt.example", policy_for("twotxt.example"))
        w.zone.add('_mta-sts.twotxt.example. 300 IN TXT "v=STSv1; id=another1"\n')
        split = policy_for("split.example")
        w.zone.add(
            f'_mta-sts.split.example. 300 IN TXT "v=STSv1; " "id={split.id}"\n'
            "mta-sts.split.example. 300 IN A 127.0.0.1\nsplit.example. 300 IN MX 10 mx.split.example.\n"
        )
        w.routes["mta-sts.split.example"] = Route(body=split.to_bytes())
        cname = policy_for("cname.example")
        w.zone.add(
            "_mta-sts.cname.example. 300 IN CNAME _mta-sts.cname.example.hosting.example.net.\n"
            f'_mta-sts.cname.example.hosting.example.net. 300 IN TXT "v=STSv1; id={cname.id}"\n'
            "cname.example. 300 IN MX 10 mx.cname.example.\n"
        )
        w.routes["mta-sts.cname.example"] = Route(body=cname.to_bytes())
        w.zone.add("none.example. 300 IN MX 10 mx.none.example.\n")
        serve(w, "stale.example", NEW, route=Route(body=OLD.to_bytes()))
        serve(w, "nostarttls.example", policy_for("nostarttls.example"))
        serve(w, "badcert.example", policy_for("badcert.example"))
        serve(w, "hang.example", policy_for("hang.example"))
        serve(w, "nsonly.example", policy_for("nsonly.example"))
        w.zone.add("mx.nsonly.example. 300 IN A 127.0.0.1\n")
        w.zone.add("implicit.example. 300 IN A 127.0.0.1\nnullmx.example. 300 IN MX 0 .\n")
        for mode in (*HOSTILE_HTTPS, *HOSTILE_SMTP):  # HTTPS and SMTP for these go to the hostile servers
            serve(w, f"{mode}.example", policy_for(f"{mode}.example"))
        yield w


@pytest.fixture
def net(world: Loopback) -> Network:
    return Network(
        nameservers=[parse_nameserver(world.nameserver)],
        ca_file=world.ca_file,
        connect_to=[parse_connect_to(c) for c in world.connect_to()],
        timeout=5.0,
    )


@pytest.fixture
def stack_file(tmp_path: Path) -> Path:
    """A stack whose stale.example policy is NEW, while the server still serves OLD."""
    path = tmp_path / "Pulumi.live.yaml"
    path.write_text(
        "config:\n  mta-sts:domains:\n"
        "    stale.example:\n      template: enforce\n      mx: [mx.stale.example]\n"
        "    good.example:\n      template: enforce\n      mx: [mx.good.example]\n"
        "      rua: [mailto:tls@good.example]\n"
    )
    return path
