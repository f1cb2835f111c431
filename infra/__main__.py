"""Pulumi entry point: `pulumi up` deploys exactly what `mtasts plan` prints for the same stack.

``main`` reads ``mta-sts:*`` from the stack config, runs ``mtasts.config.parse_stack_settings`` and
``mtasts.plan.plan_stack`` (the code path of ``mtasts plan``), refuses bad config with one line per problem,
runs the enforce-mode preflight and declares the resources (``mtasts.resources.program.deploy``).
"""

from mtasts.resources.program import main, tune_garbage_collector

tune_garbage_collector()
main()
