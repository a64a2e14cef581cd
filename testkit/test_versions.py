"""Tests of versions.py: it passes on this repository and on a consistent family, and names the
file of every kind of drift. Run by `make check-versions` (part of `make test`)."""

import io
import json
import pathlib
import sys
import tarfile
import tempfile
import unittest
import zipfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import versions

WORKSPACE = """[workspace]
members = ["core", "bindings-python"]

[workspace.package]
version = "1.4.0"

[workspace.dependencies]
footmetrics = { path = "core", version = "1.4.0" }
footmetrics-testkit = { path = "testkit" }
"""
MEMBER = '[package]\nname = "{name}"\nversion.workspace = true\n'


class Family:
    """A miniature repository whose every package is at 1.4.0."""

    def __init__(self, root):
        self.root = root
        self.write("Cargo.toml", WORKSPACE)
        self.write("core/Cargo.toml", MEMBER.format(name="footmetrics"))
        self.write("bindings-python/Cargo.toml", MEMBER.format(name="footmetrics-python"))
        self.write("bindings-python/pyproject.toml",
                   '[project]\nname = "footmetrics"\ndynamic = ["version"]\n')
        self.write("bindings-node/package.json", json.dumps({
            "name": "footmetrics", "version": "1.4.0",
            "optionalDependencies": {"footmetrics-linux-x64-gnu": "1.4.0"}}))
        self.write("bindings-node/npm/linux-x64-gnu/package.json", json.dumps({
            "name": "footmetrics-linux-x64-gnu", "version": "1.4.0"}))
        self.write("bindings-node/node_modules/other/package.json",
                   json.dumps({"name": "other", "version": "9.9.9"}))
        self.write("bindings-c/go/version.go", 'package footmetrics\n\nconst Version = "1.4.0"\n')
        self.write("bindings-c/footmetrics.pc.in", "Name: footmetrics\nVersion: @VERSION@\n")

    def write(self, rel, text):
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def replace(self, rel, old, new):
        path = self.root / rel
        text = path.read_text()
        assert old in text, (rel, old)
        path.write_text(text.replace(old, new))

    def add_c_tarball(self, name, pc_version):
        path = self.root / "dist" / name
        path.parent.mkdir(exist_ok=True)
        with tarfile.open(path, "w:gz") as tar:
            for member, data in (
                ("usr/local/lib/pkgconfig/footmetrics.pc", f"Version: {pc_version}\n"),
                ("usr/local/lib/libfootmetrics.so.1.4.0", ""),
            ):
                info = tarfile.TarInfo(member)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data.encode()))

    def add_wheel(self, name, metadata_version):
        path = self.root / "dist" / name
        path.parent.mkdir(exist_ok=True)
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("footmetrics-1.4.0.dist-info/METADATA",
                       f"Metadata-Version: 2.4\nName: footmetrics\nVersion: {metadata_version}\n")


class VersionsTest(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.family = Family(pathlib.Path(tmp.name))

    def drift(self):
        return versions.findings(self.family.root)

    def assertDrift(self, fragment):
        problems = self.drift()
        self.assertTrue(any(fragment in p for p in problems), problems)

    def test_this_repository_has_one_version(self):
        self.assertEqual(versions.findings(versions.ROOT), [])

    def test_consistent_family_passes(self):
        self.assertEqual(self.drift(), [])
        self.assertEqual(versions.main(["versions.py", "check", str(self.family.root)]), 0)

    def test_crate_with_its_own_version(self):
        self.family.replace("core/Cargo.toml", "version.workspace = true", 'version = "1.3.0"')
        self.assertDrift("core/Cargo.toml")

    def test_path_dependency_version(self):
        self.family.replace("Cargo.toml", 'path = "core", version = "1.4.0"',
                            'path = "core", version = "1.3.0"')
        self.assertDrift("[workspace.dependencies] footmetrics")

    def test_python_static_version(self):
        self.family.replace("bindings-python/pyproject.toml", 'dynamic = ["version"]',
                            'version = "1.3.0"')
        self.assertDrift("bindings-python/pyproject.toml")
        self.family.replace("bindings-python/pyproject.toml", '"1.3.0"', '"1.4.0"')
        self.assertEqual(self.drift(), [])

    def test_python_without_version(self):
        self.family.replace("bindings-python/pyproject.toml", 'dynamic = ["version"]', "")
        self.assertDrift("no version")

    def test_npm_main_and_platform_packages(self):
        self.family.replace("bindings-node/npm/linux-x64-gnu/package.json", "1.4.0", "1.3.9")
        self.assertDrift("bindings-node/npm/linux-x64-gnu/package.json")
        self.family.replace("bindings-node/npm/linux-x64-gnu/package.json", "1.3.9", "1.4.0")
        self.family.replace("bindings-node/package.json", '"footmetrics-linux-x64-gnu": "1.4.0"',
                            '"footmetrics-linux-x64-gnu": "1.3.0"')
        self.assertDrift("optionalDependencies footmetrics-linux-x64-gnu")

    def test_go_version_constant(self):
        self.family.replace("bindings-c/go/version.go", '"1.4.0"', '"1.3.0"')
        self.assertDrift("bindings-c/go/version.go")

    def test_go_version_file_absent_is_not_checked(self):
        (self.family.root / "bindings-c/go/version.go").unlink()
        self.assertEqual(self.drift(), [])

    def test_pkg_config_template(self):
        self.family.replace("bindings-c/footmetrics.pc.in", "@VERSION@", "1.3.0")
        self.assertDrift("bindings-c/footmetrics.pc.in")

    def test_dist_artefacts(self):
        self.family.add_c_tarball("footmetrics-c-1.4.0-x86_64-unknown-linux-gnu.tar.gz", "1.4.0")
        self.family.add_wheel("footmetrics-1.4.0-cp39-abi3-linux_x86_64.whl", "1.4.0")
        self.assertEqual(self.drift(), [])
        self.family.add_c_tarball("footmetrics-c-1.4.0-aarch64-unknown-linux-gnu.tar.gz", "1.3.0")
        self.assertDrift("aarch64-unknown-linux-gnu.tar.gz")
        self.family.add_wheel("footmetrics-1.3.0-cp39-abi3-linux_x86_64.whl", "1.3.0")
        self.assertDrift("dist/footmetrics-1.3.0-cp39-abi3-linux_x86_64.whl")

    def test_pep440(self):
        self.assertEqual(versions.pep440("0.1.0"), "0.1.0")
        self.assertEqual(versions.pep440("1.2.0-rc.1"), "1.2.0rc1")
        self.assertEqual(versions.pep440("1.2.0-beta.3"), "1.2.0b3")


if __name__ == "__main__":
    unittest.main()
