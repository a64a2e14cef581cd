"""docs/python.md: a custom collector, a push to the gateway's API shape, and the strict
OpenMetrics output."""
from footmetrics import CollectorRegistry, generate_latest
from footmetrics.openmetrics.exposition import generate_latest as generate_openmetrics

# docs:start collector
from footmetrics.core import GaugeMetricFamily
from footmetrics.registry import Collector


class QueueCollector(Collector):
    """Reads the queue's depth at scrape time."""

    def __init__(self, queue):
        self.queue = queue

    def collect(self):
        family = GaugeMetricFamily('video_processing_queue_length', 'Videos waiting',
                                   labels=['queue_type', 'priority'])
        family.add_metric(['ingest', 'high'], len(self.queue))
        yield family


registry = CollectorRegistry()
registry.register(QueueCollector(queue=['a.mp4', 'b.mp4']))
print(generate_latest(registry).decode())
# docs:end collector

value = registry.get_sample_value('video_processing_queue_length',
                                  {'queue_type': 'ingest', 'priority': 'high'})
assert value == 2.0, generate_latest(registry).decode()
assert generate_openmetrics(registry).decode().endswith("# EOF\n")
