#!/usr/bin/env python3
"""One version for the whole footmetrics family, checked.

The source is `version` in `[workspace.package]` of the top Cargo.toml. Every other place a
version is written must agree with it:

- every workspace crate (`version.workspace = true`, or the same literal), and every path entry of
  `[workspace.dependencies]` that carries a `version` (those are what crates.io sees);
- the Python package: bindings-python/pyproject.toml's `[project] version` when written there,
  else `dynamic = ["version"]` (maturin then takes bindings-python/Cargo.toml's, checked above);
- every npm package under bindings-node/ (the main one and the per-platform ones when present),
  and the versions with which they name each other;
- the Go module's `const Version = "..."` in bindings-c/go/version.go, when that file exists;
- the C pkg-config template bindings-c/footmetrics.pc.in (`Version: @VERSION@`, filled in by
  `make install`, or the same literal);
- the artefacts already in dist/, when there are any: the C tarball's name, library and .pc file,
  the wheels' names and METADATA, the npm tarballs' package.json.

Usage: versions.py check [ROOT]     exit 1 and list every disagreement
       versions.py print [ROOT]     print the workspace version
"""

import json
import pathlib
import re
import sys
import tarfile
import zipfile

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11: the copy pip carries
    from pip._vendor import tomli as tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
GO_VERSION_FILE = "bindings-c/go/version.go"
PC_TEMPLATE = "bindings-c/footmetrics.pc.in"
GO_CONST = re.compile(r'^\s*(?:const\s+)?Version\s*(?:string\s*)?=\s*"([^"]*)"', re.MULTILINE)


def read_toml(path):
    with open(path, "rb") as f:
        return tomllib.load(f)


def workspace_version(root):
    return read_toml(root / "Cargo.toml")["workspace"]["package"]["version"]


def pep440(version):
    """The Python spelling of a SemVer version: 1.2.0-rc.1 -> 1.2.0rc1."""
    m = re.fullmatch(r"(\d+\.\d+\.\d+)(?:-(alpha|beta|rc)\.?(\d+))?", version)
    if not m:
        return version
    base, pre, n = m.groups()
    return base + ({"alpha": "a", "beta": "b", "rc": "rc"}[pre] + n if pre else "")


def requirement_version(req):
    """The version a Cargo or npm requirement pins: '=0.1.0', '^0.1.0', '0.1.0' -> '0.1.0'."""
    return req.lstrip("=^~ ")


def check_cargo(root, version):
    workspace = read_toml(root / "Cargo.toml")["workspace"]
    for member in workspace.get("members", []):
        manifest = root / member / "Cargo.toml"
        package = read_toml(manifest)["package"]
        v = package.get("version")
        if v == {"workspace": True}:
            continue
        if v != version:
            yield f"{member}/Cargo.toml: version {v!r}, not the workspace's {version}"
    for name, dep in workspace.get("dependencies", {}).items():
        if not (isinstance(dep, dict) and "path" in dep and "version" in dep):
            continue
        if requirement_version(dep["version"]) != version:
            yield (f"Cargo.toml: [workspace.dependencies] {name} has version "
                   f"{dep['version']!r}, not {version}")


def check_python(root, version):
    pyproject = root / "bindings-python" / "pyproject.toml"
    if not pyproject.is_file():
        return
    project = read_toml(pyproject).get("project", {})
    if "version" in project:
        if project["version"] != pep440(version):
            yield (f"bindings-python/pyproject.toml: version {project['version']!r}, "
                   f"not {pep440(version)}")
    elif "version" not in project.get("dynamic", []):
        yield "bindings-python/pyproject.toml: no version and no dynamic = [\"version\"]"


def npm_manifests(root):
    base = root / "bindings-node"
    if not base.is_dir():
        return []
    return sorted(p for p in base.rglob("package.json") if "node_modules" not in p.parts)


def check_npm(root, version):
    manifests = [(p, json.loads(p.read_text())) for p in npm_manifests(root)]
    family = {m.get("name") for _, m in manifests}
    for path, manifest in manifests:
        rel = path.relative_to(root)
        if manifest.get("version") != version:
            yield f"{rel}: version {manifest.get('version')!r}, not {version}"
        for field in ("dependencies", "optionalDependencies", "peerDependencies"):
            for name, req in manifest.get(field, {}).items():
                if name in family and requirement_version(req) != version:
                    yield f"{rel}: {field} {name} {req!r}, not {version}"


def check_go(root, version):
    path = root / GO_VERSION_FILE
    if not path.is_file():
        return
    m = GO_CONST.search(path.read_text())
    if not m:
        yield f"{GO_VERSION_FILE}: no `const Version = \"...\"`"
    elif m.group(1) != version:
        yield f"{GO_VERSION_FILE}: Version {m.group(1)!r}, not {version}"


def check_pc_template(root, version):
    path = root / PC_TEMPLATE
    if not path.is_file():
        yield f"{PC_TEMPLATE} is missing"
        return
    m = re.search(r"^Version:\s*(\S+)\s*$", path.read_text(), re.MULTILINE)
    if not m:
        yield f"{PC_TEMPLATE}: no Version line"
    elif m.group(1) not in ("@VERSION@", version):
        yield f"{PC_TEMPLATE}: Version {m.group(1)!r}, not @VERSION@ or {version}"


def check_dist(root, version):
    dist = root / "dist"
    if not dist.is_dir():
        return
    for tarball in sorted(dist.glob("footmetrics-c-*.tar.gz")):
        if not tarball.name.startswith(f"footmetrics-c-{version}-"):
            yield f"dist/{tarball.name}: not version {version}"
        with tarfile.open(tarball) as tar:
            names = tar.getnames()
            pcs = [n for n in names if n.endswith("/pkgconfig/footmetrics.pc")]
            if not pcs:
                yield f"dist/{tarball.name}: no footmetrics.pc"
            for pc in pcs:
                text = tar.extractfile(pc).read().decode()
                m = re.search(r"^Version:\s*(\S+)", text, re.MULTILINE)
                if not m or m.group(1) != version:
                    yield f"dist/{tarball.name}: {pc} has Version {m and m.group(1)!r}, not {version}"
            if not any(n.endswith(f"/libfootmetrics.so.{version}") for n in names):
                yield f"dist/{tarball.name}: no libfootmetrics.so.{version}"
    py = pep440(version)
    for wheel in sorted(dist.glob("footmetrics-*.whl")):
        if wheel.name.split("-")[1] != py:
            yield f"dist/{wheel.name}: not version {py}"
        with zipfile.ZipFile(wheel) as z:
            for name in z.namelist():
                if name.endswith(".dist-info/METADATA"):
                    meta = z.read(name).decode()
                    m = re.search(r"^Version:\s*(\S+)", meta, re.MULTILINE)
                    if not m or m.group(1) != py:
                        yield f"dist/{wheel.name}: METADATA Version {m and m.group(1)!r}, not {py}"
    for tgz in sorted(dist.glob("*.tgz")):
        with tarfile.open(tgz) as tar:
            try:
                manifest = json.load(tar.extractfile("package/package.json"))
            except KeyError:
                continue
        if manifest.get("version") != version:
            yield f"dist/{tgz.name}: package.json version {manifest.get('version')!r}, not {version}"


CHECKS = (check_cargo, check_python, check_npm, check_go, check_pc_template, check_dist)


def findings(root):
    version = workspace_version(root)
    return [f for check in CHECKS for f in check(root, version)]


def main(argv):
    if len(argv) not in (2, 3) or argv[1] not in ("check", "print"):
        print(__doc__, file=sys.stderr)
        return 2
    root = pathlib.Path(argv[2]).resolve() if len(argv) == 3 else ROOT
    version = workspace_version(root)
    if argv[1] == "print":
        print(version)
        return 0
    problems = findings(root)
    for p in problems:
        print(f"version drift: {p}", file=sys.stderr)
    if problems:
        print(f"every package must carry the workspace version {version} (Cargo.toml)",
              file=sys.stderr)
        return 1
    go = "" if (root / GO_VERSION_FILE).is_file() else f" ({GO_VERSION_FILE} absent: not checked)"
    print(f"one version everywhere: {version}{go}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
