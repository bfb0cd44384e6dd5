"""Prometheus metrics of the bridge, served at ``/metrics`` with the official client library
(``prometheus_client``, text exposition format 0.0.4).

- ``sopgov_bridge_tool_calls_total{tool, outcome}``: tool calls answered, ``outcome`` ``ok`` or
  ``error`` (an error result, or an exception).
- ``sopgov_bridge_tool_call_duration_seconds{tool}``: how long each took inside the bridge
  (histogram; buckets from 0.5 ms to 2.5 s).
- ``sopgov_bridge_bundle_age_seconds``: seconds since the bundle served was fetched (a bundle
  that stops changing while the app publishes shows here; compare with the app's publications).
- ``sopgov_bridge_spooled_records``: tool-call and outcome records waiting on disk for the app.
- ``sopgov_bridge_refused_records_total``: records the app refused as invalid (set aside).
- ``sopgov_bridge_routing_cache_total{result}``: routed questions whose decision was cached
  (hit) or routed (miss);
- ``sopgov_bridge_question_cache_total{result}``: routed questions whose vector was cached
  (``hit``) or computed (``miss``), this process.
- ``sopgov_bridge_info{bundle_sha256, version}``: what is served, always 1.

With several uvicorn workers, counters and histograms are summed over the workers through
``prometheus_client``'s multiprocess mode: ``python -m mcp_bridge serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory in the cache before the workers start (the
library reads it at import). The gauges describe the shared bundle and spool, so the answering
worker reports them.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

# Counters and histograms live in this registry in a single process; in multiprocess mode the
# values are written to files in PROMETHEUS_MULTIPROC_DIR and collected from there at scrape time.
_registry = CollectorRegistry(auto_describe=True)
TOOL_CALLS = Counter(
    "sopgov_bridge_tool_calls", "Tool calls answered, by tool and outcome.", ["tool", "outcome"], registry=_registry
)
TOOL_CALL_SECONDS = Histogram(
    "sopgov_bridge_tool_call_duration_seconds",
    "Time to answer a tool call inside the bridge, by tool.",
    ["tool"],
    buckets=BUCKETS,
    registry=_registry,
)


def prepare_multiprocess_dir(cache_dir: Path) -> Path:
    """Create an empty ``<cache>/prometheus`` and export it as ``PROMETHEUS_MULTIPROC_DIR`` for
    the worker processes about to start; return it. Call before any worker imports this module."""
    directory = cache_dir / "prometheus"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory


def observe_call(tool: str, is_error: bool, seconds: float) -> None:
    """Count one tool call and its duration (seconds)."""
    TOOL_CALLS.labels(tool=tool, outcome="error" if is_error else "ok").inc()
    TOOL_CALL_SECONDS.labels(tool=tool).observe(seconds)


class _StateCollector(Collector):
    """Gauges read from the bridge's state at scrape time."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def collect(self) -> Iterator[Any]:
        state = self.state
        library = state.library
        fetched = state.bundle_changed_at
        age = GaugeMetricFamily("sopgov_bridge_bundle_age_seconds", "Seconds since the served bundle was fetched.")
        if fetched is not None:
            age.add_metric([], max(0.0, time.time() - fetched))
        yield age
        yield GaugeMetricFamily(
            "sopgov_bridge_spooled_records", "Records waiting on disk for the app.", value=state.calls.spooled()
        )
        yield CounterMetricFamily(
            "sopgov_bridge_refused_records",
            "Records the app refused as invalid (set aside, not sent again), this process.",
            value=state.calls.refused,
        )
        from .semantic import QUESTION_VECTORS

        cache = CounterMetricFamily(
            "sopgov_bridge_question_cache",
            "Routed questions whose vector was found in this process's cache (hit) or computed (miss).",
            labels=["result"],
        )
        cache.add_metric(["hit"], QUESTION_VECTORS.hits)
        cache.add_metric(["miss"], QUESTION_VECTORS.misses)
        yield cache
        from .routing import DecisionCache

        decisions = CounterMetricFamily(
            "sopgov_bridge_routing_cache",
            "Routed questions whose decision was found in this process's cache for the bundle served (hit) "
            "or routed (miss).",
            labels=["result"],
        )
        decisions.add_metric(["hit"], DecisionCache.hits)
        decisions.add_metric(["miss"], DecisionCache.misses)
        yield decisions
        from . import __version__

        info = InfoMetricFamily("sopgov_bridge", "What this bridge serves.")
        info.add_metric([], {"bundle_sha256": library.sha256 or "", "version": __version__})
        yield info


def render(state: Any) -> tuple[bytes, str]:
    """Return the exposition text of every metric and its content type, for ``/metrics``."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)
    else:
        for collector in (TOOL_CALLS, TOOL_CALL_SECONDS):
            registry.register(collector)
    registry.register(_StateCollector(state))
    return generate_latest(registry), CONTENT_TYPE_LATEST
