"""The audit trail's hash chain: how an event is hashed and linked to the one before it.

Each sealed event carries ``seq`` (its position, 1, 2, 3 … without gaps), ``prev_hash`` (the
previous event's ``hash``; 64 zeros for the first) and ``hash``, the hex sha256 of the event's
canonical content:

    sha256( JSON of {format, seq, prev_hash, id, created_at, actor_id, actor_label, action,
                     target_type, target_id, target_label, sop_slug, category, before, after,
                     reason, request_id, data} )

JSON with sorted keys, no insignificant whitespace, UTF-8 (the encoding ``mcp_bridge``
uses for bundles, which coincides with RFC 8785 for the strings, integers, lists and objects
audit events hold); ``created_at`` in ISO 8601 with microseconds and offset. Changing any field
of an event changes its hash; removing or reordering events breaks the ``prev_hash`` links or
the gap-free ``seq``; removing events from the end is caught against the chain head
(``AuditChainHead``), which records the last ``seq`` and ``hash``. The construction is the
classic linked timestamping chain (Haber & Stornetta, "How to time-stamp a digital document",
1991), as used by append-only logs.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

CHAIN_FORMAT = "sopgov.audit/1"
GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "id",
    "created_at",
    "actor_id",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "sop_slug",
    "category",
    "before",
    "after",
    "reason",
    "request_id",
    "data",
)
"""The event fields the hash covers, in the order ``values_list`` returns them."""


def canonical_event(fields: dict[str, Any], seq: int, prev_hash: str) -> bytes:
    """Return the canonical bytes of an event (``fields`` keyed by ``HASHED_FIELDS``)."""
    body = {name: fields[name] for name in HASHED_FIELDS}
    created = body["created_at"]
    body["created_at"] = created.isoformat(timespec="microseconds") if isinstance(created, datetime) else created
    body.update(format=CHAIN_FORMAT, seq=seq, prev_hash=prev_hash)
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def event_hash(fields: dict[str, Any], seq: int, prev_hash: str) -> str:
    """Return the hex sha256 that seals an event at position ``seq`` after ``prev_hash``."""
    return hashlib.sha256(canonical_event(fields, seq, prev_hash)).hexdigest()
