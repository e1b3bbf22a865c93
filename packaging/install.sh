#!/bin/sh
# Lays out an installation of twenty-upgraded under $DESTDIR$PREFIX; used by
# `make install` and, with PREFIX=/usr into a staging folder, by `make package`.
#
#   DESTDIR  staging root ("" = this machine)
#   PREFIX   /usr/local (make install) or /usr (packages)
#   BIN      the built binary
#   SYSCONFDIR  /etc: the config is always /etc/twenty-upgraded/config.toml,
#               the binary's default
#
# An existing config.toml is never overwritten: the example is then installed
# beside it as config.toml.example for comparison.
set -eu
: "${PREFIX:=/usr/local}" "${DESTDIR:=}" "${BIN:=bin/twenty-upgraded}" "${SYSCONFDIR:=/etc}"
[ -x "$BIN" ] || { echo "install.sh: $BIN not found: run make build first" >&2; exit 1; }
BIN=$(realpath "$BIN")
cd "$(dirname "$0")/.."

root="$DESTDIR$PREFIX"
bindir="$root/bin"
unitdir="$root/lib/systemd/system"
tmpfilesdir="$root/lib/tmpfiles.d"
mandir="$root/share/man/man1"
docdir="$root/share/doc/twenty-upgraded"
sharedir="$root/share/twenty-upgraded"
confdir="$DESTDIR$SYSCONFDIR/twenty-upgraded"

install -d -m 0755 "$bindir" "$unitdir" "$tmpfilesdir" "$mandir" "$docdir" "$sharedir"
install -m 0755 "$BIN" "$bindir/twenty-upgraded"
# The unit names the binary by its installed path.
sed -e "s#/usr/bin/twenty-upgraded#$PREFIX/bin/twenty-upgraded#g" \
	-e "s#/usr/share/doc/twenty-upgraded#$PREFIX/share/doc/twenty-upgraded#g" \
	packaging/systemd/twenty-upgraded.service >"$unitdir/twenty-upgraded.service"
chmod 0644 "$unitdir/twenty-upgraded.service"
install -m 0644 packaging/tmpfiles.d/twenty-upgraded.conf "$tmpfilesdir/twenty-upgraded.conf"
packaging/manpage.sh "$BIN" | gzip -9n >"$mandir/twenty-upgraded.1.gz"
chmod 0644 "$mandir/twenty-upgraded.1.gz"
install -m 0644 twenty-upgraded.toml.example "$docdir/twenty-upgraded.toml.example"
install -m 0644 docs/install.md "$docdir/install.md"

# Alert rules and dashboard, whichever exist (their authors add them); not
# the promtool tests of the rules (*_test.yml).
for f in contrib/prometheus/*.yml contrib/grafana/*.json; do
	[ -f "$f" ] || continue
	case "$f" in *_test.yml) continue ;; esac
	sub="$sharedir/$(basename "$(dirname "$f")")"
	install -d -m 0755 "$sub"
	install -m 0644 "$f" "$sub/"
done

install -d -m 0755 "$confdir"
if [ -e "$confdir/config.toml" ]; then
	install -m 0644 twenty-upgraded.toml.example "$confdir/config.toml.example"
	echo "install.sh: kept the existing $confdir/config.toml (example beside it)"
else
	install -m 0644 twenty-upgraded.toml.example "$confdir/config.toml"
fi
