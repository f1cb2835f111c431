"""Report builders for the TLS-RPT tests: the RFC 8460 example shape, varied."""

from __future__ import annotations

import gzip
import json
from email.message import EmailMessage
from typing import Any


def report(
    org: str = "Company-X",
    report_id: str = "5065427c-23d3-47ca-b6e0-946ea0e8c4be",
    domain: str = "company-y.example",
    day: str = "2016-04-01",
    successful: int = 5326,
    failures: list[tuple[str, str, int]] | None = None,
    mx_key: str = "mx-host",
) -> dict[str, Any]:
    """A report like RFC 8460 §4.4's example; failures are (result-type, receiving MX, count)."""
    failures = (
        [
            ("certificate-expired", "mx1.mail.company-y.example", 100),
            ("starttls-not-supported", "mx2.mail.company-y.example", 203),
        ]
        if failures is None
        else failures
    )
    return {
        "organization-name": org,
        "date-range": {"start-datetime": f"{day}T00:00:00Z", "end-datetime": f"{day}T23:59:59Z"},
        "contact-info": "sts-reporting@company-x.example",
        "report-id": report_id,
        "policies": [
            {
                "policy": {
                    "policy-type": "sts",
                    "policy-string": [
                        "version: STSv1",
                        "mode: testing",
                        "mx: *.mail.company-y.example",
                        "max_age: 86400",
                    ],
                    "policy-domain": domain,
                    mx_key: ["*.mail.company-y.example"],
                },
                "summary": {
                    "total-successful-session-count": successful,
                    "total-failure-session-count": sum(c for _, _, c in failures),
                },
                "failure-details": [
                    {
                        "result-type": result,
                        "sending-mta-ip": "2001:db8:abcd:0012::1",
                        "receiving-mx-hostname": mx,
                        "failed-session-count": count,
                    }
                    for result, mx, count in failures
                ],
            }
        ],
    }


def as_json(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


def as_gzip(doc: dict[str, Any]) -> bytes:
    return gzip.compress(as_json(doc))


def as_mail(doc: dict[str, Any], domain: str = "company-y.example", subtype: str = "tlsrpt+gzip") -> bytes:
    """A RFC 8460 §5.3 mail: multipart/report; report-type="tlsrpt" with the report part (gzip unless +json)."""
    message = EmailMessage()
    message["From"] = "tlsrpt@company-x.example"
    message["To"] = f"tls-reports@{domain}"
    message["Subject"] = f"Report Domain: {domain} Submitter: company-x.example Report-ID: <{doc['report-id']}>"
    message["TLS-Report-Domain"] = domain
    message["TLS-Report-Submitter"] = "company-x.example"
    message.set_content("This is an aggregate TLS report from company-x.example")
    message.add_attachment(
        as_json(doc) if subtype == "tlsrpt+json" else as_gzip(doc),
        maintype="application",
        subtype=subtype,
        filename="company-x.example!company-y.example!1459468800!1459555199!1.json"
        + ("" if subtype == "tlsrpt+json" else ".gz"),
    )
    message.replace_header(
        "Content-Type",
        message["Content-Type"].replace("multipart/mixed", "multipart/report") + '; report-type="tlsrpt"',
    )
    return bytes(message)
