"""Pulumi entry point: `pulumi up` deploys exactly what `mtasts plan` prints for the same stack."""

from mtasts.resources.program import main

main()
