"""Real bridges report what they serve; the app sees each one's bundle and tool descriptions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apps.publishing.models import BridgeHeartbeat
from apps.publishing.selectors import bridge_statuses, current_bundle_sha256
from mcp_bridge.manifest import expected_tools_sha256
from tests.bridge.harness import running_bridge, wait_until
from tests.conftest import publish_new_version

pytestmark = [pytest.mark.bridge, pytest.mark.django_db(transaction=True)]


def test_bridge_heartbeat__reports_bundle_and_tools__no_drift_then_follows_a_publish(
    live_server: Any, library: dict[str, str], cache_dir: Path, people: dict[str, Any]
) -> None:
    env = {"SOPGOV_BRIDGE_HEARTBEAT_SECONDS": "0.3", "SOPGOV_BRIDGE_ID": "e2e-bridge"}
    with running_bridge(live_server.url, library["bridge"], cache_dir, extra_env=env):
        first = current_bundle_sha256()
        beat = wait_until(
            lambda: BridgeHeartbeat.objects.filter(bridge_id="e2e-bridge", bundle_sha256=first).first(),
            timeout=10,
            message="the bridge's first heartbeat",
        )
        assert beat.tools_sha256 == expected_tools_sha256()  # the running bridge describes its tools as approved
        [status] = bridge_statuses()
        assert (status.online, status.bundle_drift, status.tools_drift) == (True, False, False)

        publish_new_version("warranty_information", people, "## Warranty v2\n1. New.")
        second = current_bundle_sha256()
        assert second != first
        wait_until(
            lambda: BridgeHeartbeat.objects.filter(bridge_id="e2e-bridge", bundle_sha256=second).exists(),
            timeout=10,
            message="the heartbeat to report the new bundle",
        )
        assert not bridge_statuses()[0].drift
