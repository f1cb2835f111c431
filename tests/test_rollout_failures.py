"""What a failed rollout step does to the TXT records: nothing for that domain, the others go on (RFC 8461 §8.1)."""

from __future__ import annotations

import pytest

from mtasts.errors import RecordError
from pulumi_mocks import Mocks, build


def test_failed_rollout_leaves_only_that_domains_txt_record_untouched() -> None:
    """A domain whose rollout fails keeps its old TXT id while the others publish theirs (RFC 8461 §8.1).

    The rollout step reports per domain the id verified live; the failed domain's is its previous one.
    """
    domains = {
        f"d{i}.example.com": {"mode": "enforce", "max_age": 86400, "mx": [f"mx.d{i}.example.com"]} for i in range(3)
    }
    before = build({"domains": domains})
    old = {d: before.mocks.inputs[f"{d}-sts-txt"]["records"] for d in domains}
    changed = {d: {**s, "mx": [f"mx2.{d}"]} for d, s in domains.items()}
    failing = Mocks()
    failing.rollout_failures = {"d1.example.com": before.plan.get("d1.example.com").policy_id}
    after = build({"domains": changed}, mocks=failing)
    assert (
        after.mocks.inputs["d1.example.com-policy"]["content"]
        != before.mocks.inputs["d1.example.com-policy"]["content"]
    )
    assert after.mocks.inputs["d1.example.com-sts-txt"]["records"] == old["d1.example.com"]
    for d in ("d0.example.com", "d2.example.com"):
        assert after.mocks.inputs[f"{d}-sts-txt"]["records"] == [after.plan.get(d).sts_record.value]
        assert after.mocks.inputs[f"{d}-sts-txt"]["records"] != old[d]


def test_a_new_domain_whose_rollout_fails_announces_no_policy() -> None:
    """A new domain whose policy was not verified live gets a _mta-sts value senders discard: no policy yet."""
    from mtasts.records import select_record

    failing = Mocks()
    failing.rollout_failures = {"d1.example.com": None}  # new: no id was ever verified for it
    run = build(
        {
            "domains": {
                f"d{i}.example.com": {"mx": [f"mx.d{i}.example.com"], "rua": ["mailto:t@example.com"]} for i in range(2)
            }
        },
        mocks=failing,
    )
    (held,) = run.mocks.inputs["d1.example.com-sts-txt"]["records"]
    assert not held.startswith("v=STSv1")
    with pytest.raises(RecordError, match="no TXT record begins with"):
        select_record([held], "v=STSv1")  # RFC 8461 §3.1: discarded, so senders see no policy
    assert run.mocks.inputs["d0.example.com-sts-txt"]["records"] == [run.plan.get("d0.example.com").sts_record.value]
