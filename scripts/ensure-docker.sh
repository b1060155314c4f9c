#!/usr/bin/env bash
# Make sure a Docker engine answers: install docker.io with apt-get and start dockerd when needed
# (machines without systemd, as in CI). Idempotent. Exit 0 when `docker info` works afterwards.
set -euo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-docker: docker is not reachable and this user cannot install or start it" >&2
  exit 1
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "ensure-docker: installing docker.io with apt-get ..." >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
if [ -z "$(ls -A /sys/fs/cgroup 2>/dev/null)" ] && command -v cgroupfs-mount >/dev/null; then cgroupfs-mount; fi
echo "ensure-docker: starting dockerd ..." >&2
setsid nohup dockerd >/tmp/nel-dockerd.log 2>&1 </dev/null &
for _ in $(seq 1 600); do
  if docker info >/dev/null 2>&1; then exit 0; fi
  sleep 0.1
done
echo "ensure-docker: dockerd did not come up within 60 s; last lines of /tmp/nel-dockerd.log:" >&2
tail -n 20 /tmp/nel-dockerd.log >&2 || true
exit 1
