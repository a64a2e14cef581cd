//! Exposition checked by real validators: `promtool check metrics` for the classic text and
//! `prometheus_client`'s strict OpenMetrics parser, with parsed values compared to what was
//! recorded.

use footmetrics::*;
use footmetrics_testkit::{promtool_check, strict_openmetrics};
use proptest::prelude::*;
use serde_json::Value;

const TRICKY: &str = "quote \" backslash \\ newline \n end ⚽ 漢字 é";

fn rich_registry() -> Registry {
    let r = Registry::with_const_labels(&[("service", "api-gateway")]).unwrap();
    let requests = r
        .counter_vec(
            &Opts::new(
                "http_requests_total",
                "Total \"HTTP\" requests\nwith \\ escapes",
            )
            .labels(&["method", "route", "code"]),
        )
        .unwrap();
    requests
        .get(&["GET", "/matches/{id}", "200"])
        .unwrap()
        .inc_by_u64(41);
    requests.get(&["GET", TRICKY, "500"]).unwrap().inc();
    requests
        .with_label_values(&["POST", "/videos", "201"])
        .unwrap()
        .inc_by_with_exemplar(2.5, &[("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")])
        .unwrap();
    let latency = r
        .histogram_vec(
            &Opts::new("request_duration_seconds", "Latency.")
                .namespace("api")
                .unit("seconds")
                .labels(&["route"])
                .buckets(vec![0.1, 1.0, 10.0])
                .const_label("tier", "edge"),
        )
        .unwrap();
    let h = latency.with_label_values(&["/matches"]).unwrap();
    for v in [0.05, 0.5, 0.5, 5.0, 50.0] {
        h.observe(v);
    }
    h.observe_with_exemplar(0.7, &[("trace_id", "abc")])
        .unwrap();
    r.gauge(&Opts::new("queue_length", "Queue."))
        .unwrap()
        .set(-3.5);
    r.gauge(&Opts::new("not_a_number", "NaN gauge."))
        .unwrap()
        .set(f64::NAN);
    let s = r
        .summary(&Opts::new("batch_size_bytes", "Batches.").unit("bytes"))
        .unwrap();
    s.observe(1024.0);
    s.observe(2048.0);
    r.info(&Opts::new("build", "Build info."))
        .unwrap()
        .set(&[("version", "1.2.3"), ("commit", "abc")])
        .unwrap();
    let st = r
        .state_set(&Opts::new("pipeline_state", "State.").states(&["idle", "running", "failed"]))
        .unwrap();
    st.state("running").unwrap();
    let tiny = r
        .counter_vec(
            &Opts::new("uploads_total", "Uploads.")
                .labels(&["user"])
                .cardinality_limit(2),
        )
        .unwrap();
    for u in ["a", "b", "c", "d"] {
        tiny.get(&[u]).unwrap().inc();
    }
    r.register(FnCollector::new(Vec::new(), || {
        let mut f = MetricFamily::new(
            "custom_temperature_celsius",
            "From a callback.",
            MetricType::Gauge,
        )
        .with_unit("celsius");
        f.push([("room", "a")], PointValue::Gauge(21.5));
        vec![f]
    }))
    .unwrap();
    r.register(ProcessCollector::new()).unwrap();
    r
}

fn family<'a>(parsed: &'a Value, name: &str) -> &'a Value {
    parsed["ok"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no family {name} in {parsed}"))
}

fn sample<'a>(fam: &'a Value, name: &str, labels: &[(&str, &str)]) -> &'a Value {
    fam["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name && labels.iter().all(|(k, v)| s["labels"][*k] == *v))
        .unwrap_or_else(|| panic!("no sample {name} {labels:?} in {fam}"))
}

#[test]
fn openmetrics_passes_the_strict_parser_with_exact_values() {
    let text = rich_registry().render(Format::OpenMetrics);
    let parsed = strict_openmetrics(&text);
    assert!(
        parsed.get("ok").is_some(),
        "strict parser rejected:\n{text}\n{parsed}"
    );

    let req = family(&parsed, "http_requests");
    assert_eq!(req["type"], "counter");
    assert_eq!(req["help"], "Total \"HTTP\" requests\nwith \\ escapes");
    assert_eq!(
        sample(req, "http_requests_total", &[("route", "/matches/{id}")])["value"],
        41.0
    );
    let tricky = sample(req, "http_requests_total", &[("route", TRICKY)]);
    assert_eq!(tricky["value"], 1.0);
    assert_eq!(tricky["labels"]["service"], "api-gateway");
    let post = sample(req, "http_requests_total", &[("code", "201")]);
    assert_eq!(post["value"], 2.5);
    assert_eq!(
        post["exemplar"]["labels"]["trace_id"],
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert!(
        sample(req, "http_requests_created", &[("code", "201")])["value"]
            .as_f64()
            .unwrap()
            > 1.7e9
    );

    let lat = family(&parsed, "api_request_duration_seconds");
    assert_eq!(
        (lat["type"].as_str(), lat["unit"].as_str()),
        (Some("histogram"), Some("seconds"))
    );
    let bucket = |le: &str| {
        sample(lat, "api_request_duration_seconds_bucket", &[("le", le)])["value"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(
        [bucket("0.1"), bucket("1.0"), bucket("10.0"), bucket("+Inf")],
        [1.0, 4.0, 5.0, 6.0]
    );
    assert_eq!(
        sample(lat, "api_request_duration_seconds_count", &[])["value"],
        6.0
    );
    assert_eq!(
        sample(lat, "api_request_duration_seconds_bucket", &[("le", "1.0")])["labels"]["tier"],
        "edge"
    );
    assert_eq!(
        sample(lat, "api_request_duration_seconds_bucket", &[("le", "1.0")])["exemplar"]["labels"]
            ["trace_id"],
        "abc"
    );

    assert_eq!(
        sample(family(&parsed, "queue_length"), "queue_length", &[])["value"],
        -3.5
    );
    assert_eq!(
        sample(family(&parsed, "not_a_number"), "not_a_number", &[])["value"],
        "NaN"
    );
    let s = family(&parsed, "batch_size_bytes");
    assert_eq!(
        (s["type"].as_str(), s["unit"].as_str()),
        (Some("summary"), Some("bytes"))
    );
    assert_eq!(sample(s, "batch_size_bytes_sum", &[])["value"], 3072.0);
    let info = family(&parsed, "build");
    assert_eq!(info["type"], "info");
    assert_eq!(
        sample(
            info,
            "build_info",
            &[("version", "1.2.3"), ("commit", "abc")]
        )["value"],
        1.0
    );
    let st = family(&parsed, "pipeline_state");
    assert_eq!(st["type"], "stateset");
    assert_eq!(
        sample(st, "pipeline_state", &[("pipeline_state", "running")])["value"],
        1.0
    );
    assert_eq!(
        sample(st, "pipeline_state", &[("pipeline_state", "idle")])["value"],
        0.0
    );
    let up = family(&parsed, "uploads");
    assert_eq!(
        up["samples"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["name"] == "uploads_total")
            .count(),
        3
    );
    assert_eq!(
        sample(up, "uploads_total", &[("user", OVERFLOW_LABEL_VALUE)])["value"],
        2.0
    );
    let of = family(&parsed, "footmetrics_cardinality_overflow");
    assert_eq!(
        sample(
            of,
            "footmetrics_cardinality_overflow_total",
            &[("metric", "uploads")]
        )["value"],
        2.0
    );
    assert_eq!(
        sample(
            family(&parsed, "custom_temperature_celsius"),
            "custom_temperature_celsius",
            &[("room", "a")]
        )["value"],
        21.5
    );
    assert!(
        sample(
            family(&parsed, "process_resident_memory_bytes"),
            "process_resident_memory_bytes",
            &[]
        )["value"]
            .as_f64()
            .unwrap()
            > 0.0
    );
}

#[test]
fn strict_parser_rejects_a_broken_exposition() {
    // The validator must be able to fail: without `# EOF` it rejects our own output.
    let text = rich_registry()
        .render(Format::OpenMetrics)
        .replace("# EOF\n", "");
    assert!(strict_openmetrics(&text).get("error").is_some());
}

#[test]
fn classic_text_passes_promtool() {
    let text = rich_registry().render(Format::Text);
    let (ok, out) = promtool_check(&text);
    assert!(
        ok,
        "promtool check metrics failed:\n{out}\n--- input ---\n{text}"
    );
    // promtool prints lint findings even when it exits 0; there must be none.
    assert_eq!(out.trim(), "", "promtool lint findings:\n{out}");
    // And it can fail: a duplicate HELP line is an error.
    let (ok, _) = promtool_check(&format!("{text}# HELP queue_length again\n"));
    assert!(!ok);
}

fn any_label_value() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[\\\\\"\n a-z⚽]{0,12}"]
}

fn any_gauge_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        -1e6f64..1e6
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

    /// Random label values and values, 16 expositions per case checked in one parser run:
    /// every one parses strictly and round-trips exactly.
    #[test]
    fn random_series_round_trip(batch in prop::collection::vec((any_label_value(), any_gauge_value(), 0u64..u64::MAX / 2), 16)) {
        let mut docs = Vec::new();
        for (label, value, count) in &batch {
            let r = Registry::new();
            r.gauge_vec(&Opts::new("g", "G.").labels(&["v"])).unwrap().get(&[label]).unwrap().set(*value);
            r.counter_vec(&Opts::new("c_total", "C.").labels(&["v"])).unwrap().get(&[label]).unwrap().inc_by_u64(*count);
            docs.push(r.render(Format::OpenMetrics));
        }
        let parsed = strict_openmetrics(&docs.join("\n---\n"));
        for ((label, value, count), result) in batch.iter().zip(parsed.as_array().unwrap()) {
            prop_assert!(result.get("ok").is_some(), "rejected: {result}");
            let g = sample(family(result, "g"), "g", &[]);
            prop_assert_eq!(g["labels"]["v"].as_str().unwrap(), label.as_str());
            match &g["value"] {
                Value::String(s) if s == "NaN" => prop_assert!(value.is_nan()),
                Value::String(s) => prop_assert_eq!(s.as_str(), if *value > 0.0 { "+Inf" } else { "-Inf" }),
                v => prop_assert_eq!(v.as_f64().unwrap(), *value),
            }
            let c = sample(family(result, "c"), "c_total", &[]);
            prop_assert_eq!(c["value"].as_f64().unwrap(), *count as f64);
        }
    }
}
