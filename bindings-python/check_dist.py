"""Checks the Python release artefacts that `make dist-python` wrote into dist/, as a user gets
them (`make test-dist-python`):

- the wheel is one abi3 wheel (CPython 3.9+) tagged manylinux2014 / manylinux_2_17, a tag
  auditwheel confirms from the symbols the extension really links against, with the workspace's
  version (Cargo.toml) and an extension module carrying no symbol table or debug info;
- the sdist holds what a build from source needs (the Cargo workspace, the path dependencies'
  sources, the lock file, the Python sources) and the same version;
- the wheel installs with `pip install --no-index --find-links dist footmetrics` into a fresh
  virtualenv outside the repository, with no Rust toolchain on PATH, and, run from a directory
  where neither the repository's target/ nor bindings-python/ can be imported, serves the
  platform document's ML pipeline snippet (examples/platform-snippets/ml_pipeline.py, only its
  import changed) on /metrics with every family it defines.

Usage: python check_dist.py [DIST]   (default: dist/ at the repository root)
"""

import os
import platform
import re
import shutil
import socket
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[1]
SNIPPET = REPO / "examples" / "platform-snippets" / "ml_pipeline.py"
ARCH = platform.machine()
PLATFORM_TAGS = (f"manylinux_2_17_{ARCH}", f"manylinux2014_{ARCH}")

# The platform's services run the snippet in a process of their own and serve it with
# `start_http_server(port)`; `model` and `batch` are the service's own (stand-ins here).
SERVICE = r'''
import pathlib, sys, time

class Model:
    def predict(self, batch):
        time.sleep(0.01)
        return len(batch)

model, batch = Model(), list(range(32))
fixture = pathlib.Path(sys.argv[1]).read_text()
snippet = fixture.split("---- verbatim below ----\n")[1]
exec(snippet.replace("from prometheus_client import", "from footmetrics import"))
assert result == 32  # noqa: F821 (set by the snippet)
start_http_server(int(sys.argv[2]), addr="127.0.0.1")  # noqa: F821 (imported by the snippet)
import footmetrics
print("serving", footmetrics.__file__, flush=True)
time.sleep(600)
'''


def check(condition, message):
    if not condition:
        sys.exit(f"check_dist: {message}")


def workspace_version():
    """`version` of Cargo.toml's [workspace.package] (read without tomllib, which needs 3.11)."""
    text = (REPO / "Cargo.toml").read_text()
    section = re.search(r"^\[workspace\.package\]\n(.*?)(?=^\[)", text, re.MULTILINE | re.DOTALL)
    check(section is not None, "Cargo.toml has no [workspace.package] table")
    version = re.search(r'^version\s*=\s*"([^"]+)"', section.group(1), re.MULTILINE)
    check(version is not None, "Cargo.toml's [workspace.package] has no version")
    return version.group(1)


def elf_section_names(data):
    """The section names of a little-endian ELF64 file."""
    check(data[:6] == b"\x7fELF\x02\x01", "the extension module is not a little-endian ELF64 file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    headers = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab_offset = headers[shstrndx][4]
    names = []
    for name, *_ in headers:
        start = strtab_offset + name
        names.append(data[start:data.index(b"\0", start)].decode())
    return names


def check_wheel(dist, version):
    wheels = sorted(dist.glob("footmetrics-*-cp*-*.whl"))
    check(len(wheels) == 1, f"expected one footmetrics wheel in {dist} (make dist-python), "
          f"found {[w.name for w in wheels]}")
    wheel = wheels[0]
    # name-version-python-abi-platforms.whl; maturin may write the two platform tags in either
    # order.
    name, wheel_version, python, abi, platforms = wheel.name[:-len(".whl")].split("-")
    check((name, wheel_version) == ("footmetrics", version),
          f"wheel {wheel.name}: not footmetrics {version} (Cargo.toml's workspace version)")
    check((python, abi) == ("cp39", "abi3"), f"wheel {wheel.name}: not one abi3 wheel for 3.9+")
    check(set(platforms.split(".")) == set(PLATFORM_TAGS),
          f"wheel {wheel.name}: platform tags are not {PLATFORM_TAGS}")
    with zipfile.ZipFile(wheel) as z:
        modules = [n for n in z.namelist() if n.startswith("footmetrics/_core") and
                   n.endswith(".so")]
        check(modules == ["footmetrics/_core.abi3.so"], f"extension modules: {modules}")
        sections = elf_section_names(z.read(modules[0]))
        metadata = z.read(f"footmetrics-{version}.dist-info/METADATA").decode()
    leftovers = [s for s in sections if s.startswith((".debug", ".symtab", ".strtab"))]
    check(not leftovers, f"the extension module is not stripped: {leftovers}")
    check(f"\nVersion: {version}\n" in metadata, "the wheel's METADATA version")
    check("\nRequires-Dist:" not in metadata, "the wheel declares runtime dependencies")

    auditwheel = Path(sys.executable).parent / "auditwheel"
    shown = subprocess.run([str(auditwheel), "show", str(wheel)], capture_output=True, text=True,
                           check=True).stdout
    print(shown.strip())
    squashed = " ".join(shown.split())
    check(f'is consistent with the following platform tag: "manylinux_2_17_{ARCH}"' in squashed,
          "auditwheel does not find the wheel consistent with manylinux_2_17")
    print(f"wheel {wheel.name}: {wheel.stat().st_size} bytes")
    return wheel


def check_sdist(dist, version):
    sdist = dist / f"footmetrics-{version}.tar.gz"
    check(sdist.is_file(), f"{sdist} is missing (make dist-python)")
    root = f"footmetrics-{version}"
    with tarfile.open(sdist) as t:
        names = set(t.getnames())
        pkg_info = t.extractfile(f"{root}/PKG-INFO").read().decode()
    # maturin keeps the Cargo workspace's layout (only the members the package needs, the lock
    # file included, so a build from the sdist resolves the same crates) and puts the Python
    # sources under python/, beside the pyproject.toml it points at bindings-python/Cargo.toml.
    needed = ["pyproject.toml", "Cargo.toml", "Cargo.lock",
              "bindings-python/Cargo.toml", "bindings-python/src/lib.rs",
              "python/footmetrics/__init__.py", "python/footmetrics/_core.pyi",
              "core/Cargo.toml", "core/src/lib.rs", "otlp/Cargo.toml", "otlp/src/lib.rs",
              "tower-layer/Cargo.toml", "tower-layer/src/lib.rs"]
    missing = [n for n in needed if f"{root}/{n}" not in names]
    check(not missing, f"the sdist lacks {missing}")
    check(f"\nVersion: {version}\n" in pkg_info, "the sdist's PKG-INFO version")
    print(f"sdist {sdist.name}: {sdist.stat().st_size} bytes, {len(names)} entries")


def without_rust(env):
    """The environment with every PATH entry holding cargo or rustc removed, and no variable
    pointing at a Rust toolchain, a Python path or a virtualenv."""
    kept = [d for d in env.get("PATH", "").split(os.pathsep)
            if d and not any(os.path.exists(os.path.join(d, t)) for t in ("cargo", "rustc"))]
    clean = {k: v for k, v in env.items()
             if not k.startswith(("CARGO", "RUSTUP", "RUSTC", "PYTHON", "VIRTUAL_ENV", "PIP_"))}
    clean["PATH"] = os.pathsep.join(kept)
    return clean


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port, service):
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                return r.read().decode()
        except OSError:
            check(service.poll() is None, "the service exited")
            check(time.monotonic() < deadline, "the service never answered on /metrics")
            time.sleep(0.2)


def check_installed(dist, version):
    place = Path(tempfile.mkdtemp(prefix="footmetrics-test-dist-"))
    try:
        check(REPO not in place.parents, "the scratch directory is inside the repository")
        env = without_rust(os.environ)
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        for tool in ("cargo", "rustc"):
            check(shutil.which(tool, path=env["PATH"]) is None, f"{tool} is still on PATH")
            found = subprocess.run(["sh", "-c", f"command -v {tool}"], env=env,
                                   capture_output=True, check=False)
            check(found.returncode != 0, f"the shell still finds {tool}")
        venv = place / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env, cwd=place)
        python = str(venv / "bin" / "python")
        env["PATH"] = os.pathsep.join([str(venv / "bin"), env["PATH"]])
        # No cache: a wheel pip once built from an sdist must not stand in for dist/'s.
        subprocess.run([python, "-m", "pip", "install", "-q", "--no-cache-dir", "--no-index",
                        "--find-links", str(dist), "footmetrics"], check=True, env=env, cwd=place)

        # -I: neither the working directory nor PYTHONPATH nor the user's site-packages is on
        # sys.path, so only the virtualenv's copy can be imported.
        probe = ("import importlib.metadata as m, footmetrics, footmetrics._core as c; "
                 "d = m.distribution('footmetrics'); "
                 "print(footmetrics.__file__, c.__file__, d.version, "
                 "','.join(sorted(line[5:] for line in d.read_text('WHEEL').splitlines() "
                 "if line.startswith('Tag: '))), sep='\\n')")
        out = subprocess.run([python, "-I", "-c", probe], check=True, env=env, cwd=place,
                             capture_output=True, text=True).stdout.split("\n")
        package, extension, installed_version, tags = out[:4]
        for path in (package, extension):
            check(Path(path).resolve().is_relative_to(venv.resolve()),
                  f"footmetrics was imported from {path}, not from the fresh virtualenv")
        check(installed_version == version, f"installed version {installed_version}")
        check(tags == ",".join(sorted(f"cp39-abi3-{p}" for p in PLATFORM_TAGS)),
              f"installed from a wheel tagged {tags}, not the abi3 manylinux2014 one")
        print(f"installed footmetrics {installed_version} ({tags}) into {venv} "
              "without cargo or rustc on PATH")

        service_py = place / "service.py"
        service_py.write_text(SERVICE)
        port = free_port()
        service = subprocess.Popen([python, "-I", str(service_py), str(SNIPPET), str(port)],
                                   env=env, cwd=place, stdout=subprocess.PIPE, text=True)
        try:
            line = service.stdout.readline().split()
            check(line[:1] == ["serving"], f"the service did not start: {line}")
            check(Path(line[1]).resolve().is_relative_to(venv.resolve()),
                  f"the service imported footmetrics from {line[1]}")
            text = scrape(port, service)
        finally:
            service.kill()
            service.wait()
        check_families(text)
    finally:
        shutil.rmtree(place, ignore_errors=True)


def check_families(text):
    families = {f.name: f for f in text_string_to_metric_families(text)}
    expected = {"ml_inference_duration_seconds": "histogram",
                "ml_model_accuracy_score": "gauge",
                "gpu_memory_usage_bytes": "gauge",
                "python_info": "gauge",
                "process_cpu_seconds": "counter",
                "python_gc_collections": "counter"}
    for name, kind in expected.items():
        check(name in families, f"/metrics lacks the {name} family")
        check(families[name].type == kind, f"{name} is a {families[name].type}, not a {kind}")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in families.values() for s in f.samples}
    inference = (("batch_size", "32"), ("device", "cuda"), ("model_version", "v2"))
    check(samples.get(("ml_inference_duration_seconds_count", inference)) == 1.0,
          "the inference was not timed once")
    duration = samples.get(("ml_inference_duration_seconds_sum", inference))
    check(duration is not None and 0.01 <= duration < 5, f"the inference took {duration} s")
    accuracy = (("dataset", "validation"), ("model_version", "v2"))
    check(samples.get(("ml_model_accuracy_score", accuracy)) == 0.87, "the accuracy score")
    check(not families["gpu_memory_usage_bytes"].samples,
          "gpu_memory_usage_bytes has samples the snippet never set")
    print(f"/metrics served {len(families)} families, the snippet's three among them")


def main():
    dist = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else REPO / "dist"
    version = workspace_version()
    check_wheel(dist, version)
    check_sdist(dist, version)
    check_installed(dist, version)
    print("test-dist-python: ok")


if __name__ == "__main__":
    main()
