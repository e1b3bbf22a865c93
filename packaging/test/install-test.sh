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
# validate_example BIN CONF: the unedited example parses and is valid but for
# install.dir: validate proves the install folder and its .env exist, and on a
# machine without /opt/twenty it must say exactly that (exit 78) and nothing else.
validate_example() {
	out=$("$1" --config "$2" validate 2>&1) && rc=0 || rc=$?
	if [ -f /opt/twenty/.env ]; then
		[ "$rc" = 0 ] || fail "validate of the installed config: exit $rc: $out"
		return
	fi
	[ "$rc" = 78 ] || fail "validate of the installed config: exit $rc (want 78 naming install.dir): $out"
	echo "$out" | grep -q 'install.dir: /opt/twenty does not exist' || fail "validate does not name install.dir: $out"
	if echo "$out" | grep -E ':[0-9]+:[0-9]+: ' | grep -v 'install.dir: \|install.env_file: ' | grep -q .; then
		fail "the installed config has problems besides install.dir: $out"
	fi
}

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
validate_example "$tmp/usr/local/bin/twenty-upgraded" "$tmp/etc/twenty-upgraded/config.toml"

# A second install keeps the admin's config and puts the example beside it.
echo "# edited by the admin" >>"$tmp/etc/twenty-upgraded/config.toml"
DESTDIR=$tmp PREFIX=/usr/local BIN=$bin packaging/install.sh >/dev/null
grep -q '^# edited by the admin$' "$tmp/etc/twenty-upgraded/config.toml" || fail "second install overwrote config.toml"
cmp -s twenty-upgraded.toml.example "$tmp/etc/twenty-upgraded/config.toml.example" || fail "no config.toml.example beside the kept config"
echo "install-test: ok ($(find "$tmp" -type f | wc -l) files under DESTDIR, config kept on reinstall)"
