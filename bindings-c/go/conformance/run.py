#!/usr/bin/env python3
"""Runs client_golang's external tests (package prometheus_test) against footmetrics' Go package.

`make conformance-go` runs this. Nothing of client_golang is checked in: the test files are taken
from the Go module cache (`go mod download -json`) at run time and copied into a generated scratch
module under target/conformance-go/, where only three import paths are rewritten:

    github.com/prometheus/client_golang/prometheus          -> bindings-c/go (named prometheus)
    github.com/prometheus/client_golang/prometheus/promhttp -> bindings-c/go/promhttp
    github.com/prometheus/client_golang/prometheus/promauto -> bindings-c/go/promauto

client_model, common and every other import stay as they are. The scratch module requires
client_golang at CLIENT_GOLANG_VERSION and replaces footmetrics' module by this checkout's
bindings-c/go, then `go test -json` runs with `-skip` built from skips.txt (next to this file).

It prints passed/failed/skipped per file (top-level tests and examples, mapped to the file that
declares them), the subtests' figures apart, and a last line `N passed, M failed, K skipped`.
Examples without an output comment are compiled but never run by `go test`; they are listed
apart and not counted. When the package does not compile, the compiler's errors are printed and
every test outside skips.txt is counted as failed.

Exit status: 0 when every test outside skips.txt passes and at least MINIMUM_PASS_RATE of all of
them (skipped ones included in the denominator) pass; 1 otherwise; 2 when the run could not be set
up (module download, go mod tidy, a malformed skip list).

--against-upstream leaves the imports alone, so the same files run against client_golang itself:
a check of this harness (it must give 100%).
"""

import argparse
import collections
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

CLIENT_GOLANG = "github.com/prometheus/client_golang"
CLIENT_GOLANG_VERSION = "v1.25.0"
OURS = "github.com/footanalytics/footmetrics/bindings-c/go"
# The files of client_golang's prometheus/ directory in package prometheus_test. utils_test.go
# holds helpers only. Checked against the module at run time: a file of that package missing
# from this list, or listed and absent, stops the run.
FILES = [
    "examples_test.go",
    "example_clustermanager_test.go",
    "example_metricvec_test.go",
    "example_timer_test.go",
    "example_timer_gauge_test.go",
    "example_timer_complex_test.go",
    "expvar_collector_test.go",
    "registry_test.go",
    "utils_test.go",
]
REWRITES = {
    f"{CLIENT_GOLANG}/prometheus": ("prometheus", OURS),
    f"{CLIENT_GOLANG}/prometheus/promhttp": ("promhttp", f"{OURS}/promhttp"),
    f"{CLIENT_GOLANG}/prometheus/promauto": ("promauto", f"{OURS}/promauto"),
}
MINIMUM_PASS_RATE = 0.95
TEST_TIMEOUT = "10m"

HERE = pathlib.Path(__file__).resolve().parent
GO_MODULE_DIR = HERE.parent  # bindings-c/go
ROOT = GO_MODULE_DIR.parent.parent
SKIPS = HERE / "skips.txt"

TEST_FUNC = re.compile(r"^func (Test\w*)\(\s*\w+\s+\*testing\.T\s*\)")
EXAMPLE_FUNC = re.compile(r"^func (Example\w*)\(\s*\)")
OUTPUT_COMMENT = re.compile(r"^\s*(unordered )?output:", re.IGNORECASE)
NAME = re.compile(r"^(Test|Example)\w*$")


class SetupError(Exception):
    pass


def go(args, cwd, check=True):
    env = dict(os.environ, GOWORK="off", GOFLAGS="")
    proc = subprocess.run(["go", *args], check=False, cwd=cwd, env=env, capture_output=True,
                          text=True)
    if check and proc.returncode != 0:
        raise SetupError(f"go {' '.join(args)} (in {cwd}) failed:\n{proc.stdout}{proc.stderr}")
    return proc


def module_dir():
    proc = go(["mod", "download", "-json", f"{CLIENT_GOLANG}@{CLIENT_GOLANG_VERSION}"], cwd=ROOT)
    info = json.loads(proc.stdout)
    if "Error" in info or not info.get("Dir"):
        raise SetupError(f"go mod download {CLIENT_GOLANG}@{CLIENT_GOLANG_VERSION}: "
                         f"{info.get('Error', 'no Dir')}")
    return pathlib.Path(info["Dir"])


def is_test_name(name, prefix):
    # go test's rule: the prefix alone, or followed by a character that is not a lower-case letter.
    rest = name[len(prefix):]
    return name.startswith(prefix) and (not rest or not rest[0].islower())


def declared(text):
    """(tests, examples run by go test, examples only compiled) declared at top level in `text`."""
    tests, run, compiled = [], [], []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = TEST_FUNC.match(line)
        if m and is_test_name(m.group(1), "Test") and m.group(1) != "TestMain":
            tests.append(m.group(1))
            continue
        m = EXAMPLE_FUNC.match(line)
        if not m or not is_test_name(m.group(1), "Example"):
            continue
        # go/doc: an example runs when the last comment of its body is an output comment.
        groups, previous_was_comment = [], False
        for body in lines[i + 1:]:
            if body == "}":
                break
            is_comment = body.strip().startswith("//")
            if is_comment and not previous_was_comment:
                groups.append(body.strip()[2:])
            previous_was_comment = is_comment
        (run if groups and OUTPUT_COMMENT.match(groups[-1]) else compiled).append(m.group(1))
    return tests, run, compiled


IMPORT_BLOCK = re.compile(r"^import \((.*?)^\)", re.MULTILINE | re.DOTALL)
IMPORT_LINE = re.compile(r'^(\s*)(?:([\w.]+)\s+)?"([^"]+)"', re.MULTILINE)
SINGLE_IMPORT = re.compile(r'^import (?:([\w.]+)\s+)?"([^"]+)"', re.MULTILINE)


def rewrite_imports(text):
    """Points the three client_golang packages at footmetrics; nothing else is touched."""
    def spec(indent, alias, path):
        if path not in REWRITES:
            return None
        name, new_path = REWRITES[path]
        return f'{indent}{alias or name} "{new_path}"'

    def block(m):
        def line(lm):
            return spec(lm.group(1), lm.group(2), lm.group(3)) or lm.group(0)
        return "import (" + IMPORT_LINE.sub(line, m.group(1)) + ")"

    def single(m):
        new = spec("", m.group(1), m.group(2))
        return "import " + new if new else m.group(0)

    # Imports precede every other declaration: only that part of the file is rewritten.
    first_decl = re.search(r"^(func|type|var|const) ", text, re.MULTILINE)
    cut = first_decl.start() if first_decl else len(text)
    head, tail = text[:cut], text[cut:]
    head = SINGLE_IMPORT.sub(single, IMPORT_BLOCK.sub(block, head))
    return head + tail


def read_skips():
    skips = {}
    for lineno, raw in enumerate(SKIPS.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, reason = line.partition(":")
        name, reason = name.strip(), reason.strip()
        where = f"{os.path.relpath(SKIPS, ROOT)}:{lineno}"
        if not sep or not reason:
            raise SetupError(f"{where}: expected `TestOrExampleName: reason`, got {raw!r}")
        if not NAME.match(name):
            raise SetupError(f"{where}: {name!r} is not a top-level test or example name")
        if name in skips:
            raise SetupError(f"{where}: {name} is listed twice")
        skips[name] = reason
    return skips


def write_module(scratch, upstream, source_dir):
    """The scratch module: go.mod, an empty package under test, the copied test files."""
    if scratch.exists():
        shutil.rmtree(scratch)
    pkg = scratch / "prometheus"
    pkg.mkdir(parents=True)
    # go 1.26: the test files use testing/synctest and other recent API.
    gomod = [
        "// Generated by bindings-c/go/conformance/run.py: every run rewrites this module.",
        "module footmetrics-conformance",
        "",
        "go 1.26",
        "",
        f"require {CLIENT_GOLANG} {CLIENT_GOLANG_VERSION}",
    ]
    if not upstream:
        gomod += [f"require {OURS} v0.0.0", "", f"replace {OURS} => {GO_MODULE_DIR}"]
    (scratch / "go.mod").write_text("\n".join(gomod) + "\n")
    # The files are an external test package: they need a package to be the test of.
    (pkg / "doc.go").write_text("// Package prometheus is empty: its external tests are "
                                "client_golang's, copied here.\npackage prometheus\n")
    files = {}
    for name in FILES:
        text = (source_dir / name).read_text()
        if not upstream:
            text = rewrite_imports(text)
        (pkg / name).write_text(text)
        files[name] = declared(text)
    return files


def check_file_list(source_dir):
    external = {p.name for p in source_dir.glob("*_test.go")
                if re.search(r"^package prometheus_test\b", p.read_text(), re.MULTILINE)}
    if external != set(FILES):
        raise SetupError(f"client_golang {CLIENT_GOLANG_VERSION}'s package prometheus_test files "
                         f"differ from FILES: missing here {sorted(external - set(FILES))}, "
                         f"absent there {sorted(set(FILES) - external)}")


def run_tests(scratch, skips):
    args = ["test", "-json", "-count=1", f"-timeout={TEST_TIMEOUT}"]
    if skips:
        args.append("-skip=^(" + "|".join(sorted(skips)) + ")$")
    # -gcflags=-e: every compile error, not the first ten.
    args += ["-gcflags=-e", "./prometheus"]
    print("+ go " + " ".join(args), flush=True)
    return go(args, cwd=scratch, check=False)


def parse_events(stdout):
    results = {}  # test name (subtests with '/') -> pass / fail / skip
    outputs = []  # (test, line) in the order printed
    build_output, package_output, stray = [], [], []
    package_failed = build_failed = False
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            stray.append(line)
            continue
        action, test = event.get("Action"), event.get("Test")
        if action == "build-output":
            build_output.append(event.get("Output", ""))
        elif action == "build-fail":
            build_failed = True
        elif test is None:
            if action == "output":
                package_output.append(event.get("Output", ""))
            elif action == "fail":
                package_failed = True
                build_failed = build_failed or bool(event.get("FailedBuild"))
        elif action in ("pass", "fail", "skip"):
            results[test] = action
        elif action == "output":
            outputs.append((test, event.get("Output", "")))
    return results, outputs, build_output, package_output, stray, package_failed, build_failed


def excerpt(lines, limit=25):
    text = "".join(lines).rstrip("\n").splitlines()
    if len(text) > limit:
        text = text[:limit] + [f"... ({len(text) - limit} more lines)"]
    return "\n".join("    " + t for t in text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against-upstream", action="store_true",
                        help="run the files against client_golang itself (imports untouched)")
    opts = parser.parse_args()
    upstream = opts.against_upstream
    target = "client_golang itself" if upstream else "footmetrics (bindings-c/go)"
    scratch = ROOT / "target" / "conformance-go" / ("upstream" if upstream else "footmetrics")

    try:
        source_dir = module_dir() / "prometheus"
        check_file_list(source_dir)
        skips = {} if upstream else read_skips()
        files = write_module(scratch, upstream, source_dir)
        go(["mod", "tidy"], cwd=scratch)
        resolved = go(["list", "-m", "-f", "{{.Version}}", CLIENT_GOLANG], cwd=scratch).stdout
        if resolved.strip() != CLIENT_GOLANG_VERSION:
            raise SetupError(f"the scratch module resolved {CLIENT_GOLANG} to {resolved.strip()}, "
                             f"not {CLIENT_GOLANG_VERSION}: footmetrics requires a newer one")
    except SetupError as e:
        print(f"conformance-go: {e}", file=sys.stderr)
        return 2

    file_of, compiled_only = {}, []
    for name, (tests, run, compiled) in files.items():
        for t in tests + run:
            file_of[t] = name
        compiled_only += compiled
    unknown = sorted(set(skips) - set(file_of))
    if unknown:
        print(f"conformance-go: skips.txt names tests client_golang {CLIENT_GOLANG_VERSION} "
              f"does not run: {', '.join(unknown)}", file=sys.stderr)
        return 2

    print(f"client_golang {CLIENT_GOLANG_VERSION}'s external tests against {target}: "
          f"{len(file_of)} tests and examples in {len(FILES)} files; {len(skips)} in skips.txt")
    proc = run_tests(scratch, skips)
    (results, outputs, build_output, package_output, stray,
     package_failed, build_failed) = parse_events(proc.stdout)
    if proc.stderr.strip():
        print(proc.stderr.rstrip())
    if stray:
        print("\n".join(stray))

    if build_failed:
        print("\nthe test package does not compile:")
        print("".join(build_output).rstrip() or "".join(package_output).rstrip())
        missing = sorted(set(re.findall(r"undefined: (prometheus\.\w+|promhttp\.\w+|promauto\.\w+)",
                                        "".join(build_output))))
        if missing:
            print(f"\nundefined identifiers ({len(missing)}): {', '.join(missing)}")

    # Each top-level test or example: its outcome, or why it has none.
    status = {}
    for name in file_of:
        if name in skips:
            status[name] = "skip"
        elif build_failed:
            status[name] = "fail"
        else:
            status[name] = results.get(name, "no result")
    unexpected = sorted(t for t in results if "/" not in t and t not in file_of)

    per_file = collections.OrderedDict((f, collections.Counter()) for f in FILES)
    for name, s in status.items():
        per_file[file_of[name]]["fail" if s == "no result" else s] += 1
    print()
    for name, c in per_file.items():
        only = len(files[name][2])
        only = f" ({only} example{'s' if only > 1 else ''} compiled only)" if only else ""
        if sum(c.values()):
            print(f"{name:34} {c['pass']:3} passed, {c['fail']:3} failed, {c['skip']:3} skipped"
                  + only)
        else:
            print(f"{name:34} nothing run{only}")

    failed = sorted(n for n, s in status.items() if s in ("fail", "no result"))
    if failed and not build_failed:
        print("\nfailed:")
        for name in (n for n in failed if status[n] == "fail"):
            print(f"  {name} ({file_of[name]})")
            own = [line for t, line in outputs if t == name or t.startswith(name + "/")]
            if own:
                print(excerpt(own))
        unfinished = [n for n in failed if status[n] == "no result"]
        if unfinished:
            print(f"  with no result, counted as failed (the test binary stopped first): "
                  f"{', '.join(unfinished)}")
    skipped_at_run = sorted(n for n, s in status.items() if s == "skip" and n not in skips)
    if skipped_at_run:
        print(f"\nskipped by the tests themselves: {', '.join(skipped_at_run)}")
    if skips:
        print(f"\nskipped by skips.txt: {', '.join(sorted(skips))}")
    if compiled_only:
        print(f"\nexamples without an output comment (compiled, never run; not counted): "
              f"{len(compiled_only)}")
    if unexpected:
        print(f"\nresults for tests not found in the copied files: {', '.join(unexpected)}")
    if package_failed and not build_failed and not failed:
        print("\nthe package failed outside any test:")
        print(excerpt(package_output, 60))

    sub = collections.Counter(s for t, s in results.items() if "/" in t)
    print(f"\nsubtests: {sub['pass']} passed, {sub['fail']} failed, {sub['skip']} skipped")
    counts = collections.Counter("fail" if s == "no result" else s for s in status.values())
    total = sum(counts.values())
    rate = counts["pass"] / total if total else 0.0
    print(f"pass rate {rate:.1%} (minimum {MINIMUM_PASS_RATE:.0%})")
    print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")

    ok = (not failed and not build_failed and not package_failed and not unexpected
          and rate >= MINIMUM_PASS_RATE and proc.returncode == 0)
    if proc.returncode != 0 and not (failed or build_failed or package_failed):
        print(f"go test exited {proc.returncode} with no failed test")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
