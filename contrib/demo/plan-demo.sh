#!/usr/bin/env bash
# The decision half of twenty-upgraded, with no Docker needed: against the
# bundled release feed (real Twenty tags, approximate dates), which path would
# an install on an old version take, and what is held back and why?
set -euo pipefail
bin=${BIN:-bin/twenty-upgraded}
root=$(cd "$(dirname "$0")/../.." && pwd)
demo=$(mktemp -d /tmp/twenty-upgraded-plan-demo.XXXXXX)
trap 'rm -rf "$demo"' EXIT

mkdir -p "$demo/twenty" "$demo/state"
printf '# Twenty install (demo)\nTAG=v1.19.0\nAPP_SECRET=demo-not-secret\n' > "$demo/twenty/.env"
# A release that failed on this server before is never retried automatically.
printf 'v2.3.0 health gate failed: appVersion v2.2.1, want v2.3.0\n' > "$demo/state/bad-versions"
cat > "$demo/config.toml" <<TOML
[install]
dir = "$demo/twenty"
[release]
source = "file"
file = "$root/contrib/demo/releases.txt"
track = "minor"
min_age = "72h"
skip = ["v1.21.1"]
constraint = "<v3.0.0"
[window]
schedule = "CRON_TZ=Europe/Paris 0 3 * * 0"
duration = "3h"
[backup]
dir = "$demo/backups"
[daemon]
state_dir = "$demo/state"
TOML

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say "config (validate)"
"$bin" --config "$demo/config.toml" validate
say "check: installed v1.19.0 (from TAG in .env; no Twenty container runs here)"
"$bin" --config "$demo/config.toml" check 2>/dev/null || true
say "plan from v1.19.0: below v1.22.0 every minor is visited in order, one backup each"
"$bin" --config "$demo/config.toml" plan 2>/dev/null
say "plan from v2.30.0: at or above the floor, one hop to the newest allowed release"
"$bin" --config "$demo/config.toml" plan --current v2.30.0 2>/dev/null
say "plan --json (what scripts read)"
"$bin" --config "$demo/config.toml" plan --json 2>/dev/null | head -40
