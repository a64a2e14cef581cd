#!/usr/bin/env python3
"""The Go module users install, with the prebuilt static library in it, and its test.

    dist.py build   (make dist-go)       write dist/go/footmetrics and dist/go/proxy
    dist.py test    (make test-dist-go)  build and run the video exporter against them, from a
                                         fresh module outside the repository, with no Rust
                                         toolchain on PATH

In the repository, bindings-c/go links target/release/libfootmetrics.a (link_repo.go). The
module users get cannot: it carries the library. `build` copies the package's Go sources (tests
and link_repo.go left out), go.mod and go.sum into dist/go/footmetrics, with

    include/footmetrics.h                  the header (bindings-c/include)
    build/<GOOS>-<GOARCH>/libfootmetrics.a the static library of each platform, debug info stripped
    link_dist.go                           cgo directives picking build/<GOOS>-<GOARCH> by build
                                           constraint (`#cgo linux,amd64 LDFLAGS: ...`)
    unsupported.go                         a compile error naming the problem on other platforms

and zips that tree as the module proxy serves it (dist/go/proxy, the GOPROXY=file:// layout:
<module>/@v/list, vX.Y.Z.info, .mod, .zip), version "v" + Version (version.go), which must be the
workspace's version in Cargo.toml. The zip follows golang.org/x/mod/zip's rules (every file under
<module>@<version>/, limits of 500 MiB zipped and unzipped, 16 MiB for go.mod); `go` checks them
again when the test downloads it.

`test` makes a module in a temporary directory, copies examples/video-exporter-go/main.go into it
(its import path is already the module's), takes the module from dist/go/proxy (GOPROXY=file://,
a module cache of its own), builds it plainly and with -race with every PATH entry holding cargo
or rustc removed, runs each binary and scrapes its /metrics for the go_*, process_* and
video_processing_* families.
"""

import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

HERE = pathlib.Path(__file__).resolve().parent          # bindings-c/go
ROOT = HERE.parent.parent                               # the repository
MODULE = "github.com/footanalytics/footmetrics/bindings-c/go"
DIST = ROOT / "dist" / "go"
TREE = DIST / "footmetrics"
PROXY = DIST / "proxy"
LIB = "libfootmetrics.a"
# GOOS/GOARCH -> the static library cargo builds for it. One entry per platform released; each
# adds a build/<GOOS>-<GOARCH>/ folder and a `#cgo <goos>,<goarch> LDFLAGS` line.
PLATFORMS = {
    ("linux", "amd64"): ROOT / "target" / "release" / LIB,
}
# What the library needs from the system, on every platform built so far (glibc's).
SYSTEM_LIBS = "-lm -ldl -lpthread"
# x/mod/zip's limits (MaxZipFile, MaxGoMod).
MAX_ZIP = 500 << 20
MAX_GO_MOD = 16 << 20
# Module zips carry fixed times, so the same tree gives the same zip.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def fail(message):
    print(f"dist.py: {message}", file=sys.stderr)
    sys.exit(1)


def mib(n):
    return f"{n / (1 << 20):.1f} MiB"


def go_version_constant():
    text = (HERE / "version.go").read_text()
    found = re.search(r'^const Version = "([^"]+)"$', text, re.MULTILINE)
    if not found:
        fail("bindings-c/go/version.go has no `const Version = \"x.y.z\"` line")
    return found.group(1)


def cargo_version():
    text = (ROOT / "Cargo.toml").read_text()
    section = re.search(r"^\[workspace\.package\]\n(.*?)(?:^\[|\Z)", text,
                        re.MULTILINE | re.DOTALL)
    found = section and re.search(r'^version\s*=\s*"([^"]+)"', section.group(1), re.MULTILINE)
    if not found:
        fail("Cargo.toml has no version in [workspace.package]")
    return found.group(1)


def module_version():
    version = go_version_constant()
    if version != cargo_version():
        fail(f"bindings-c/go/version.go says {version}, Cargo.toml's workspace {cargo_version()}")
    return "v" + version


def escape(path):
    """The module proxy's case escaping (an upper-case letter becomes ! and its lower case)."""
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), path)


def source_files():
    """The package's files that go into the module: Go sources without tests, go.mod, go.sum."""
    files = [HERE / "go.mod", HERE / "go.sum"]
    for path in sorted(HERE.rglob("*.go")):
        rel = path.relative_to(HERE)
        if path.name.endswith("_test.go") or rel == pathlib.Path("link_repo.go"):
            continue
        skipped = ("testdata", "vendor")
        if any(part in skipped or part.startswith((".", "_")) for part in rel.parts[:-1]):
            continue
        if path.parent != HERE and (path.parent / "go.mod").exists():
            fail(f"{rel.parent} is a module of its own; the dist module would leave it out")
        files.append(path)
    return files


LINK_DIST = """\
// Code generated by bindings-c/go/dist.py (make dist-go). DO NOT EDIT.

package footmetrics

// The header is include/footmetrics.h; the static library of each platform this module carries
// is build/<GOOS>-<GOARCH>/libfootmetrics.a, and cgo links the one of the platform being built.

/*
#cgo CFLAGS: -I${{SRCDIR}}/include
{ldflags}
#cgo LDFLAGS: {system}
*/
import "C"
"""

UNSUPPORTED = """\
// Code generated by bindings-c/go/dist.py (make dist-go). DO NOT EDIT.

//go:build !({constraint})

package footmetrics

// This module carries the footmetrics static library for {platforms} only: building for
// another GOOS/GOARCH stops here rather than at the linker's undefined fm_* symbols.
var _ = footmetrics_has_no_prebuilt_library_for_this_GOOS_GOARCH
"""


def strip_debug(path):
    strip = shutil.which("strip")
    if strip is None:
        fail("`strip` (binutils) not found: the library would keep its debug info")
    subprocess.run([strip, "--strip-debug", str(path)], check=True)


def largest_members(path, count=5):
    """The archive's largest members (object files), from `ar tv`: size, name."""
    try:
        listing = subprocess.run(["ar", "tv", str(path)], check=True, capture_output=True,
                                 text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    members = []
    for line in listing.splitlines():
        found = re.match(r"^\S+\s+\S+\s+(\d+)\s+.*?\d{4}\s+(.+)$", line)
        if found:
            members.append((int(found.group(1)), found.group(2)))
    return sorted(members, reverse=True)[:count]


def write_tree(version):
    if TREE.exists():
        shutil.rmtree(TREE)
    for path in source_files():
        target = TREE / path.relative_to(HERE)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    (TREE / "include").mkdir()
    header = ROOT / "bindings-c" / "include" / "footmetrics.h"
    shutil.copyfile(header, TREE / "include" / "footmetrics.h")

    ldflags = []
    for (goos, goarch), lib in sorted(PLATFORMS.items()):
        if not lib.is_file():
            fail(f"{lib.relative_to(ROOT)} is missing: `make c` builds it")
        folder = TREE / "build" / f"{goos}-{goarch}"
        folder.mkdir(parents=True)
        shutil.copyfile(lib, folder / LIB)
        before = (folder / LIB).stat().st_size
        strip_debug(folder / LIB)
        after = (folder / LIB).stat().st_size
        print(f"{goos}/{goarch}: {lib.relative_to(ROOT)} {mib(before)}, "
              f"{mib(after)} with its debug info stripped")
        for size, name in largest_members(folder / LIB):
            print(f"    {mib(size):>10}  {name}")
        ldflags.append(f"#cgo {goos},{goarch} LDFLAGS: ${{SRCDIR}}/build/{goos}-{goarch}/{LIB}")
    link = LINK_DIST.format(ldflags="\n".join(ldflags), system=SYSTEM_LIBS)
    (TREE / "link_dist.go").write_text(link)
    constraint = " || ".join(f"{goos} && {goarch}" for goos, goarch in sorted(PLATFORMS))
    platforms = ", ".join(f"{goos}/{goarch}" for goos, goarch in sorted(PLATFORMS))
    unsupported = UNSUPPORTED.format(constraint=constraint, platforms=platforms)
    (TREE / "unsupported.go").write_text(unsupported)
    unformatted = subprocess.run(["gofmt", "-l", str(TREE)], check=True, capture_output=True,
                                 text=True).stdout.strip()
    if unformatted:
        fail(f"gofmt would change {unformatted}")
    # The module must stand alone: no cgo directive in it may point back into the repository.
    for path in TREE.rglob("*.go"):
        for directive in re.findall(r"^\s*#cgo.*", path.read_text(), re.MULTILINE):
            if "../" in directive or "target/" in directive:
                fail(f"{path.relative_to(ROOT)} still points into the repository: {directive}")


def write_proxy(version):
    if PROXY.exists():
        shutil.rmtree(PROXY)
    at_v = PROXY / escape(MODULE) / "@v"
    at_v.mkdir(parents=True)
    prefix = f"{MODULE}@{version}/"
    files = sorted(p for p in TREE.rglob("*") if p.is_file())
    unzipped = 0
    with zipfile.ZipFile(at_v / f"{version}.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            rel = path.relative_to(TREE).as_posix()
            info = zipfile.ZipInfo(prefix + rel, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            data = path.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data)
    go_mod = (TREE / "go.mod").read_bytes()
    (at_v / f"{version}.mod").write_bytes(go_mod)
    info = {"Version": version, "Time": "1980-01-01T00:00:00Z"}
    (at_v / f"{version}.info").write_text(json.dumps(info) + "\n")
    (at_v / "list").write_text(version + "\n")
    zipped = (at_v / f"{version}.zip").stat().st_size
    print(f"module {MODULE}@{version}: {len(files)} files, {mib(unzipped)} unzipped, "
          f"zip {mib(zipped)} (the proxy's limit is {mib(MAX_ZIP)} each)")
    if zipped > MAX_ZIP or unzipped > MAX_ZIP or len(go_mod) > MAX_GO_MOD:
        fail("the module is over the module proxy's size limits")


def build():
    version = module_version()
    write_tree(version)
    write_proxy(version)
    print(f"wrote {TREE.relative_to(ROOT)} and {PROXY.relative_to(ROOT)} (GOPROXY=file:// layout)")


# ---- test ---------------------------------------------------------------------------------

EXPECTED_FAMILIES = ("go_goroutines", "go_memstats_alloc_bytes", "process_cpu_seconds_total",
                     "process_resident_memory_bytes", "video_processing_queue_length",
                     "video_processing_batches_total")


def rustless_path():
    """PATH less the folders holding cargo or rustc (rustup's ~/.cargo/bin, a toolchain's)."""
    def rusty(entry):
        return any(os.path.exists(os.path.join(entry, tool)) for tool in ("cargo", "rustc"))

    kept = [entry for entry in os.environ.get("PATH", "").split(os.pathsep)
            if entry and not rusty(entry)]
    path = os.pathsep.join(kept)
    for tool in ("cargo", "rustc"):
        if shutil.which(tool, path=path) is not None:
            fail(f"{tool} is still on the stripped PATH")
    for tool in ("go", "cc"):
        if shutil.which(tool, path=path) is None:
            fail(f"{tool} went with the Rust toolchain's PATH entries; the test needs it")
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def families(text):
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def run_and_scrape(binary, env, label):
    """Runs the exporter, scrapes its /metrics until every expected family is there, stops it."""
    with tempfile.TemporaryFile("w+") as log:
        port = free_port()
        proc = subprocess.Popen([str(binary), "-addr", f"127.0.0.1:{port}"], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            body = scrape(proc, port, log, label)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.seek(0)
        output = log.read()
    if "DATA RACE" in output:
        fail(f"{label}: the race detector reported:\n{output}")
    for prefix in ("go_", "process_", "video_processing_"):
        count = sum(1 for name in families(body) if name.startswith(prefix))
        print(f"{label}: {count} {prefix}* families")
    ingest = r'^video_processing_queue_length\{[^}]*queue_type="ingest"[^}]*\} \S+$'
    if not re.search(ingest, body, re.MULTILINE):
        fail(f"{label}: no video_processing_queue_length series for the ingest queue:\n"
             f"{body[:2000]}")


def scrape(proc, port, log, label):
    deadline = time.monotonic() + 60
    body, missing = "", set(EXPECTED_FAMILIES)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            fail(f"{label}: the exporter exited with {proc.returncode}:\n{log.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
                body = reply.read().decode()
        except OSError:
            time.sleep(0.25)
            continue
        # The batches counter has series once the exporter's first round (after 1 s) ran.
        missing = set(EXPECTED_FAMILIES) - families(body)
        if not missing and "video_processing_batches_total{" in body:
            return body
        time.sleep(0.25)
    fail(f"{label}: /metrics lacks {sorted(missing)} after 60 s:\n{body[:2000]}")


def test():
    version = module_version()
    zip_path = PROXY / escape(MODULE) / "@v" / f"{version}.zip"
    if not zip_path.is_file():
        fail(f"{zip_path.relative_to(ROOT)} is missing: run `make dist-go` first")
    main_go = (ROOT / "examples" / "video-exporter-go" / "main.go").read_text()
    if f'"{MODULE}"' not in main_go:
        fail(f"examples/video-exporter-go/main.go no longer imports {MODULE}")

    path = rustless_path()
    base = os.environ.copy()
    real_cache = subprocess.run(["go", "env", "GOMODCACHE"], check=True, capture_output=True,
                                text=True).stdout.strip()
    real_proxy = subprocess.run(["go", "env", "GOPROXY"], check=True, capture_output=True,
                                text=True).stdout.strip()
    work = pathlib.Path(tempfile.mkdtemp(prefix="footmetrics-test-dist-go-"))
    if ROOT in work.parents:
        fail(f"the temporary directory {work} is inside the repository")
    keep = bool(os.environ.get("FOOTMETRICS_KEEP"))
    try:
        for var in ("CARGO", "CARGO_HOME", "CARGO_TARGET_DIR", "RUSTC", "RUSTUP_HOME",
                    "RUSTUP_TOOLCHAIN"):
            base.pop(var, None)
        # The footmetrics module comes only from dist/go/proxy; its dependencies from the module
        # cache already on this machine when they are there (it is a file proxy too), else the
        # proxy configured. A module cache of its own, so no earlier download of the module is used.
        proxies = [PROXY.as_uri()]
        if real_cache and os.path.isdir(os.path.join(real_cache, "cache", "download")):
            proxies.append(pathlib.Path(real_cache, "cache", "download").as_uri())
        proxies.append(real_proxy or "https://proxy.golang.org,direct")
        env = dict(base, PATH=path, GOPROXY=",".join(proxies), GOMODCACHE=str(work / "modcache"),
                   GONOSUMDB=MODULE, GOWORK="off",
                   GOFLAGS=(base.get("GOFLAGS", "") + " -modcacherw").strip(),
                   GORACE="halt_on_error=1")
        app = work / "video-exporter"
        app.mkdir()
        (app / "main.go").write_text(main_go)

        def go(*args, capture=False):
            print(f"[{app}] go {' '.join(args)}", flush=True)
            done = subprocess.run(["go", *args], cwd=app, env=env, text=True, check=False,
                                  capture_output=capture)
            if done.returncode != 0:
                fail(f"go {' '.join(args)} failed:\n{done.stdout or ''}{done.stderr or ''}")
            return done.stdout

        go("mod", "init", "example.com/video-exporter")
        go("get", f"{MODULE}@{version}")
        go("mod", "tidy")
        go("mod", "verify")
        listed = json.loads(go("list", "-m", "-json", MODULE, capture=True))
        module_dir = pathlib.Path(listed["Dir"])
        if listed["Version"] != version or work not in module_dir.parents:
            fail(f"the module did not come from dist/go/proxy into the test's own cache: {listed}")
        ldflags = go("list", "-f", "{{.CgoLDFLAGS}}", MODULE, capture=True)
        if str(ROOT) in ldflags or "target/release" in ldflags or str(module_dir) not in ldflags:
            fail(f"the package links something other than its own build/ folder: {ldflags}")
        print(f"linking {ldflags.strip()}")
        go("build", "-o", str(work / "video-exporter-bin"), ".")
        go("build", "-race", "-o", str(work / "video-exporter-race"), ".")
        go("vet", ".")
        run_and_scrape(work / "video-exporter-bin", env, "video-exporter")
        run_and_scrape(work / "video-exporter-race", env, "video-exporter -race")
        print(f"test-dist-go: {MODULE}@{version} from {PROXY.relative_to(ROOT)} built and served "
              "the video exporter's metrics, plain and under -race, without cargo or rustc on PATH")
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    commands = {"build": build, "test": test}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        fail("usage: dist.py build|test")
    commands[sys.argv[1]]()
