"""`mtasts check`: verify live DNS, HTTPS and MX the way a sending MTA does (RFC 8461 §3-§5)."""
