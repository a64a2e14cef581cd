"""A reader of Prometheus' protobuf exposition that footmetrics did not write: the `protobuf`
package (Google's) decodes the bytes, against a descriptor of client_model's
io/prometheus/client/metrics.proto (v0.6) declared here field by field (names, numbers, types
and labels as the published schema has them). No protoc is needed, and a field footmetrics
writes with the wrong number or wire type (say an int64 where the schema has a zigzag sint64)
decodes wrongly or not at all."""

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2
from google.protobuf.internal.decoder import _DecodeVarint32

CONTENT_TYPE = ("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
                "encoding=delimited")
# What Prometheus sends with --enable-feature=native-histograms (protobuf first).
ACCEPT = ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
          "encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3")

_F = descriptor_pb2.FieldDescriptorProto
OPT, REP = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
T = {"string": _F.TYPE_STRING, "double": _F.TYPE_DOUBLE, "uint64": _F.TYPE_UINT64,
     "uint32": _F.TYPE_UINT32, "sint32": _F.TYPE_SINT32, "sint64": _F.TYPE_SINT64,
     "int64": _F.TYPE_INT64}

# message -> [(label, type, name, number)]; a type starting with "." names a message or enum.
MESSAGES = {
    "LabelPair": [(OPT, "string", "name", 1), (OPT, "string", "value", 2)],
    "Gauge": [(OPT, "double", "value", 1)],
    "Counter": [(OPT, "double", "value", 1), (OPT, ".Exemplar", "exemplar", 2),
                (OPT, ".google.protobuf.Timestamp", "created_timestamp", 3)],
    "Quantile": [(OPT, "double", "quantile", 1), (OPT, "double", "value", 2)],
    "Summary": [(OPT, "uint64", "sample_count", 1), (OPT, "double", "sample_sum", 2),
                (REP, ".Quantile", "quantile", 3),
                (OPT, ".google.protobuf.Timestamp", "created_timestamp", 4)],
    "Untyped": [(OPT, "double", "value", 1)],
    "Histogram": [
        (OPT, "uint64", "sample_count", 1), (OPT, "double", "sample_count_float", 4),
        (OPT, "double", "sample_sum", 2), (REP, ".Bucket", "bucket", 3),
        (OPT, ".google.protobuf.Timestamp", "created_timestamp", 15),
        (OPT, "sint32", "schema", 5), (OPT, "double", "zero_threshold", 6),
        (OPT, "uint64", "zero_count", 7), (OPT, "double", "zero_count_float", 8),
        (REP, ".BucketSpan", "negative_span", 9), (REP, "sint64", "negative_delta", 10),
        (REP, "double", "negative_count", 11), (REP, ".BucketSpan", "positive_span", 12),
        (REP, "sint64", "positive_delta", 13), (REP, "double", "positive_count", 14),
        (REP, ".Exemplar", "exemplars", 16)],
    "Bucket": [(OPT, "uint64", "cumulative_count", 1),
               (OPT, "double", "cumulative_count_float", 4),
               (OPT, "double", "upper_bound", 2), (OPT, ".Exemplar", "exemplar", 3)],
    "BucketSpan": [(OPT, "sint32", "offset", 1), (OPT, "uint32", "length", 2)],
    "Exemplar": [(REP, ".LabelPair", "label", 1), (OPT, "double", "value", 2),
                 (OPT, ".google.protobuf.Timestamp", "timestamp", 3)],
    "Metric": [(REP, ".LabelPair", "label", 1), (OPT, ".Gauge", "gauge", 2),
               (OPT, ".Counter", "counter", 3), (OPT, ".Summary", "summary", 4),
               (OPT, ".Untyped", "untyped", 5), (OPT, ".Histogram", "histogram", 7),
               (OPT, "int64", "timestamp_ms", 6)],
    "MetricFamily": [(OPT, "string", "name", 1), (OPT, "string", "help", 2),
                     (OPT, ".MetricType", "type", 3), (REP, ".Metric", "metric", 4),
                     (OPT, "string", "unit", 5)],
}
METRIC_TYPES = ["COUNTER", "GAUGE", "SUMMARY", "UNTYPED", "HISTOGRAM", "GAUGE_HISTOGRAM"]
PACKAGE = "io.prometheus.client"


def _file():
    f = descriptor_pb2.FileDescriptorProto(name="io/prometheus/client/metrics.proto",
                                           package=PACKAGE, syntax="proto2",
                                           dependency=["google/protobuf/timestamp.proto"])
    enum = f.enum_type.add(name="MetricType")
    for number, name in enumerate(METRIC_TYPES):
        enum.value.add(name=name, number=number)
    for message, fields in MESSAGES.items():
        m = f.message_type.add(name=message)
        for label, kind, name, number in fields:
            field = m.field.add(name=name, number=number, label=label)
            if kind.startswith(".google"):
                field.type, field.type_name = _F.TYPE_MESSAGE, kind
            elif kind == ".MetricType":
                field.type, field.type_name = _F.TYPE_ENUM, f".{PACKAGE}.MetricType"
            elif kind.startswith("."):
                field.type, field.type_name = _F.TYPE_MESSAGE, f".{PACKAGE}{kind}"
            else:
                field.type = T[kind]
    return f


_pool = descriptor_pool.DescriptorPool()
_pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
_pool.Add(_file())
MetricFamily = message_factory.GetMessageClass(
    _pool.FindMessageTypeByName(f"{PACKAGE}.MetricFamily"))
HISTOGRAM = METRIC_TYPES.index("HISTOGRAM")


def parse_delimited(data):
    """The MetricFamily messages of a varint-length-delimited stream, in order."""
    families, pos = [], 0
    while pos < len(data):
        size, pos = _DecodeVarint32(data, pos)
        family = MetricFamily()
        family.ParseFromString(data[pos:pos + size])
        families.append(family)
        pos += size
    return families


def labels(metric):
    return {pair.name: pair.value for pair in metric.label}


def native_buckets(spans, deltas):
    """{bucket index: count} of the non-empty buckets, from spans and deltas as Prometheus
    expands them (a span may cover empty buckets: client_golang's bridge gaps of up to two)."""
    # The first span's offset is its first index; each later one's, the gap after the last.
    out, index, count, i = {}, 0, 0, 0
    for span in spans:
        index += span.offset
        for _ in range(span.length):
            count += deltas[i]
            i += 1
            out[index] = count
            index += 1
    assert i == len(deltas), "more deltas than the spans cover"
    assert all(c >= 0 for c in out.values()), out
    return {k: c for k, c in out.items() if c}
