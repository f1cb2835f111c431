"""Every dynamic provider a deployed stack's state may name stays importable under that name.

Pulumi pickles a dynamic resource's provider into the state by reference (module and class name, through dill)
and deletes or updates the resource with it on a later ``pulumi up``: moving or renaming a provider class strands
every stack that holds one. A provider that moves keeps an alias at its old name, listed here.
"""

from __future__ import annotations

import ast
import base64
import importlib

import dill
import pytest
from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider

from test_layers import PACKAGE, modules

#: Every provider any version of the kit has serialized into a state: (module, class).
STATE_NAMES = [
    # where every provider lives now (mtasts.resources.providers)
    ("mtasts.resources.providers.rollout", "PolicyRolloutProvider"),
    ("mtasts.resources.providers.guard", "RetirementGuardProvider"),
    ("mtasts.resources.providers.tenant_release", "TenantReleaseProvider"),
    ("mtasts.resources.providers.rule_set", "ActiveRuleSetGuardProvider"),
    ("mtasts.resources.providers.invalidation", "PolicyInvalidationProvider"),
    # their earlier homes, which older states name
    ("mtasts.resources.rollout", "PolicyRolloutProvider"),
    ("mtasts.resources.guard", "RetirementGuardProvider"),
    ("mtasts.resources.tenant_release", "TenantReleaseProvider"),
    ("mtasts.resources.shared", "TenantReleaseProvider"),  # its home until it moved to tenant_release
    ("mtasts.resources.reports", "ActiveRuleSetGuardProvider"),
    ("mtasts.resources.invalidation", "PolicyInvalidationProvider"),  # per-domain invalidations, before the rollout
]


@pytest.mark.parametrize(("module", "name"), STATE_NAMES, ids=[n for _, n in STATE_NAMES])
def test_a_provider_in_a_state_is_importable_by_its_name(module: str, name: str) -> None:
    """The name a state holds imports as a ResourceProvider and round-trips through Pulumi's serialization."""
    kind = getattr(importlib.import_module(module), name)
    assert issubclass(kind, ResourceProvider)
    serialized = base64.b64decode(serialize_provider(kind()))
    assert kind.__module__.encode() in serialized  # by reference: the state names the class's module
    assert type(dill.loads(serialized)) is kind  # noqa: S301 - bytes this test just serialized


def test_every_provider_of_the_kit_is_listed() -> None:
    """A provider class the kit defines is in STATE_NAMES, so a later move has to keep its old name."""
    defined = set()
    for module, path in modules(PACKAGE).items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name) and b.id == "ResourceProvider" for b in node.bases
            ):
                defined.add((module, node.name))
    assert defined <= set(STATE_NAMES), defined - set(STATE_NAMES)


def test_an_old_invalidation_is_deleted_by_forgetting_it() -> None:
    """The per-domain invalidation provider of older states deletes without any AWS call, and creates nothing."""
    from mtasts.resources.invalidation import PolicyInvalidationProvider

    provider = PolicyInvalidationProvider()
    assert provider.delete("I1", {"distributionId": "E1", "paths": ["/p"]}) is None
    with pytest.raises(Exception, match="must implement 'create'"):
        provider.create({})


def test_a_state_from_before_the_move_shows_no_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every provider's diff ignores ``__provider``: a state naming a provider's earlier home is not updated for it."""
    from mtasts.resources.providers import guard, rollout, rule_set, tenant_release

    monkeypatch.setattr(rule_set.ActiveRuleSetGuardProvider, "_check", lambda self, props: "")  # no AWS call
    props = {"targets": {}, "failures": {}, "domains": {}, "tenantId": "dt_1", "ruleSetName": "r", "region": "x"}
    kinds = [
        rollout.PolicyRolloutProvider,
        guard.RetirementGuardProvider,
        tenant_release.TenantReleaseProvider,
        rule_set.ActiveRuleSetGuardProvider,
    ]
    for kind in kinds:
        earlier = base64.b64encode(base64.b64decode(serialize_provider(kind())).replace(b"providers.", b"")).decode()
        olds = {**props, "__provider": earlier}
        news = {**props, "__provider": serialize_provider(kind())}
        assert olds["__provider"] != news["__provider"]
        assert not kind().diff("id", olds, news).changes, kind
