#!/bin/sh
# Installs DEB on this machine and takes it through its life, then leaves the
# machine as it was. Run by package-test.sh, as root, only when the package
# and its paths are absent.
#   install -> version, validate, backup dir 0700, no daemon started
#   edit the conffile -> reinstall -> upgrade to a higher version: edit kept
#   purge -> files, state and cache gone; backups (with a sentinel) untouched
# Usage: package-install-test.sh DEB
set -eu
deb=$(realpath "$1")
conf=/etc/twenty-upgraded/config.toml
backups=/var/backups/twenty-upgraded
tmp=$(mktemp -d)
backups_existed=no
[ -d "$backups" ] && backups_existed=yes
sentinel="$backups/package-test-sentinel.$$"

cleanup() {
	if dpkg -s twenty-upgraded >/dev/null 2>&1; then
		dpkg --purge twenty-upgraded >/dev/null 2>&1 || true
	fi
	rm -f "$sentinel"
	if [ "$backups_existed" = no ]; then rmdir "$backups" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "package-install-test: FAIL: $*"; exit 1; }
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
dpkgq() { DEBIAN_FRONTEND=noninteractive dpkg --force-confold "$@" </dev/null >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "dpkg $*"; }; }

# 1. Install.
dpkgq -i "$deb"
grep -q 'systemctl enable --now twenty-upgraded' "$tmp/dpkg.log" || fail "postinst printed no how-to-enable message"
out=$(twenty-upgraded version) || fail "twenty-upgraded version failed"
echo "$out" | grep -q '^twenty-upgraded ' || fail "unexpected version output: $out"
validate_example twenty-upgraded "$conf"
[ "$(stat -c %a "$backups")" = 700 ] || fail "$backups is not mode 0700"
[ -f /usr/lib/systemd/system/twenty-upgraded.service ] || fail "unit not installed"
if pgrep -x twenty-upgraded >/dev/null 2>&1; then fail "a package script started the daemon"; fi
man -w twenty-upgraded >/dev/null 2>&1 || [ ! -x /usr/bin/man ] || fail "man twenty-upgraded not found"
echo "package-install-test: installed, $out, config valid but for install.dir"

# 2. A local edit of the conffile survives a reinstall and an upgrade.
echo "# local edit by the package test" >>"$conf"
dpkgq -i "$deb"
grep -q '^# local edit by the package test$' "$conf" || fail "reinstall overwrote $conf"
v=$(dpkg-deb -f "$deb" Version)
dpkg-deb -R "$deb" "$tmp/pkg"
sed -i "s/^Version: .*/Version: $v+test1/" "$tmp/pkg/DEBIAN/control"
dpkg-deb -b "$tmp/pkg" "$tmp/upgrade.deb" >/dev/null
dpkgq -i "$tmp/upgrade.deb"
[ "$(dpkg-query -W -f '${Version}' twenty-upgraded)" = "$v+test1" ] || fail "upgrade did not install"
grep -q '^# local edit by the package test$' "$conf" || fail "upgrade overwrote $conf"
grep -q 'systemctl enable --now' "$tmp/dpkg.log" && fail "postinst printed the first-install message on upgrade"
echo "package-install-test: conffile edit kept across reinstall and upgrade"

# 3. Purge: everything goes but the backups.
mkdir -p /var/lib/twenty-upgraded /var/cache/twenty-upgraded
echo '{}' >/var/lib/twenty-upgraded/state.json
echo "backup" >"$sentinel"
dpkgq --purge twenty-upgraded
for p in /usr/bin/twenty-upgraded /usr/lib/systemd/system/twenty-upgraded.service \
	/usr/lib/tmpfiles.d/twenty-upgraded.conf "$conf" /etc/twenty-upgraded \
	/usr/share/doc/twenty-upgraded /usr/share/man/man1/twenty-upgraded.1.gz \
	/usr/share/twenty-upgraded /var/lib/twenty-upgraded /var/cache/twenty-upgraded; do
	[ ! -e "$p" ] || fail "$p still there after purge"
done
[ "$(cat "$sentinel" 2>/dev/null)" = backup ] || fail "purge touched $backups"
grep -q 'backups kept in' "$tmp/dpkg.log" || fail "purge did not say the backups are kept"
echo "package-install-test: purged; state gone, backups untouched"
