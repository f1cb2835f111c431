"""CrossGuard entry point: `pulumi preview --policy-pack policy_pack` (see docs/deploy.md)."""

from mtasts_policies import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(name="mtasts-guardrails", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
