"""Stack config: ``Pulumi.<stack>.yaml`` key ``mta-sts:domains`` → validated domain settings.

This is the first step of the flow config → policy → records → resources. The package's modules, one job each:

* :mod:`~mtasts.config.schema`: every key declared once (type, default, bounds, RFC, description) as msgspec Structs;
* :mod:`~mtasts.config.fields`: the checks and one-line messages derived from those declarations;
* :mod:`~mtasts.config.reader`: bounded, strict YAML read the way Pulumi's own reader reads it;
* :mod:`~mtasts.config.templates`: the policy presets in ``policy_templates/``;
* :mod:`~mtasts.config.domains` and :mod:`~mtasts.config.stack`: a domain's and the stack's settings, with the rules
  between keys that a schema cannot state;
* :mod:`~mtasts.config.reference`: the README's config reference tables, generated from the schema.

The names below are the package's public surface; import them from ``mtasts.config``.
"""

from __future__ import annotations

from .domains import DEFAULT_TEMPLATE, DOMAIN_KEYS, DomainConfig
from .reader import (
    MAX_YAML_BYTES,
    _Unsendable,
    load_yaml_file,
    pulumi_reads,
    read_capped,
    stack_settings_from_file,
)
from .schema import DEFAULT_MAX_AGE, NAMESPACE, REPORTS_PATH, json_schema
from .stack import STACK_KEYS, StackConfig, load_stack_file, mailbox_problems, parse_stack_settings
from .templates import Template, TemplateStore, default_templates_dir

__all__ = [
    "DEFAULT_MAX_AGE",
    "DEFAULT_TEMPLATE",
    "DOMAIN_KEYS",
    "MAX_YAML_BYTES",
    "NAMESPACE",
    "REPORTS_PATH",
    "STACK_KEYS",
    "DomainConfig",
    "StackConfig",
    "Template",
    "TemplateStore",
    "_Unsendable",
    "default_templates_dir",
    "json_schema",
    "load_stack_file",
    "load_yaml_file",
    "mailbox_problems",
    "parse_stack_settings",
    "pulumi_reads",
    "read_capped",
    "stack_settings_from_file",
]
