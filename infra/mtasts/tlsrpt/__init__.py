"""TLS-RPT (RFC 8460): read reports, aggregate them, show them; receive them on AWS."""
