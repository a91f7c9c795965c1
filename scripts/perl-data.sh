#!/usr/bin/env bash
# The training demonstration's data (docs/training.md): the first 400 Perl modules, by path,
# that Debian's perl package ships, flattened into one folder (each file one document).
# Usage: scripts/perl-data.sh OUT_DIR
set -euo pipefail
out=${1:?usage: scripts/perl-data.sh OUT_DIR}
src=/usr/share/perl/5.36.0
[ -d "$src" ] || { echo "perl-data: $src is missing (apt-get install perl-modules-5.36)" >&2; exit 1; }
mkdir -p "$out"
cd "$src"
find . -name '*.pm' | sort | head -400 | while read -r f; do
    cp "$f" "$out/$(echo "${f#./}" | sed 's|/|__|g')"
done
echo "perl-data: $(ls "$out" | wc -l) files in $out"
