#!/bin/sh
# Prints the package version, from `git describe`, in a form both dpkg and rpm
# accept and order correctly:
#   v1.2.3 (tag, clean)          -> 1.2.3
#   v1.2.3-rc.1                  -> 1.2.3~rc.1   (~ sorts before the release)
#   v1.2.3 + 5 commits, abc1234  -> 1.2.3+5.gabc1234
#   no tag yet                   -> 0.0.0+<commits>.g<hash>
#   uncommitted changes          -> ... + ".dirty"
# Only [0-9A-Za-z.+~] are used: "-" would split Debian's revision off.
set -eu
cd "$(dirname "$0")/.."
if ! git rev-parse --git-dir >/dev/null 2>&1; then
	echo "0.0.0+unknown"
	exit 0
fi
dirty=""
if ! git diff --quiet HEAD -- 2>/dev/null; then dirty=".dirty"; fi
if d=$(git describe --tags --long --match 'v[0-9]*' 2>/dev/null); then
	# d = v1.2.3[-pre]-N-gHASH
	hash=${d##*-}
	rest=${d%-*}
	count=${rest##*-}
	tag=${rest%-*}
	base=${tag#v}
	core=${base%%-*}
	pre=""
	if [ "$core" != "$base" ]; then pre="~${base#*-}"; fi
	v="$core$pre"
	if [ "$count" != "0" ]; then v="$v+$count.$hash"; fi
else
	v="0.0.0+$(git rev-list --count HEAD).g$(git rev-parse --short=7 HEAD)"
fi
printf '%s%s\n' "$v" "$dirty" | tr -c '0-9A-Za-z.+~\n' '.'
