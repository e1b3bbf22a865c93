#!/bin/sh
# Checks the built packages in DIST:
#  - .deb contents (dpkg-deb -c) and metadata (dpkg-deb -I: conffiles,
#    Recommends), lintian errors when lintian is installed;
#  - .rpm contents, config files and scriptlets when rpm is installed;
#  - the licence: LICENSE is Apache-2.0, the .deb's copyright and the .rpm's
#    License say so;
#  - as root with dpkg: install the .deb on this machine, run `version` and
#    `validate`, keep an edited conffile across a reinstall and an upgrade,
#    purge, and check the machine is as before (backups untouched).
# Usage: package-test.sh DIST
set -eu
dist=$(realpath "$1")
cd "$(dirname "$0")/../.."
fail() { echo "package-test: FAIL: $*"; exit 1; }
skip() { echo "package-test: SKIP: $*"; }

deb=$(ls "$dist"/twenty-upgraded_*.deb 2>/dev/null | head -1)
rpmf=$(ls "$dist"/twenty-upgraded-*.rpm 2>/dev/null | head -1)
[ -n "$deb" ] || fail "no .deb in $dist (run make package)"
[ -n "$rpmf" ] || fail "no .rpm in $dist (run make package)"

expected="./usr/bin/twenty-upgraded
./usr/lib/systemd/system/twenty-upgraded.service
./usr/lib/tmpfiles.d/twenty-upgraded.conf
./etc/twenty-upgraded/config.toml
./usr/share/man/man1/twenty-upgraded.1.gz
./usr/share/doc/twenty-upgraded/twenty-upgraded.toml.example
./usr/share/doc/twenty-upgraded/install.md
./usr/share/doc/twenty-upgraded/copyright
./usr/share/doc/twenty-upgraded/changelog.gz"
# The alert rules and dashboard that contrib/ has.
for f in contrib/prometheus/*.yml contrib/grafana/*.json; do
	[ -f "$f" ] || continue
	case "$f" in *_test.yml) continue ;; esac
	expected="$expected
./usr/share/twenty-upgraded/$(basename "$(dirname "$f")")/$(basename "$f")"
done

check_deb_static() {
	long=$(dpkg-deb -c "$deb")
	listing=$(echo "$long" | awk '{print $NF}')
	for f in $expected; do
		echo "$listing" | grep -qx "$f" || fail "$f missing from $(basename "$deb")"
	done
	echo "$long" | grep -q '^-rwxr-xr-x root/root .* \./usr/bin/twenty-upgraded$' ||
		fail "binary not 0755 root:root"
	[ "$(dpkg-deb -I "$deb" conffiles)" = "/etc/twenty-upgraded/config.toml" ] ||
		fail "conffiles is not exactly /etc/twenty-upgraded/config.toml"
	dpkg-deb -f "$deb" Recommends | grep -q 'docker' || fail "Recommends does not name docker"
	[ -z "$(dpkg-deb -f "$deb" Depends)" ] || fail "unexpected Depends (static binary): $(dpkg-deb -f "$deb" Depends)"
	for s in postinst prerm postrm; do
		dpkg-deb -I "$deb" "$s" | grep -q '/run/systemd/system' || fail "$s does not guard systemctl"
	done
	echo "package-test: deb contents and metadata ok ($(dpkg-deb -f "$deb" Version))"
}

check_lintian() {
	if ! command -v lintian >/dev/null 2>&1; then
		skip "lintian not installed (apt-get install lintian)"
		return
	fi
	out=$(lintian "$deb" 2>&1 | grep -v 'root privileges' || true)
	[ -z "$out" ] || echo "$out"
	echo "$out" | grep -q '^E:' && fail "lintian errors"
	echo "package-test: lintian: no errors"
}

check_rpm() {
	if ! command -v rpm >/dev/null 2>&1; then
		skip "rpm not installed: .rpm not read back (apt-get install rpm)"
		return
	fi
	list=$(rpm -qlp "$rpmf" 2>/dev/null)
	for f in $expected; do
		echo "$list" | grep -qx "${f#.}" || fail "${f#.} missing from $(basename "$rpmf")"
	done
	[ "$(rpm -qp --configfiles "$rpmf" 2>/dev/null)" = "/etc/twenty-upgraded/config.toml" ] ||
		fail "rpm config files are not exactly /etc/twenty-upgraded/config.toml"
	rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpmf" 2>/dev/null |
		grep -q '^cn /etc/twenty-upgraded/config.toml$' || fail "config.toml is not %config(noreplace)"
	scripts=$(rpm -qp --scripts "$rpmf" 2>/dev/null)
	for s in postinstall preuninstall postuninstall; do
		echo "$scripts" | grep -q "^$s scriptlet" || fail "rpm has no $s scriptlet"
	done
	echo "package-test: rpm contents, config and scriptlets ok"
}

# The licence: LICENSE is the Apache License 2.0 (the appendix's copyright
# line filled in), and both packages say so.
check_license() {
	[ -f LICENSE ] || fail "no LICENSE at the repository's root"
	grep -qx '   Copyright 2026 The twenty-upgraded Authors' LICENSE || fail "LICENSE lacks its copyright line"
	if [ -f /usr/share/common-licenses/Apache-2.0 ]; then
		t=$(mktemp -d)
		grep -v '^   Copyright ' LICENSE | sed '/./,$!d' >"$t/ours"
		grep -v '^   Copyright ' /usr/share/common-licenses/Apache-2.0 | sed '/./,$!d' >"$t/apache"
		cmp -s "$t/ours" "$t/apache" || { rm -rf "$t"; fail "LICENSE is not the Apache License 2.0 text"; }
		rm -rf "$t"
	fi
	copyright=$(dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./usr/share/doc/twenty-upgraded/copyright)
	echo "$copyright" | grep -qx 'License: Apache-2.0' || fail "the .deb's copyright file does not say License: Apache-2.0"
	if command -v rpm >/dev/null 2>&1; then
		l=$(rpm -qp --qf '%{LICENSE}' "$rpmf" 2>/dev/null)
		[ "$l" = "Apache-2.0" ] || fail "the .rpm's License is $l, not Apache-2.0"
		rpm -qlp "$rpmf" 2>/dev/null | grep -qx /usr/share/licenses/twenty-upgraded/LICENSE ||
			fail "the .rpm does not ship /usr/share/licenses/twenty-upgraded/LICENSE"
	fi
	echo "package-test: licence Apache-2.0 in LICENSE and both packages"
}

check_deb_static
check_lintian
check_rpm
check_license

if [ "$(id -u)" -ne 0 ]; then skip "install test needs root (dpkg -i)"; exit 0; fi
command -v dpkg >/dev/null 2>&1 || { skip "no dpkg on this machine"; exit 0; }
if dpkg -s twenty-upgraded >/dev/null 2>&1; then skip "twenty-upgraded is already installed here; not touching it"; exit 0; fi
for p in /etc/twenty-upgraded /var/lib/twenty-upgraded /usr/bin/twenty-upgraded; do
	if [ -e "$p" ]; then skip "$p exists and belongs to no package; not touching it"; exit 0; fi
done
exec packaging/test/package-install-test.sh "$deb"
