#!/usr/bin/env bash
# Run the sopgov demo on embedded defaults: SQLite, in-process Celery, demo data.
# Starts the web app and the MCP bridge, prints URLs, logins and an agent token, and runs
# until Ctrl-C. Called by `make demo`; WEB_PORT, BRIDGE_PORT and SOPGOV_DEMO_PASSWORD apply.
set -euo pipefail
cd "$(dirname "$0")/.."

WEB_PORT="${WEB_PORT:-8000}"
BRIDGE_PORT="${BRIDGE_PORT:-8001}"
PY=.venv/bin/python
mkdir -p .demo

export DJANGO_SETTINGS_MODULE=sopgov.settings.local
export DATABASE_URL="sqlite:///$PWD/.demo/sopgov.sqlite3"
export REDIS_URL=""
export CELERY_TASK_ALWAYS_EAGER=1
export SOPGOV_PUBLIC_URL="http://127.0.0.1:${WEB_PORT}"
export SOPGOV_MCP_URL="http://127.0.0.1:${BRIDGE_PORT}/mcp"
export SOPGOV_DEMO_PASSWORD="${SOPGOV_DEMO_PASSWORD:-demo}"

for port in "$WEB_PORT" "$BRIDGE_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "Port $port is already in use; set WEB_PORT / BRIDGE_PORT (e.g. make demo WEB_PORT=8100 BRIDGE_PORT=8101)." >&2
    exit 1
  fi
done

$PY manage.py migrate --no-input -v 0
$PY manage.py load_demo --tokens-file .demo/tokens.env
set -a; . .demo/tokens.env; set +a

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "Stopping the demo..."
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

$PY manage.py runserver "127.0.0.1:${WEB_PORT}" --noreload > .demo/web.log 2>&1 &
pids+=($!)
$PY manage.py rollout_ticker --every 5 > .demo/rollouts.log 2>&1 &
pids+=($!)
SOPGOV_APP_URL="http://127.0.0.1:${WEB_PORT}" SOPGOV_BRIDGE_PORT="$BRIDGE_PORT" \
  SOPGOV_BRIDGE_CACHE_DIR=.demo/bridge-cache $PY -m mcp_bridge serve > .demo/bridge.log 2>&1 &
pids+=($!)

for _ in $(seq 1 60); do
  if curl -sf "http://127.0.0.1:${WEB_PORT}/healthz" >/dev/null && \
     curl -sf "http://127.0.0.1:${BRIDGE_PORT}/healthz" | grep -q '"app_reachable":true'; then
    break
  fi
  sleep 0.5
done

cat <<TXT

  sopgov demo is running (logs in .demo/web.log and .demo/bridge.log)

  Web UI      http://127.0.0.1:${WEB_PORT}/admin/
  API docs    http://127.0.0.1:${WEB_PORT}/api/docs/
  MCP bridge  http://127.0.0.1:${BRIDGE_PORT}/mcp   (streamable HTTP, stateless)

  Logins (password: ${SOPGOV_DEMO_PASSWORD})
    author      drafts SOPs and submits them for review
    reviewer    approves or rejects (billing needs reviewer AND reviewer2)
    reviewer2   second reviewer
    release     publishes, rolls back, retires
    auditor     reads everything, changes nothing
    admin       manages categories, people and agent tokens

  Agent token (sop:read, sop:propose, sop:report):
    ${SOPGOV_AGENT_TOKEN}

  Try it (the seed's regression scenario, then one question):
    .venv/bin/python -m mcp_bridge.client http://127.0.0.1:${BRIDGE_PORT}/mcp --token ${SOPGOV_AGENT_TOKEN}
    .venv/bin/python -m mcp_bridge.client ask "I was charged twice" --url http://127.0.0.1:${BRIDGE_PORT}/mcp --token ${SOPGOV_AGENT_TOKEN}
  Client configurations (Claude Code, Claude Desktop, MCP Inspector, Python): issue a token in
  the admin under Agent tokens → Add.

  Staged rollouts: publishing a new version of a live SOP starts one (demo plan: 5 → 10 → 50 →
  100 %, a minute or two per stage, checked every 5 s). Feed it outcomes to watch it advance, or
  roll back by itself when the candidate draws complaints:
    .venv/bin/python manage.py simulate_outcomes billing/refund_policy --conversations 400 --candidate-complaint-rate 0.4

  Press Ctrl-C to stop.
TXT

wait -n "${pids[@]}"
echo "A demo process exited; see .demo/web.log and .demo/bridge.log." >&2
exit 1
