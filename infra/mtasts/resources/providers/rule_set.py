"""The provider of the guard of SES's single active receipt rule set: it never deactivates rules it does not own.

SES receives mail with one active rule set per account and region (SES API ``SetActiveReceiptRuleSet``); the
report endpoint's mail path (:mod:`mtasts.resources.reports`) activates the kit's only where no other is active,
or where the stack allows replacing it.
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from ..credentials import AwsSettings

__all__ = ["ActiveRuleSetError", "ActiveRuleSetGuardProvider", "check_active_rule_set"]


class ActiveRuleSetError(Exception):
    """Another receipt rule set is active in the account and region, and replacing it was not allowed."""


def check_active_rule_set(client: Any, ours: str, replace: bool, region: str) -> str:
    """The name of the active SES receipt rule set ("" for none); raises when it is another and ``replace`` is off.

    SES receives mail with one active rule set per account and region (SES API ``SetActiveReceiptRuleSet``):
    activating the kit's silently deactivates whatever rules receive mail there now.
    """
    active = client.describe_active_receipt_rule_set().get("Metadata") or {}
    name = str(active.get("Name") or "")
    if name and name != ours and not replace:
        raise ActiveRuleSetError(
            f"SES in {region} already has the active receipt rule set {name!r}, which is not the kit's ({ours!r}); "
            f"activating the kit's would stop {name!r} from receiving mail. Set "
            "mta-sts:reports.replace_active_rule_set to true to replace it, or drop mta-sts:reports.mailbox or deploy "
            "to another region"
        )
    return name


class ActiveRuleSetGuardProvider(ResourceProvider):
    """Reads the active rule set when created and at every diff (preview and up) and refuses a foreign one.

    The kit's ``ActiveReceiptRuleSet`` depends on this resource, so a refusal stops the deployment before it
    activates anything. Deleting it undoes nothing.
    """

    def _check(self, props: dict[str, Any]) -> str:
        from ..credentials import boto3_session  # the stack's aws:* credentials (mtasts.resources.credentials)

        session = boto3_session(AwsSettings.from_props(props.get("aws") or {}), props["region"])
        return check_active_rule_set(
            session.client("ses"), props["ruleSetName"], bool(props.get("replace")), props["region"]
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Check, and remember what was active."""
        previous = self._check(props)
        return CreateResult(id_=f"{props['region']}/{props['ruleSetName']}", outs={**props, "previous": previous})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Check again: someone may have activated another rule set since the last deployment."""
        self._check(news)
        keys = [k for k in ("ruleSetName", "region", "replace") if olds.get(k) != news.get(k)]  # not "aws": rotated
        return DiffResult(changes=bool(keys), replaces=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Check with the new settings."""
        return UpdateResult(outs={**news, "previous": self._check(news)})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to undo."""
