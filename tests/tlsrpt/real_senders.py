"""Reports shaped as the largest senders really write them (invented domains and addresses, their structure kept).

Where each shape comes from (docs/reports.md, "What real senders send", lists the same):

* Google: daily windows ``…T00:00:00Z`` to ``…T23:59:59Z``, ``mx-host`` as a JSON array, ``no-policy-found``
  policies without failure details (domainaware/parsedmarc, ``samples/smtp_tls/google.com_smtp_tls_report.eml``),
  failure details with an empty ``sending-mta-ip`` and ``receiving-mx-hostname`` and a ``failure-reason-code``
  (parsedmarc ``samples/smtp_tls/empty_failure_detail_fields.json``).
* Microsoft: ``sts`` policies without ``mx-host``, a ``tlsa`` policy beside the ``sts`` one, and
  ``sts-policy-fetch-error`` details with nothing but the result type and count (cry-inc/dmarc-report-viewer
  issue 57; domainaware/parsedmarc issue 561), and date-times without a time zone (issue 17 of this project).
"""

from __future__ import annotations

import json
from typing import Any

DOMAIN = "company-y.example"


def google_sts() -> dict[str, Any]:
    """Google: an ``mx-host`` array, one failure with an empty sending-mta-ip and a reason code."""
    return {
        "organization-name": "Google Inc.",
        "date-range": {"start-datetime": "2024-09-03T00:00:00Z", "end-datetime": "2024-09-03T23:59:59Z"},
        "contact-info": "smtp-tls-reporting@google.com",
        "report-id": f"2024-09-03T00:00:00Z_{DOMAIN}",
        "policies": [
            {
                "policy": {
                    "policy-type": "sts",
                    "policy-string": ["version: STSv1", "mode: testing", f"mx: *.mx.{DOMAIN}", "max_age: 86400"],
                    "policy-domain": DOMAIN,
                    "mx-host": [f"*.mx.{DOMAIN}"],
                },
                "summary": {"total-successful-session-count": 27000, "total-failure-session-count": 17},
                "failure-details": [
                    {
                        "result-type": "certificate-expired",
                        "sending-mta-ip": "",
                        "receiving-ip": "192.0.2.25",
                        "receiving-mx-hostname": f"mx2.mx.{DOMAIN}",
                        "failed-session-count": 16,
                        "failure-reason-code": "X509_V_ERR_CERT_HAS_EXPIRED",
                    },
                    {
                        "result-type": "sts-policy-fetch-error",
                        "sending-mta-ip": "",
                        "receiving-ip": "",
                        "receiving-mx-hostname": "",
                        "failed-session-count": 1,
                        "additional-information": "",
                        "failure-reason-code": "no-policy-served",
                    },
                ],
            }
        ],
    }


def google_no_policy() -> dict[str, Any]:
    """Google: a ``no-policy-found`` day (the parsedmarc sample's shape)."""
    return {
        "organization-name": "Google Inc.",
        "date-range": {"start-datetime": "2024-09-02T00:00:00Z", "end-datetime": "2024-09-02T23:59:59Z"},
        "contact-info": "smtp-tls-reporting@google.com",
        "report-id": f"2024-09-02T00:00:00Z_{DOMAIN}",
        "policies": [
            {
                "policy": {"policy-type": "no-policy-found", "policy-domain": DOMAIN},
                "summary": {"total-successful-session-count": 48, "total-failure-session-count": 0},
            }
        ],
    }


def microsoft(start: str = "2024-03-26T00:00:00", end: str = "2024-03-26T23:59:59") -> dict[str, Any]:
    """Microsoft: zone-less dates, no ``mx-host``, a fetch error with neither sending-mta-ip nor receiving MX."""
    return {
        "organization-name": "Microsoft Corporation",
        "date-range": {"start-datetime": start, "end-datetime": end},
        "contact-info": "tlsrpt-noreply@microsoft.com",
        "report-id": f"133925885310113267+{DOMAIN}",
        "policies": [
            {
                "policy": {
                    "policy-type": "sts",
                    "policy-string": ["version: STSv1", "mode: enforce", f"mx: *.mx.{DOMAIN}", "max_age: 2592000"],
                    "policy-domain": DOMAIN,
                },
                "summary": {"total-successful-session-count": 2, "total-failure-session-count": 3},
                "failure-details": [{"result-type": "sts-policy-fetch-error", "failed-session-count": 3}],
            },
            {
                "policy": {
                    "policy-type": "tlsa",
                    "policy-string": ['["3 1 1 6007EEE553E85D8DF007A845D19EC343283D4E416E9A33F9EF3040C8B7C285BC"]'],
                    "policy-domain": DOMAIN,
                },
                "summary": {"total-successful-session-count": 2, "total-failure-session-count": 0},
            },
        ],
    }


#: name -> (report, the deviations it shows): the corpus fed to the rua receiver and to summarize alike.
CORPUS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "google-sts": (google_sts(), ("receiving-mx-hostname-empty", "sending-mta-ip-empty")),
    "google-no-policy": (google_no_policy(), ()),
    "microsoft-zoneless": (
        microsoft(),
        (
            "date-time-without-time-zone",
            "receiving-mx-hostname-missing",
            "sending-mta-ip-missing",
            "sts-policy-without-mx-host",
        ),
    ),
    "microsoft-zoned": (
        {**microsoft("2024-03-27T00:00:00Z", "2024-03-27T23:59:59Z"), "report-id": f"133925885310113268+{DOMAIN}"},
        ("receiving-mx-hostname-missing", "sending-mta-ip-missing", "sts-policy-without-mx-host"),
    ),
}


def as_bytes(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()
