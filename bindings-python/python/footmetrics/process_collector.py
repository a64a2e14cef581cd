"""``process_*`` metrics (CPU, memory, file descriptors, start time), read by the Rust core
from ``/proc/self`` at scrape time, as ``prometheus_client.process_collector``."""

from footmetrics._core import PROCESS_COLLECTOR, ProcessCollector

__all__ = ["PROCESS_COLLECTOR", "ProcessCollector"]
