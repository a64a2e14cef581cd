"""Parses OpenMetrics text from stdin with prometheus_client's strict parser and prints the
families as JSON. A parse error exits 1 with the parser's message. Input may hold several
expositions separated by a line `---`; the output is then a list of results."""
import json
import math
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families


def num(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return v


def parse(text):
    out = []
    for f in text_string_to_metric_families(text):
        samples = []
        for s in f.samples:
            ex = None
            if s.exemplar is not None:
                ex = {"labels": s.exemplar.labels, "value": num(s.exemplar.value)}
            samples.append({"name": s.name, "labels": s.labels, "value": num(s.value), "exemplar": ex})
        out.append({"name": f.name, "type": f.type, "unit": f.unit, "help": f.documentation, "samples": samples})
    return out


def main():
    docs = sys.stdin.read().split("\n---\n")
    results = []
    for d in docs:
        try:
            results.append({"ok": parse(d)})
        # Any error the parser raises (ValueError and friends) is the result to report.
        except Exception as e:  # noqa: BLE001
            results.append({"error": f"{type(e).__name__}: {e}"})
    json.dump(results if len(docs) > 1 else results[0], sys.stdout)


main()
