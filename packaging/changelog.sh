#!/bin/sh
# Writes a Debian-format changelog for VERSION (native package:
# /usr/share/doc/twenty-upgraded/changelog.gz) from the git history: the
# subjects of the last 20 commits, dated by the newest commit so that two
# builds of one commit are identical.
# Usage: changelog.sh VERSION
set -eu
cd "$(dirname "$0")/.."
version=$1
if git rev-parse --git-dir >/dev/null 2>&1; then
	date=$(git log -1 --format=%aD)
	changes=$(git log -20 --format='  * %s' | cut -c1-78)
else
	date=$(date -R)
	changes="  * Built outside git."
fi
cat <<MSG
twenty-upgraded ($version) unstable; urgency=medium

$changes

 -- twenty-upgraded maintainers <maintainers@twenty-upgraded.invalid>  $date
MSG
