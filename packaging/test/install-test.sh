#!/bin/sh
# Checks `make install`'s layout (packaging/install.sh) in a temp DESTDIR:
# every file in place under PREFIX, the unit's ExecStart naming the installed
# binary, and an edited config.toml surviving a second install.
# Usage: install-test.sh BIN
set -eu
bin=$(realpath "$1")
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install-test: FAIL: $*"; exit 1; }

DESTDIR=$tmp PREFIX=/usr/local BIN=$bin packaging/install.sh >/dev/null
for f in usr/local/bin/twenty-upgraded \
	usr/local/lib/systemd/system/twenty-upgraded.service \
	usr/local/lib/tmpfiles.d/twenty-upgraded.conf \
	usr/local/share/man/man1/twenty-upgraded.1.gz \
	usr/local/share/doc/twenty-upgraded/twenty-upgraded.toml.example \
	usr/local/share/doc/twenty-upgraded/install.md \
	etc/twenty-upgraded/config.toml; do
	[ -f "$tmp/$f" ] || fail "$f not installed"
done
for f in contrib/prometheus/*.yml contrib/grafana/*.json; do
	[ -f "$f" ] || continue
	case "$f" in *_test.yml) continue ;; esac
	sub=$(basename "$(dirname "$f")")
	[ -f "$tmp/usr/local/share/twenty-upgraded/$sub/$(basename "$f")" ] || fail "$f not installed"
done
[ -x "$tmp/usr/local/bin/twenty-upgraded" ] || fail "binary not executable"
grep -qx 'ExecStart=/usr/local/bin/twenty-upgraded --config /etc/twenty-upgraded/config.toml run' \
	"$tmp/usr/local/lib/systemd/system/twenty-upgraded.service" || fail "unit ExecStart does not name /usr/local/bin"
"$tmp/usr/local/bin/twenty-upgraded" --config "$tmp/etc/twenty-upgraded/config.toml" validate >/dev/null ||
	fail "installed config does not validate"

# A second install keeps the admin's config and puts the example beside it.
echo "# edited by the admin" >>"$tmp/etc/twenty-upgraded/config.toml"
DESTDIR=$tmp PREFIX=/usr/local BIN=$bin packaging/install.sh >/dev/null
grep -q '^# edited by the admin$' "$tmp/etc/twenty-upgraded/config.toml" || fail "second install overwrote config.toml"
cmp -s twenty-upgraded.toml.example "$tmp/etc/twenty-upgraded/config.toml.example" || fail "no config.toml.example beside the kept config"
echo "install-test: ok ($(find "$tmp" -type f | wc -l) files under DESTDIR, config kept on reinstall)"
