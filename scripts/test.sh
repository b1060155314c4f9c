#!/usr/bin/env bash
# The test command (`npm test`): sets up everything a fresh machine needs, then runs every test.
# With CI=true, Docker tests must run: a missing Docker engine is installed and started, or the run fails;
# so must the browser tests (Chromium is installed when missing).
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
# The report tests drive Debian's headless Chromium (never a downloaded browser): installed here like
# Docker. With CI=true it must be there; otherwise the browser tests are skipped without it.
if bash scripts/ensure-chromium.sh; then
  export NEL_TEST_BROWSER=1
elif [ "${CI:-}" = "true" ]; then
  echo "test: CI=true but Chromium could not be installed (scripts/ensure-chromium.sh)" >&2
  exit 1
else
  echo "test: Chromium is not available; browser tests will be skipped" >&2
  export NEL_TEST_BROWSER=0
fi
# Slurm tests use the project's own cluster (scripts/slurm-cluster.sh): started here like Docker,
# stopped again at the end if it was not running before. With CI=true it must start.
slurm_was_running=0
if bash scripts/slurm-cluster.sh status >/dev/null 2>&1; then slurm_was_running=1; fi
if slurm_env=$(bash scripts/slurm-cluster.sh up); then
  eval "$slurm_env"
  export NEL_TEST_SLURM=1
  if [ "$slurm_was_running" = 0 ]; then trap 'bash scripts/slurm-cluster.sh down >/dev/null 2>&1 || true' EXIT; fi
elif [ "${CI:-}" = "true" ]; then
  echo "test: CI=true but the Slurm cluster could not be started (scripts/slurm-cluster.sh up)" >&2
  exit 1
else
  echo "test: the Slurm cluster could not be started; Slurm tests will be skipped" >&2
  export NEL_TEST_SLURM=0
fi
npm run build
npm run lint
if [ "$NEL_TEST_DOCKER" = 1 ]; then
  node dist/src/bin/nel.js build-image
fi
mapfile -t files < <(find dist/src dist/test dist/bench -name "*.test.js" | sort)
node --test --test-concurrency="${NEL_TEST_CONCURRENCY:-2}" "${files[@]}"
