#!/usr/bin/env python3
"""Source-code corpora for the paper's low-resource-language experiments (issue 14), from the
source files that Debian's packages ship: each package is fetched with `apt-get download` and
unpacked with `dpkg-deb -x` into a scratch folder, never installed.

Per language: files with the language's extensions are read (gzip'd Emacs Lisp is unpacked), files
under 256 bytes or over 256 KB are dropped, exact duplicates (after trailing-whitespace
normalisation) are removed, and files are split into train and held-out sets BY FILE, by their
content hash (a file is held out when its SHA-256 falls in the lowest tenth), so the split does
not depend on the package version's file order and no file is cut in two. Each set is capped in
bytes, taking files in hash order.

Writes OUT/<language>/{train,heldout}/NNNNN.<ext> and OUT/<language>/MANIFEST.tsv (set, file, sha256,
package, path inside the package). Standard library only.

Usage: scripts/corpora.py OUT [--languages perl,lua,tcl,elisp,scheme,ruby] [--train-bytes N] [--heldout-bytes N]
"""

import argparse
import gzip
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

# language → (packages, file suffixes, extension written)
LANGUAGES = {
    "perl": (["perl-modules-5.36"], [".pm", ".pl"], "pm"),
    "lua": (["prosody", "lua-penlight", "luarocks"], [".lua"], "lua"),
    "tcl": (["tcllib"], [".tcl"], "tcl"),
    "elisp": (["emacs-el"], [".el.gz", ".el"], "el"),
    "scheme": (["guile-3.0-libs"], [".scm"], "scm"),
    "ruby": (["libruby3.1"], [".rb"], "rb"),
}
MIN_BYTES, MAX_BYTES = 256, 256 * 1024
HELDOUT_TENTHS = 1


def run(command, cwd):
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"corpora: {' '.join(command)} failed ({result.returncode}):\n{result.stderr.strip()}")
    return result.stdout


def fetch(package, scratch):
    """Unpacks `package`'s .deb into scratch/<package>/; returns that folder."""
    debs = scratch / "debs"
    debs.mkdir(exist_ok=True)
    before = set(debs.iterdir())
    try:
        run(["apt-get", "download", package], debs)
    except SystemExit:
        # A fresh machine has no package lists yet.
        run(["apt-get", "update", "-qq"], debs)
        run(["apt-get", "download", package], debs)
    new = [p for p in set(debs.iterdir()) - before if p.suffix == ".deb"]
    if len(new) != 1:
        raise SystemExit(f"corpora: apt-get download {package} gave {len(new)} .deb files, expected 1")
    root = scratch / package
    run(["dpkg-deb", "-x", str(new[0]), str(root)], scratch)
    return root


def read_source(path):
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "\n".join(line.rstrip() for line in text.splitlines()).strip() + "\n"


def collect(language, scratch):
    packages, suffixes, _ = LANGUAGES[language]
    seen, files = set(), []
    for package in packages:
        root = fetch(package, scratch)
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.is_symlink() or not any(path.name.endswith(s) for s in suffixes):
                continue
            text = read_source(path)
            if text is None or not MIN_BYTES <= len(text.encode()) <= MAX_BYTES:
                continue
            digest = hashlib.sha256(text.encode()).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            files.append((digest, text, package, str(path.relative_to(root))))
    return sorted(files)


def write(language, files, out, train_bytes, heldout_bytes):
    extension = LANGUAGES[language][2]
    folder = out / language
    sets = {"train": [], "heldout": []}
    budget = {"train": train_bytes, "heldout": heldout_bytes}
    for digest, text, package, path in files:
        name = "heldout" if int(digest[:8], 16) < HELDOUT_TENTHS * (1 << 32) // 10 else "train"
        size = len(text.encode())
        if size <= budget[name]:
            budget[name] -= size
            sets[name].append((digest, text, package, path))
    rows = []
    for name, chosen in sets.items():
        target = folder / name
        target.mkdir(parents=True, exist_ok=True)
        for index, (digest, text, package, path) in enumerate(chosen):
            file = f"{index:05d}.{extension}"
            (target / file).write_text(text, encoding="utf-8")
            rows.append(f"{name}\t{file}\t{digest}\t{package}\t{path}")
    (folder / "MANIFEST.tsv").write_text("set\tfile\tsha256\tpackage\tpath\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return {name: (len(chosen), sum(len(t.encode()) for _, t, _, _ in chosen)) for name, chosen in sets.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--languages", default=",".join(LANGUAGES), help="comma-separated: " + ", ".join(LANGUAGES))
    parser.add_argument("--train-bytes", type=int, default=2_000_000, help="most bytes of training files per language")
    parser.add_argument("--heldout-bytes", type=int, default=250_000, help="most bytes of held-out files per language")
    args = parser.parse_args()
    languages = [l for l in args.languages.split(",") if l]
    unknown = [l for l in languages if l not in LANGUAGES]
    if unknown:
        raise SystemExit(f"corpora: unknown language(s) {', '.join(unknown)}; known: {', '.join(LANGUAGES)}")
    with tempfile.TemporaryDirectory(prefix="flora-corpora-") as scratch:
        for language in languages:
            files = collect(language, Path(scratch))
            if not files:
                raise SystemExit(f"corpora: no {language} files found in {LANGUAGES[language][0]}")
            sizes = write(language, files, args.out, args.train_bytes, args.heldout_bytes)
            print(f"corpora: {language}: {len(files)} distinct files; train {sizes['train'][0]} files {sizes['train'][1]} bytes,"
                  f" held out {sizes['heldout'][0]} files {sizes['heldout'][1]} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
