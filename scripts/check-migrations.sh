#!/usr/bin/env bash
# Fails when drizzle/ is out of step with src/stores/d1/schema.ts: drizzle-kit's own consistency
# check, then a generate that must find nothing to migrate (whatever it writes is removed again).
set -euo pipefail
cd "$(dirname "$0")/.."
npx drizzle-kit check
untracked() { git ls-files --others --exclude-standard drizzle | sort; }
before_untracked=$(untracked)
before_status=$(git status --porcelain --untracked-files=all drizzle)
npx drizzle-kit generate --name schema_drift_check >/dev/null
after_status=$(git status --porcelain --untracked-files=all drizzle)
if [ "$before_status" != "$after_status" ]; then
  comm -13 <(echo "$before_untracked") <(untracked) | xargs -r rm -f
  git checkout -- drizzle/meta/_journal.json
  echo "check-migrations: src/stores/d1/schema.ts has changes without a migration: run npm run db:generate and commit drizzle/" >&2
  exit 1
fi
echo "check-migrations: drizzle/ matches the schema"
