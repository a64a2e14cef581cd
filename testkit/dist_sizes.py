#!/usr/bin/env python3
"""Prints the size of every release artefact in dist/ (`make dist-sizes`, the end of `make dist`).

For the C tarball it also prints the libraries inside it, and which crates the static archive's
bytes come from (its members grouped by the crate that compiled them), the first thing to look at
when the archive grows.

Usage: dist_sizes.py [DIST]   (default: dist)
"""

import collections
import pathlib
import re
import sys
import tarfile


def human(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def ar_members(data):
    """(name, size) of each member of a System V / GNU ar archive."""
    if not data.startswith(b"!<arch>\n"):
        return
    pos, longnames = 8, b""
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        name = header[:16].decode().strip()
        size = int(header[48:58].decode().strip())
        body = data[pos + 60:pos + 60 + size]
        if name == "//":
            longnames = body
        elif name not in ("/", "/SYM64/"):
            if name.startswith("/") and name[1:].isdigit():
                off = int(name[1:])
                name = longnames[off:longnames.index(b"/\n", off)].decode()
            yield name.rstrip("/"), size
        pos += 60 + size + (size & 1)


def crate_of(member):
    """The crate an archive member comes from. rustc names its objects <crate>-<hash>.*.rcgu.o,
    after thin LTO footmetrics.<crate>-<hash>.*.rcgu.o; build scripts' C and assembly objects
    (ring's) are <hash>-<file>.o."""
    if re.match(r"[0-9a-f]{16}-", member):
        return "C/asm objects"
    m = re.match(r"(?:footmetrics\.)?([A-Za-z0-9_]+?)-[0-9a-f]{16}\.", member)
    return m.group(1) if m else member


def c_tarball(path):
    with tarfile.open(path) as tar:
        for info in tar.getmembers():
            if info.isfile() and re.search(r"libfootmetrics\.(a|so\.[\d.]+)$", info.name):
                print(f"    {info.name:<44} {human(info.size):>10}")
                if info.name.endswith(".a"):
                    by_crate = collections.Counter()
                    for name, size in ar_members(tar.extractfile(info).read()):
                        by_crate[crate_of(name)] += size
                    top = ", ".join(f"{c} {human(s)}" for c, s in by_crate.most_common(6))
                    print(f"      archive members by origin: {top}")


def main(argv):
    dist = pathlib.Path(argv[1] if len(argv) > 1 else "dist")
    files = sorted(p for p in dist.rglob("*") if p.is_file()) if dist.is_dir() else []
    if not files:
        print(f"{dist}/ holds no artefact (make dist)")
        return 0
    total = 0
    for p in files:
        size = p.stat().st_size
        total += size
        print(f"  {p.relative_to(dist)!s:<56} {human(size):>10}")
        if p.name.startswith("footmetrics-c-") and p.name.endswith(".tar.gz"):
            c_tarball(p)
    print(f"  {'total':<56} {human(total):>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
