#!/bin/sh
# Checks that the man page covers the CLI: every command that
# `twenty-upgraded help` lists has a hand-written entry under COMMANDS in
# packaging/twenty-upgraded.1, and the generated page (packaging/manpage.sh)
# mentions every flag that `twenty-upgraded COMMAND --help` prints. The
# generated page must render without groff warnings.
# Usage: manpage.sh BIN
set -eu
bin=$(realpath "$1")
cd "$(dirname "$0")/../.."
page=packaging/twenty-upgraded.1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gen=$tmp/twenty-upgraded.1
packaging/manpage.sh "$bin" >"$gen"
fail=0

cmds=$("$bin" help | awk '/^Commands:/ {on=1; next} on && /^$/ {exit} on {print $1}')
[ -n "$cmds" ] || { echo "manpage: FAIL: no commands in '$bin help'"; exit 1; }
n=0
for c in $cmds help; do
	n=$((n + 1))
	# An entry is a .TP followed by a line starting with the bold name.
	if ! awk -v c="$c" 'prev == ".TP" && $1 ~ /^\.B[RI]?$/ && $2 == c {found=1} {prev=$0} END {exit !found}' "$page"; then
		echo "manpage: FAIL: $page has no entry for command '$c': add one under .SH COMMANDS"
		fail=1
	fi
	flags=$(timeout 10 "$bin" "$c" --help 2>&1 | grep -oE '^  -[A-Za-z0-9][A-Za-z0-9-]*' | sed 's/^  -//' || true)
	for f in $flags; do
		esc=$(printf '%s' "$f" | sed 's/-/\\\\-/g')
		if ! grep -q -- "\\\\-\\\\-$esc" "$gen"; then
			echo "manpage: FAIL: the generated page does not mention '$c --$f' (packaging/manpage.sh)"
			fail=1
		fi
	done
done

if command -v groff >/dev/null 2>&1; then
	warn=$(groff -man -Tutf8 -ww -z "$gen" 2>&1 || true)
	if [ -n "$warn" ]; then
		echo "$warn"
		echo "manpage: FAIL: groff warnings in the generated page"
		fail=1
	fi
fi
[ "$fail" -eq 0 ] || exit 1
echo "manpage: ok ($n commands documented, $(grep -c '^\.TP' "$gen") entries)"
