"""Sticky assignment of conversations to an SOP's stable or canary version.

A conversation's *bucket* for an SOP is ``murmur3_x86_32("<salt>:<routing key>", seed 0) % 100
+ 1``, a number in 1..100; the conversation gets the canary when ``bucket <= percentage``.
This is Unleash's ``normalizedValue`` (unleash-client ``strategy/util``: MurmurHash3 x86 32-bit
of ``"<groupId>:<userId>"`` modulo 100, plus one), with the SOP's own random salt as the group:

* deterministic — every bridge, and the app, compute the same bucket without sharing state, so
  a conversation keeps its version for its whole life and an outcome reported without a version
  can be attributed to the version that conversation was served;
* monotonic — raising the percentage only adds buckets, so nobody moves back to stable;
* uncorrelated across SOPs — a different salt per SOP, so the same 10 % of conversations are not
  the guinea pigs of every rollout;
* cheap and well distributed — MurmurHash3 is a fast non-cryptographic hash with good avalanche
  (``mmh3``, a C extension; ≈ 0.3 µs per call). Nothing here needs to resist an adversary: a
  caller choosing its routing key can only choose which approved version it reads.
"""

from __future__ import annotations

import mmh3


def bucket(salt: str, routing_key: str) -> int:
    """Return the bucket (1..100) of ``routing_key`` for the SOP with ``salt``."""
    return mmh3.hash(f"{salt}:{routing_key}", 0, signed=False) % 100 + 1


def gets_canary(salt: str, routing_key: str, percentage: int) -> tuple[bool, int]:
    """Return ``(whether the conversation gets the canary, its bucket)`` at ``percentage`` (0..100)."""
    b = bucket(salt, routing_key)
    return b <= percentage, b
