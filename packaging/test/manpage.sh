#!/bin/sh
# Checks that the man page (packaging/twenty-upgraded.1) covers the CLI:
# every command that `twenty-upgraded help` lists has an entry under
# COMMANDS, and every flag that `twenty-upgraded COMMAND --help` prints is
# mentioned. Also renders the page, which must produce no groff warnings.
# Usage: manpage.sh BIN
set -eu
bin=$(realpath "$1")
cd "$(dirname "$0")/../.."
page=packaging/twenty-upgraded.1
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
		if ! grep -q -- "\\\\-\\\\-$esc" "$page"; then
			echo "manpage: FAIL: $page does not mention '$c --$f': document it in the entry for '$c'"
			fail=1
		fi
	done
done

if command -v groff >/dev/null 2>&1; then
	warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1 || true)
	if [ -n "$warn" ]; then
		echo "$warn"
		echo "manpage: FAIL: groff warnings in $page"
		fail=1
	fi
fi
[ "$fail" -eq 0 ] || exit 1
echo "manpage: ok ($n commands documented)"
