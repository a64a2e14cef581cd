"""footmetrics never imports prometheus_client: with it unimportable (as if uninstalled), the
package imports and works."""

import subprocess
import sys

PROGRAM = r'''
import sys
sys.modules["prometheus_client"] = None  # any import of it now raises ImportError
import footmetrics
import footmetrics.core, footmetrics.exposition, footmetrics.openmetrics.exposition
import footmetrics.registry, footmetrics.metrics_core, footmetrics.samples
registry = footmetrics.CollectorRegistry()
footmetrics.Counter("jobs", "Jobs.", registry=registry).inc(3)
assert registry.get_sample_value("jobs_total") == 3.0
assert "# TYPE jobs_total counter" in footmetrics.generate_latest(registry).decode()
assert not [m for m in sys.modules if m.startswith("prometheus_client.")]
'''


def test_footmetrics_works_without_prometheus_client():
    run = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                         timeout=60, check=False)
    assert run.returncode == 0, run.stderr
