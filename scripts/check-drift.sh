#!/usr/bin/env bash
# Fails when the committed schema or generated client differ from what the sources produce.
set -euo pipefail
cd "$(dirname "$0")/.."
node --disable-warning=ExperimentalWarning src/bin/tollgate.ts print-schema --out schema/schema.graphql
npx graphql-codegen --config codegen.ts --silent
if ! git diff --quiet -- schema client/src/generated || [ -n "$(git ls-files --others --exclude-standard -- schema client/src/generated)" ]; then
  echo "drift: schema/schema.graphql or client/src/generated differ from the sources." >&2
  echo "Run 'npm run schema:print && npm run codegen' and commit the result:" >&2
  git --no-pager diff --stat -- schema client/src/generated >&2
  git ls-files --others --exclude-standard -- schema client/src/generated >&2
  exit 1
fi
echo "drift: schema and generated client are up to date"
