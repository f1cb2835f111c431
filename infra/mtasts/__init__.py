"""MTA-STS (RFC 8461) and SMTP TLS Reporting (RFC 8460) for many mail domains, deployed with Pulumi on AWS.

The package follows the flow of the kit: :mod:`mtasts.config` (stack config)
→ :mod:`mtasts.policy` (policy text and id) → :mod:`mtasts.records` (DNS
record values) → :mod:`mtasts.plan` (all of it per domain), which the CLI
prints and the Pulumi program deploys.
"""

__version__ = "0.1.0"
