#!/usr/bin/env bash
# Runs the post-deploy smoke test (scripts/smoke.mjs) against a throw-away local `wrangler dev`:
# its own persistence directory with the migrations applied, its own freshly generated signing
# key, ISSUER/AUDIENCE pointing at it. Usage: npm run smoke:local   (SMOKE_PORT overrides 8797)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
# Wrangler needs Node 22: use the project's own node (devDependency) even when called directly.
export PATH="$ROOT/node_modules/.bin:$PATH"
export WRANGLER_SEND_METRICS=false CI=true

PORT="${SMOKE_PORT:-8797}"
INSPECTOR_PORT="${SMOKE_INSPECTOR_PORT:-$((PORT + 10000))}"
BASE="http://localhost:$PORT"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/smoke-local.XXXXXX")"
WRANGLER_PGID=""

cleanup() {
  local status=$?
  if [[ -n "$WRANGLER_PGID" ]] && kill -0 -- "-$WRANGLER_PGID" 2>/dev/null; then
    # wrangler dev ignores SIGTERM; SIGINT to its whole process group stops it and workerd.
    kill -INT -- "-$WRANGLER_PGID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 -- "-$WRANGLER_PGID" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 -- "-$WRANGLER_PGID" 2>/dev/null; then
      echo "smoke-local: wrangler did not stop on SIGINT, sending SIGKILL to its group" >&2
      kill -KILL -- "-$WRANGLER_PGID" 2>/dev/null || true
    fi
  fi
  if [[ $status -ne 0 && -f "$WORK/wrangler.log" ]]; then
    echo "--- last lines of the wrangler dev log ---" >&2
    tail -n 40 "$WORK/wrangler.log" >&2 || true
  fi
  rm -rf "$WORK"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if (echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  echo "smoke-local: port $PORT is already in use; set SMOKE_PORT to another port" >&2
  exit 1
fi

# Keys of its own, in a secrets file of its own (never the developer's .dev.vars).
(umask 077 && node --input-type=module -e '
  import { generateRefreshTokenKey, generateSigningKey } from "./scripts/generate-key.mjs";
  const { privateJwk } = generateSigningKey();
  process.stdout.write(`SIGNING_KEY=\x27${JSON.stringify(privateJwk)}\x27\nREFRESH_TOKEN_KEY=\x27${generateRefreshTokenKey()}\x27\n`);
' > "$WORK/secrets.env")

echo "smoke-local: applying migrations to $WORK/state"
wrangler d1 migrations apply DB --local --persist-to "$WORK/state" > "$WORK/migrations.log" 2>&1 || {
  cat "$WORK/migrations.log" >&2
  exit 1
}

echo "smoke-local: starting wrangler dev on $BASE (inspector port $INSPECTOR_PORT)"
set -m # the background job gets a process group of its own: PGID = its PID
wrangler dev \
  --port "$PORT" --ip 127.0.0.1 --inspector-port "$INSPECTOR_PORT" \
  --persist-to "$WORK/state" --env-file "$WORK/secrets.env" \
  --var "ISSUER:$BASE" --var "AUDIENCE:$BASE" \
  --show-interactive-dev-session=false > "$WORK/wrangler.log" 2>&1 < /dev/null &
WRANGLER_PGID=$!
set +m

ready=""
for _ in $(seq 1 120); do
  if ! kill -0 "$WRANGLER_PGID" 2>/dev/null; then
    echo "smoke-local: wrangler dev exited before it was ready" >&2
    exit 1
  fi
  if node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$BASE/health" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.5
done
if [[ -z "$ready" ]]; then
  echo "smoke-local: wrangler dev did not answer $BASE/health within 60 s" >&2
  exit 1
fi

node scripts/smoke.mjs "$BASE"
