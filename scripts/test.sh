#!/usr/bin/env bash
# The test command (`npm test`): sets up everything a fresh machine needs, then runs every test.
# With CI=true, Docker tests must run: a missing Docker engine is installed and started, or the run fails.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
if bash scripts/ensure-docker.sh; then
  export NEL_TEST_DOCKER=1
elif [ "${CI:-}" = "true" ]; then
  echo "test: CI=true but no Docker engine could be started" >&2
  exit 1
else
  echo "test: Docker is not available; Docker tests will be skipped" >&2
  export NEL_TEST_DOCKER=0
fi
npm run build
npm run lint
if [ "$NEL_TEST_DOCKER" = 1 ]; then
  node dist/src/bin/nel.js build-image
fi
mapfile -t files < <(find dist/src dist/test dist/bench -name "*.test.js" | sort)
node --test --test-concurrency="${NEL_TEST_CONCURRENCY:-2}" "${files[@]}"
