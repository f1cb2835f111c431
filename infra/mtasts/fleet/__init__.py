"""`mtasts status` and `mtasts promote`: one pane for the fleet, and evidence-driven promotion (docs/fleet.md)."""
