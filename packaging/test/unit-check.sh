#!/bin/sh
# Checks packaging/systemd/twenty-upgraded.service:
#  - `systemd-analyze verify` on a copy whose ExecStart names the built binary
#    (verify needs it to exist) and whose man page is found in a temp MANPATH;
#  - `systemd-analyze security --offline=yes`: prints the exposure and fails
#    when it is above the limit.
# Usage: unit-check.sh BIN MAX_EXPOSURE
set -eu
bin=$(realpath "$1")
max=$2
cd "$(dirname "$0")/../.."
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "unit-check: SKIP: systemd-analyze not installed (apt-get install systemd)"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unit=$tmp/twenty-upgraded.service
sed "s#/usr/bin/twenty-upgraded#$bin#g" packaging/systemd/twenty-upgraded.service >"$unit"
mkdir -p "$tmp/man/man1"
cp packaging/twenty-upgraded.1 "$tmp/man/man1/"

# verify prints problems but does not always exit non-zero: any output fails.
out=$(MANPATH=$tmp/man systemd-analyze verify "$unit" 2>&1) || { echo "$out"; echo "unit-check: FAIL: systemd-analyze verify"; exit 1; }
if [ -n "$out" ]; then
	echo "$out"
	echo "unit-check: FAIL: systemd-analyze verify reported problems"
	exit 1
fi
echo "unit-check: systemd-analyze verify: ok"

sec=$(systemd-analyze security --offline=yes --no-pager "$unit" 2>&1) || true
echo "$sec" | grep '✗' || true
line=$(echo "$sec" | grep 'Overall exposure level' || true)
[ -n "$line" ] || { echo "$sec"; echo "unit-check: FAIL: no exposure level in the output"; exit 1; }
exposure=$(echo "$line" | sed -n 's/.*: \([0-9][0-9.]*\) .*/\1/p')
echo "unit-check: exposure $exposure (limit $max)"
if awk -v e="$exposure" -v m="$max" 'BEGIN { exit !(e > m) }'; then
	echo "unit-check: FAIL: exposure $exposure is above $max"
	exit 1
fi
echo "unit-check: ok"
