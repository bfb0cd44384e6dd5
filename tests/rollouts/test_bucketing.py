"""Sticky bucketing: shares per stage, monotonic and sticky, uncorrelated across SOPs, and the
bridge and the app agree."""

from __future__ import annotations

import random
import statistics
import uuid

from mcp_bridge.bucketing import bucket, gets_canary

N = 100_000


def routing_keys(seed: int, n: int = N) -> list[str]:
    rng = random.Random(seed)
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(n)]


def test_share_per_stage__100k_keys__within_half_a_point() -> None:
    keys = routing_keys(1)
    buckets = [bucket("salt-a", k) for k in keys]
    for percentage in (5, 10, 50, 100):
        share = 100 * sum(b <= percentage for b in buckets) / N
        assert abs(share - percentage) <= 0.5, (percentage, share)
    assert min(buckets) == 1 and max(buckets) == 100


def test_raising_percentage__never_moves_back_to_stable() -> None:
    keys = routing_keys(2, 20_000)
    previous: set[str] = set()
    for percentage in (5, 10, 50, 100):
        in_canary = {k for k in keys if gets_canary("salt-a", k, percentage)[0]}
        assert previous <= in_canary
        previous = in_canary
    assert previous == set(keys)


def test_same_key__same_bucket_every_time() -> None:
    for key in routing_keys(3, 1000):
        assert len({bucket("salt-a", key) for _ in range(3)}) == 1
    assert gets_canary("s", "k", 0) == (False, bucket("s", "k"))


def test_different_sops__assignments_uncorrelated() -> None:
    keys = routing_keys(4)
    a = [bucket("salt-of-sop-a", k) for k in keys]
    b = [bucket("salt-of-sop-b", k) for k in keys]
    assert abs(statistics.correlation(a, b)) < 0.01
    both = sum(x <= 10 and y <= 10 for x, y in zip(a, b, strict=True)) / N
    assert abs(both - 0.01) < 0.002  # independent: 10 % of 10 %
