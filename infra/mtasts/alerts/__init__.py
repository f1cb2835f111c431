"""Alerts: certificate expiry thresholds, verdict-change notifications (docs/alerts.md)."""
