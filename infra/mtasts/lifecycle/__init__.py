"""GitOps lifecycle: what a merge changes for senders (`mtasts diff`), safe retirement, delegated DNS."""
