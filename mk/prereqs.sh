#!/usr/bin/env bash
# The first seconds of `make test` and `make demo`: check what cannot be
# installed from here, and say the exact fix, before any long build starts.
# What can be installed (Debian packages, the pinned tools) the make targets
# after this one install, idempotently.
set -uo pipefail
fail=0
need() { echo "prereqs: $1" >&2; fail=1; }

if ! command -v go >/dev/null; then
  need "go is missing: install Go 1.26 (https://go.dev/dl) and put it on PATH"
else
  v=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
  major=${v%%.*}; rest=${v#*.}; minor=${rest%%.*}
  if [ "${major:-0}" -lt 1 ] || { [ "$major" -eq 1 ] && [ "${minor:-0}" -lt 26 ]; }; then
    need "go $v is too old: Go 1.26 or newer is needed"
  fi
fi
if ! command -v docker >/dev/null; then
  need "docker is missing: install Docker Engine (apt-get install docker.io) and start it"
elif ! timeout 20 docker info >/dev/null 2>&1; then
  need "the Docker engine does not answer 'docker info': start it (systemctl start docker) or run as a user in the docker group"
fi
missing=$(for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || printf '%s ' "$p"; done)
if [ -n "$missing" ] && [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
  need "Debian packages missing: $missing— run: sudo apt-get install -y $missing"
fi
free=$(df -Pk "${TMPDIR:-/tmp}" | awk 'NR==2 {print int($4/1024/1024)}')
if [ "${free:-0}" -lt 4 ]; then
  need "only ${free} GiB free under ${TMPDIR:-/tmp}: the sandbox needs about 4 GiB"
fi
[ "$fail" -eq 0 ] || exit 1
[ -z "$missing" ] || echo "prereqs: will install Debian packages: $missing"
echo "prereqs: go, docker, disk ok"
