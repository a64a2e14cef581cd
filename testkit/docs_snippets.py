#!/usr/bin/env python3
"""Keeps the code blocks of README.md and docs/*.md identical to files that tests run.

Every Python, JavaScript, TypeScript, Go and C block in the documentation is included from a
program under docs/snippets/<language>/, which that language's test suite runs in full
(`make test`). A block is tied to its file by an HTML comment on the line before the fence:

    <!-- snippet: docs/snippets/python/quickstart.py#serve -->

`#serve` names a region of the file, the lines between `docs:start serve` and `docs:end serve`
markers (in a comment of the file's language); without it the block is the whole file. The rest
of the file (set-up, assertions) is the test around the shown code. Marker lines of other regions
inside a region are left out, and the region is dedented.

Rust blocks are doctests instead: every Markdown file holding one must be pulled into a crate
with `include_str!` under `#[cfg(doctest)]`, which this script checks.

    docs_snippets.py sync     rewrite the blocks from their files
    docs_snippets.py check    exit 1 if a block differs from its file, a runnable block has no
                              file, a file is missing, or Rust blocks are not doctested
"""

import pathlib
import re
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Languages whose blocks must come from a tested file (fence info string → snippet suffixes).
RUNNABLE = {
    "python": (".py",),
    "js": (".js", ".mjs"),
    "javascript": (".js", ".mjs"),
    "ts": (".ts",),
    "typescript": (".ts",),
    "go": (".go",),
    "c": (".c",),
}
MARKER = re.compile(r"^<!-- snippet: (?P<path>[^#\s]+)(?:#(?P<region>[\w-]+))? -->$")
FENCE = re.compile(r"^(?P<fence>```+)(?P<info>[^`]*)$")
REGION = re.compile(r"docs:(?P<kind>start|end) (?P<name>[\w-]+)")


class DocError(Exception):
    pass


def documents():
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def region_text(path, region):
    file = ROOT / path
    if not file.is_file():
        raise DocError(f"{path} does not exist")
    lines = file.read_text().splitlines()
    if region is None:
        pieces = [[line for line in lines if not REGION.search(line)]]
    else:
        # A region may be given in several parts (start/end pairs of one name), each dedented
        # on its own: an #include at the top and calls inside main read as one listing.
        pieces, inside = [], False
        for line in lines:
            m = REGION.search(line)
            if m and m.group("name") == region:
                inside = m.group("kind") == "start"
                if inside:
                    pieces.append([])
                continue
            if inside and not m:
                pieces[-1].append(line)
        if not pieces:
            raise DocError(f"{path} has no region '{region}' (docs:start {region} … docs:end {region})")
    body = []
    for piece in pieces:
        body += textwrap.dedent("\n".join(piece)).split("\n")
    while body and not body[0].strip():
        body.pop(0)
    while body and not body[-1].strip():
        body.pop()
    return "\n".join(body) + "\n"


def blocks(lines):
    """Yields (start, end, info, marker) for each fenced block: lines[start] is the opening fence,
    lines[end] the closing one, marker the match on the line before (or None)."""
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info = m.group("fence"), m.group("info").strip()
        end = i + 1
        while end < len(lines) and lines[end].rstrip() != fence:
            end += 1
        if end == len(lines):
            raise DocError(f"line {i + 1}: unclosed code block")
        marker = MARKER.match(lines[i - 1]) if i > 0 else None
        yield i, end, info, marker
        i = end + 1


def language(info):
    return info.split(",")[0].split()[0] if info else ""


def process(doc, write):
    """Returns the problems in one document; with write, rewrites its included blocks."""
    rel = doc.relative_to(ROOT)
    lines = doc.read_text().splitlines()
    problems, out, pos, has_rust = [], [], 0, False
    for start, end, info, marker in blocks(lines):
        lang = language(info)
        has_rust |= lang == "rust"
        out.extend(lines[pos:start + 1])
        pos = end
        current = "\n".join(lines[start + 1:end]) + "\n" if end > start + 1 else ""
        if marker is None:
            if lang in RUNNABLE:
                problems.append(f"{rel}:{start + 1}: a {lang} block not included from a tested file "
                                f"(put it in docs/snippets/ and add <!-- snippet: … --> above it)")
            out.extend(lines[start + 1:end])
            continue
        path = marker.group("path")
        if lang not in RUNNABLE or not path.endswith(RUNNABLE[lang]):
            problems.append(f"{rel}:{start + 1}: a ```{lang} block cannot come from {path}")
        try:
            wanted = region_text(path, marker.group("region"))
        except DocError as e:
            problems.append(f"{rel}:{start}: {e}")
            wanted = current
        if wanted != current and not write:
            problems.append(f"{rel}:{start + 1}: differs from {path}"
                            f"{'#' + marker.group('region') if marker.group('region') else ''} "
                            f"(run `make docs`)")
        out.extend(wanted.rstrip("\n").split("\n"))
    out.extend(lines[pos:])
    if has_rust and not doctested(rel):
        problems.append(f"{rel}: has Rust blocks but no crate includes it as doctests "
                        f"(#[cfg(doctest)] #[doc = include_str!(\"…/{rel}\")])")
    if write:
        text = "\n".join(out) + "\n"
        if text != doc.read_text():
            doc.write_text(text)
            print(f"wrote {rel}")
    return problems


def doctested(rel):
    needle = re.compile(r'include_str!\("(?:\.\./)*' + re.escape(str(rel)) + r'"\)')
    for src in ROOT.glob("*/src/**/*.rs"):
        text = src.read_text()
        if needle.search(text) and "cfg(doctest)" in text:
            return True
    return False


def main(argv):
    if len(argv) != 2 or argv[1] not in ("sync", "check"):
        print(__doc__)
        return 2
    write = argv[1] == "sync"
    problems = []
    for doc in documents():
        try:
            problems += process(doc, write)
        except DocError as e:
            problems.append(f"{doc.relative_to(ROOT)}: {e}")
    for p in problems:
        print(p)
    if problems:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
