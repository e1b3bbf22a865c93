#!/bin/sh
# Prints the man page: packaging/twenty-upgraded.1 (hand-written: what each
# command does) with its "@FLAGS@" line replaced by a COMMAND FLAGS section
# generated from `BIN COMMAND --help` for every command of `BIN help`, so
# every flag is documented as the program itself describes it.
# Usage: manpage.sh BIN
set -eu
bin=$(realpath "$1")
cd "$(dirname "$0")/.."
[ -x "$bin" ] || { echo "manpage.sh: $bin not found: run make build first" >&2; exit 1; }

flags_section() {
	printf '%s\n' '.SH COMMAND FLAGS' \
		'Generated from the \fB\-\-help\fR of each command.' \
		'A flag is given as \fB\-\-name\fR or \fB\-name\fR, before the arguments.'
	for c in $("$bin" help | awk '/^Commands:/ {on=1; next} on && /^$/ {exit} on {print $1}'); do
		timeout 10 "$bin" "$c" --help 2>&1 | awk -v c="$c" '
			function esc(s) {
				gsub(/\\/, "\\e", s); gsub(/-/, "\\-", s)
				if (s ~ /^[.'"'"']/) s = "\\&" s
				return s
			}
			/^Usage: / { sub(/^Usage: /, ""); print ".SS " c; print ".nf"; print esc($0); print ".fi"; n = 1; next }
			!n { next }
			/^  -/ {
				line = $0; sub(/^  -/, "", line)
				desc = ""
				if (index(line, "\t")) { desc = substr(line, index(line, "\t") + 1); line = substr(line, 1, index(line, "\t") - 1) }
				split(line, p, " ")
				print ".TP"
				if (p[2] != "") print ".BI \\-\\-" esc(p[1]) " \" " esc(p[2]) "\""
				else print ".B \\-\\-" esc(p[1])
				if (desc != "") print esc(desc)
				next
			}
			/^    \t/ { d = $0; sub(/^    \t/, "", d); print esc(d); next }'
	done
}

marker='^\.\\" @FLAGS@$'
grep -q "$marker" packaging/twenty-upgraded.1 || { echo "manpage.sh: no @FLAGS@ line in packaging/twenty-upgraded.1" >&2; exit 1; }
sed "/$marker/,\$d" packaging/twenty-upgraded.1
flags_section
sed "1,/$marker/d" packaging/twenty-upgraded.1
