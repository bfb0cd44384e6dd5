"""Telemetry: one record per MCP tool call, and the outcomes agents report, shipped to the app
in batches.

Records are buffered in memory and sent every ``flush_seconds``. Each is also appended to this
process's journal (``<cache>/calls.journal-<pid>.jsonl``) before the tool's reply leaves, so a
killed bridge (SIGKILL, OOM) loses none: the next bridge to start on the cache directory spools
the journals of processes that are gone. The journal is written, not fsynced: it survives the
process, not a power cut. When the app is unreachable records are appended to
``<cache>/calls.jsonl`` and sent once it answers again, oldest first, so an outage loses no record
(up to ``MAX_SPOOL_BYTES``, about 500,000 records, beyond which the oldest are dropped and the
loss is logged). The app stores each ``call_id`` once, so a re-sent batch is harmless.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .app_client import AppClient, AppUnavailable, TelemetryRefused

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
MAX_BUFFER_RECORDS = 200_000
MAX_SPOOL_BYTES = 256 * 1024 * 1024
MAX_LOGGED_QUESTION_CHARS = 2000


def arguments_digest(arguments: Any) -> str:
    """Return the sha256 of the arguments' canonical JSON (sorted keys, no spaces, UTF-8)."""
    raw = json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def make_record(
    *,
    tool: str,
    arguments: Any,
    caller: Any,
    bundle_sha256: str,
    latency_ms: float,
    served: Any = None,
    is_error: bool = False,
    error: str = "",
    routing_key: str = "",
    bucket: int | None = None,
) -> dict[str, Any]:
    """Return one tool-call record in the shape ``POST /api/v1/bridge/telemetry/`` takes.

    Arguments are kept only as a sha256, except the question of ``get_sop_for_question``
    (at most ``MAX_LOGGED_QUESTION_CHARS``): reviewers turn real questions into routing tests.
    NUL characters in the texts kept become U+FFFD: the app's database cannot store them.
    """
    question = arguments.get("question") if tool == "get_sop_for_question" and isinstance(arguments, dict) else None
    return {
        "kind": "call",
        "call_id": str(uuid.uuid4()),
        "called_at": datetime.now(UTC).isoformat(),
        "tool": tool,
        "token_id": getattr(caller, "token_id", None),
        "agent_name": getattr(caller, "name", ""),
        "routing_key": _storable(routing_key),
        "arguments_sha256": arguments_digest(arguments),
        "sop_slug": served.slug if served is not None else "",
        "version": served.version if served is not None else None,
        "content_sha256": served.content_sha256 if served is not None else "",
        "bundle_sha256": bundle_sha256,
        "latency_ms": round(latency_ms, 3),
        "is_error": is_error,
        "error": error[:500],
        "bucket": bucket,
        "variant": getattr(served, "variant", "") if served is not None else "",
        "question": _storable(question[:MAX_LOGGED_QUESTION_CHARS]) if isinstance(question, str) else "",
    }


def _storable(text: str) -> str:
    return text.replace("\x00", "\ufffd")


def make_outcome(
    *, category: str, sop_key: str, version: int, routing_key: str, outcome: str, reporter: str
) -> dict[str, Any]:
    """Return one outcome record (``report_sop_outcome``) for the telemetry batch."""
    return {
        "kind": "outcome",
        "outcome_id": str(uuid.uuid4()),
        "recorded_at": datetime.now(UTC).isoformat(),
        "category": category,
        "sop_key": sop_key,
        "version": version,
        "routing_key": routing_key,
        "outcome": outcome,
        "reporter": reporter,
    }


class CallLog:
    """Buffer of tool-call records with a disk spool for app outages.

    Several bridge worker processes may share the cache directory, so every spool operation
    holds an exclusive ``flock`` on ``<spool>.lock``.
    """

    def __init__(self, spool_path: Path) -> None:
        self.buffer: deque[dict[str, Any]] = deque(maxlen=MAX_BUFFER_RECORDS)
        self.spool_path = spool_path
        self.refused_path = spool_path.with_suffix(".refused.jsonl")
        self.journal_path = spool_path.with_name(f"{spool_path.stem}.journal-{os.getpid()}.jsonl")
        self._journal_fd: int | None = None
        self.sent = 0
        self.refused = 0
        self._spool_count: tuple[tuple[int, int, int], int] | None = None
        self.last_error = ""

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.spool_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.spool_path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def add(self, record: dict[str, Any]) -> None:
        """Queue one record and append it to the journal (called on the request path, before the
        reply: one ``write`` of a line, no fsync)."""
        self.buffer.append(record)
        try:
            if self._journal_fd is None:
                self.journal_path.parent.mkdir(parents=True, exist_ok=True)
                self._journal_fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.write(self._journal_fd, (json.dumps(record) + "\n").encode("utf-8"))
        except OSError as exc:  # a full disk must not stop serving; the record is still buffered
            logger.warning("tool-call journal not written (%s)", exc)

    def _detach_journal(self) -> Path | None:
        """Rename the journal of the records about to be drained (no ``await`` between this and
        the drain, so it holds exactly them) and start a new one; return the renamed file."""
        if self._journal_fd is None:
            return None
        os.close(self._journal_fd)
        self._journal_fd = None
        detached = self.journal_path.with_suffix(".sending")
        try:
            os.replace(self.journal_path, detached)
        except OSError:
            return None
        return detached

    def recover_journals(self) -> int:
        """Spool the records of journals left by processes that are gone (killed before they
        shipped them); return how many. Call at start-up."""
        recovered = 0
        for path in sorted(self.spool_path.parent.glob(f"{self.spool_path.stem}.journal-*")):
            pid = path.name.rsplit("-", 1)[1].split(".", 1)[0]
            if not pid.isdigit() or (int(pid) != os.getpid() and _alive(int(pid))):
                continue
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except OSError:
                continue
            records = []
            for line in lines:
                try:
                    records.append(json.loads(line))
                except ValueError:  # the last line of a killed writer may be cut short
                    continue
            self._spool(records)
            path.unlink(missing_ok=True)
            recovered += len(records)
        if recovered:
            logger.warning("recovered %d tool-call records from a bridge that stopped before sending them", recovered)
        return recovered

    def _spool(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        with self._locked():
            with self.spool_path.open("a", encoding="utf-8") as fh:
                for record in records:
                    fh.write(json.dumps(record) + "\n")
            self._trim_spool()

    def _trim_spool(self) -> None:
        if self.spool_path.stat().st_size <= MAX_SPOOL_BYTES:
            return
        lines = self.spool_path.read_text(encoding="utf-8").splitlines()
        keep = lines[len(lines) // 4 :]
        self.spool_path.write_text("\n".join(keep) + "\n", encoding="utf-8")
        logger.error("tool-call spool full: dropped the %d oldest records", len(lines) - len(keep))

    def spooled(self) -> int:
        """Return how many records wait on disk. The file is read only when its size or
        modification time changed since the last count (``/healthz`` asks on every probe)."""
        try:
            stat = self.spool_path.stat()
        except FileNotFoundError:
            return 0
        signature = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
        if self._spool_count is None or self._spool_count[0] != signature:
            with self.spool_path.open(encoding="utf-8") as fh:
                self._spool_count = (signature, sum(1 for line in fh if line.strip()))
        return self._spool_count[1]

    def _take_spool(self) -> list[dict[str, Any]]:
        """Remove and return every spooled record."""
        with self._locked():
            if not self.spool_path.exists():
                return []
            lines = self.spool_path.read_text(encoding="utf-8").splitlines()
            self.spool_path.unlink()
        return [json.loads(line) for line in lines if line.strip()]

    async def flush(self, client: AppClient, bridge_id: str) -> int:
        """Send spooled records, then buffered ones; return how many were delivered.

        When the app cannot be reached the undelivered records go (back) to the spool; nothing is
        dropped. A batch the app refuses as invalid (``TelemetryRefused``) would be refused again:
        it is appended to ``<spool>.refused.jsonl`` for the operator, counted in ``refused``, and
        not sent again, so it cannot block the records after it.
        """
        journal = self._detach_journal()
        pending = self._take_spool()
        pending.extend(self._drain())
        done = delivered = 0  # records dealt with (delivered or set aside), and delivered
        try:
            for start in range(0, len(pending), BATCH_SIZE):
                batch = pending[start : start + BATCH_SIZE]
                try:
                    await client.post_telemetry(bridge_id, batch)
                    delivered += len(batch)
                except TelemetryRefused as exc:
                    self._set_aside(batch, str(exc))
                done += len(batch)
            if delivered == len(pending):
                self.last_error = ""
        except AppUnavailable as exc:
            self._spool(pending[done:])
            self.last_error = str(exc)
            logger.warning("tool-call log not delivered (%s); %d records spooled", exc, len(pending) - done)
        except BaseException:
            # Cancelled (shutdown) or failed unexpectedly mid-batch: keep what was not confirmed.
            self._spool(pending[done:])
            raise
        finally:
            self.sent += delivered
            if journal is not None:  # its records are delivered, set aside or spooled by now
                journal.unlink(missing_ok=True)
        return delivered

    def _set_aside(self, batch: list[dict[str, Any]], reason: str) -> None:
        with self._locked(), self.refused_path.open("a", encoding="utf-8") as fh:
            for record in batch:
                fh.write(json.dumps(record) + "\n")
        self.refused += len(batch)
        self.last_error = f"telemetry refused: {reason}"
        logger.error(
            "the app refused %d telemetry records as invalid (%s); set aside in %s, not sent again",
            len(batch),
            reason,
            self.refused_path,
        )

    def drain(self) -> list[dict[str, Any]]:
        """Remove and return every buffered record (for bridges that log instead of shipping);
        the caller writes them out at once, so their journal is dropped."""
        journal = self._detach_journal()
        records = self._drain()
        if journal is not None:
            journal.unlink(missing_ok=True)
        return records

    def _drain(self, limit: int | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while self.buffer and (limit is None or len(out) < limit):
            out.append(self.buffer.popleft())
        return out

    def spool_now(self) -> None:
        """Write whatever is buffered to the spool (on shutdown), and drop the journal."""
        journal = self._detach_journal()
        records = self._drain()
        if records:
            self._spool(records)
        if journal is not None:
            journal.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    """Return whether process ``pid`` exists (signal 0 checks without sending)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
