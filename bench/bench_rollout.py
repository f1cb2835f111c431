"""Benchmark the rollout step: a template change across N domains, against moto and a loopback HTTPS edge.

Two measurements from the same run, the kit's next to the design it replaced (one blocking invalidation per
domain, four at a time, as Pulumi's dynamic-provider host runs four workers):

1. **Real calls, real HTTPS** (wall clock): N distributions in moto, one rollout step
   (:func:`mtasts.resources.providers.rollout.run_rollout`) that starts N invalidations, polls them and then
   fetches every policy over HTTPS from a loopback server (SNI and Host = ``mta-sts.<domain>``, a trustme
   certificate) until the bytes hash to the new id. moto completes invalidations at once, so this measures the
   kit's own overhead: API calls, polling and N TLS fetches.
2. **CloudFront's timing, modelled** (simulated clock): each invalidation completes ``--invalidation-seconds``
   after it is created (CloudFront usually takes well under a minute; 60 s is used as a round, pessimistic
   figure). The rollout step is run against that model; the old design's time is ceil(N / 4) invalidations.

Repeated ``--repeat`` times; the median is reported. No network beyond 127.0.0.1; moto needs no credentials.

Run: .venv/bin/python bench/bench_rollout.py [--domains 1000] [--repeat 3] [--invalidation-seconds 60]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import boto3
from moto import mock_aws

from mtasts.policy import Policy, policy_id
from mtasts.resources.providers.rollout import RolloutTarget, run_rollout
from rollout_fixtures import FakeClock as SimClock
from rollout_fixtures import loopback_edge, moto_distribution


def body(i: int) -> bytes:
    """Domain ``i``'s new policy."""
    return Policy(mode="enforce", max_age=604800, mx=(f"mx2.d{i}.example.com",)).to_bytes()


class ModelledCloudFront:
    """Invalidations that complete ``seconds`` after creation on a simulated clock."""

    def __init__(self, clock: SimClock, seconds: float) -> None:
        self.clock, self.seconds = clock, seconds
        self.done_at: dict[str, float] = {}

    def create_invalidation(self, DistributionId: str, InvalidationBatch: Any) -> dict[str, Any]:
        """Start an invalidation that completes ``seconds`` from now."""
        iid = f"I{len(self.done_at)}"
        self.done_at[iid] = self.clock.now + self.seconds
        return {"Invalidation": {"Id": iid, "Status": "InProgress"}}

    def get_invalidation(self, DistributionId: str, Id: str) -> dict[str, Any]:
        """Completed once its time has come."""
        done = self.clock.now >= self.done_at[Id]
        return {"Invalidation": {"Id": Id, "Status": "Completed" if done else "InProgress"}}


def real_run(count: int, tmp: str) -> tuple[float, int]:
    """Wall seconds of one rollout over ``count`` moto distributions and the loopback edge; failures."""
    os.environ.update({"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"})
    with mock_aws():
        client = boto3.client("cloudfront")
        targets = []
        for i in range(count):
            dist = moto_distribution(client, f"d{i}")
            targets.append(RolloutTarget(f"d{i}.example.com", policy_id(body(i)), "distribution", dist, dist))
        with loopback_edge([f"mta-sts.d{i}.example.com" for i in range(count)], tmp) as edge:
            edge.bodies = {f"mta-sts.d{i}.example.com": body(i) for i in range(count)}
            start = time.perf_counter()
            result = run_rollout(client, targets, {}, fetch=edge.fetch, poll=0.05)
            return time.perf_counter() - start, len(result.failures)


def modelled_run(count: int, seconds: float) -> float:
    """Simulated seconds of one rollout when each invalidation takes ``seconds`` (verification is instant)."""
    clock = SimClock()
    targets = [
        RolloutTarget(f"d{i}.example.com", policy_id(body(i)), "distribution", f"E{i}", f"E{i}") for i in range(count)
    ]
    run_rollout(
        ModelledCloudFront(clock, seconds),
        targets,
        {},
        fetch=lambda host: body(int(host.split(".")[1][1:])),
        timeout=10 * seconds,
        poll=5.0,
        sleep=clock.sleep,
        clock=clock,
    )
    return clock.now


def main() -> None:
    """Print the kit's rollout time next to the per-domain design's, median of runs."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domains", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--invalidation-seconds", type=float, default=60.0)
    args = parser.parse_args()
    n, seconds = args.domains, args.invalidation_seconds
    with tempfile.TemporaryDirectory() as tmp:
        runs = [real_run(n, tmp) for _ in range(args.repeat)]
    walls = sorted(r[0] for r in runs)
    print(
        f"{n} domains, moto + loopback HTTPS: rollout step median {statistics.median(walls):.1f} s "
        f"(runs {', '.join(f'{w:.1f}' for w in walls)}), failures {max(r[1] for r in runs)}"
    )
    kit = statistics.median(modelled_run(n, seconds) for _ in range(args.repeat))
    old = math.ceil(n / 4) * math.ceil(seconds / 5.0) * 5.0
    print(
        f"{n} domains, each invalidation {seconds:.0f} s: kit {kit:.0f} s (one invalidation + one poll); "
        f"one blocking invalidation per domain, 4 workers: {old:.0f} s ({old / 3600:.1f} h)"
    )
    print(f"expected on AWS: about {seconds:.0f} s of invalidation plus the verification measured above")


if __name__ == "__main__":
    main()
