//! Exact exposition lines for each type in both formats, content negotiation, and
//! registration rules.

use footmetrics::*;

fn lines(text: &str) -> Vec<&str> {
    let mut v: Vec<&str> = text.lines().collect();
    v.sort_unstable();
    v
}

#[test]
fn classic_text_lines() {
    let r = Registry::new();
    let c = r
        .counter_vec(&Opts::new("http_requests_total", "Requests.").labels(&["code"]))
        .unwrap();
    c.get(&["200"]).unwrap().inc_by_u64(3);
    c.get(&["a\"b\\c\nd"]).unwrap().inc_by(0.5).unwrap();
    r.gauge(&Opts::new("big", "Big.")).unwrap().set(1234567.0);
    let h = r
        .histogram(&Opts::new("lat_seconds", "Lat.").buckets(vec![0.5, 1.0]))
        .unwrap();
    h.observe(0.25);
    h.observe(0.75);
    h.observe(3.0);
    r.info(&Opts::new("build_info", "Build."))
        .unwrap()
        .set(&[("version", "1")])
        .unwrap();
    r.state_set(&Opts::new("mode", "Mode.").states(&["a", "b"]))
        .unwrap();
    let want = "# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{code=\"200\"} 3
http_requests_total{code=\"a\\\"b\\\\c\\nd\"} 0.5
# HELP big Big.
# TYPE big gauge
big 1.234567e+06
# HELP lat_seconds Lat.
# TYPE lat_seconds histogram
lat_seconds_bucket{le=\"0.5\"} 1
lat_seconds_bucket{le=\"1\"} 2
lat_seconds_bucket{le=\"+Inf\"} 3
lat_seconds_count 3
lat_seconds_sum 4
# HELP build_info Build.
# TYPE build_info gauge
build_info{version=\"1\"} 1
# HELP mode Mode.
# TYPE mode gauge
mode{mode=\"a\"} 1
mode{mode=\"b\"} 0
";
    assert_eq!(lines(&r.render(Format::Text)), lines(want));
}

#[test]
fn openmetrics_lines() {
    let r = Registry::with_const_labels(&[("env", "prod")]).unwrap();
    let c = r
        .counter(&Opts::new("jobs", "Jobs.").created(false))
        .unwrap();
    c.inc_by_with_exemplar(2.0, &[("trace_id", "t1")]).unwrap();
    let h = r
        .histogram(
            &Opts::new("lat_seconds", "Lat \"q\".")
                .unit("seconds")
                .buckets(vec![1.0])
                .created(false),
        )
        .unwrap();
    h.observe(0.5);
    r.info(&Opts::new("build", "Build."))
        .unwrap()
        .set(&[("version", "1")])
        .unwrap();
    let text = r.render(Format::OpenMetrics);
    let body: Vec<&str> = text.lines().filter(|l| !l.contains("_created")).collect();
    let want = vec![
        "# HELP jobs Jobs.",
        "# TYPE jobs counter",
        "jobs_total{env=\"prod\"} 2 # {trace_id=\"t1\"} 2 ",
        "# HELP lat_seconds Lat \\\"q\\\".",
        "# TYPE lat_seconds histogram",
        "# UNIT lat_seconds seconds",
        "lat_seconds_bucket{env=\"prod\",le=\"1.0\"} 1",
        "lat_seconds_bucket{env=\"prod\",le=\"+Inf\"} 1",
        "lat_seconds_count{env=\"prod\"} 1",
        "lat_seconds_sum{env=\"prod\"} 0.5",
        "# HELP build Build.",
        "# TYPE build info",
        "build_info{env=\"prod\",version=\"1\"} 1",
        "# EOF",
    ];
    assert_eq!(body.len(), want.len(), "{text}");
    for (got, want) in body.iter().zip(&want) {
        // The exemplar's timestamp varies: compare up to it.
        assert!(got.starts_with(want), "got {got:?}, want {want:?}");
    }
    assert!(text.ends_with("# EOF\n"));
    assert!(
        !text.contains("jobs_created"),
        "created(false) removes _created"
    );
    assert!(
        !r.render(Format::Text).contains("# {"),
        "no exemplars in the classic format"
    );
}

#[test]
fn fast_path_matches_owned_data() {
    let r = Registry::new();
    let c = r
        .counter_vec(
            &Opts::new("c_total", "C.")
                .labels(&["k"])
                .const_label("x", "y"),
        )
        .unwrap();
    for k in ["a", "b", "é\"\n"] {
        c.get(&[k]).unwrap().inc();
    }
    c.get(&["a"])
        .unwrap()
        .inc_by_with_exemplar(1.0, &[("trace_id", "z")])
        .unwrap();
    let h = r
        .histogram_vec(&Opts::new("h", "H.").labels(&["k"]).buckets(vec![0.1, 1.0]))
        .unwrap();
    h.get(&["a"])
        .unwrap()
        .observe_with_exemplar(0.5, &[("trace_id", "q")])
        .unwrap();
    r.summary(&Opts::new("s", "S.")).unwrap().observe(2.0);
    r.info(&Opts::new("i", "I."))
        .unwrap()
        .set(&[("v", "1")])
        .unwrap();
    r.state_set(&Opts::new("st", "St.").states(&["on", "off"]))
        .unwrap();
    r.gauge(&Opts::new("g", "G.")).unwrap().set(f64::NAN);
    for format in [Format::Text, Format::OpenMetrics] {
        let fast = r.render(format);
        let mut owned = Vec::new();
        let mut enc = Encoder::new(&mut owned, format, "");
        for f in r.gather() {
            enc.family(&f);
        }
        enc.finish();
        assert_eq!(
            lines(&fast),
            lines(std::str::from_utf8(&owned).unwrap()),
            "{format:?}"
        );
    }
}

#[test]
fn negotiation() {
    let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    assert_eq!(Format::negotiate(Some(prometheus)), Format::OpenMetrics);
    assert_eq!(Format::negotiate(Some("text/plain")), Format::Text);
    assert_eq!(Format::negotiate(None), Format::Text);
    assert_eq!(Format::negotiate(Some("garbage;;;=")), Format::Text);
    assert_eq!(
        Format::negotiate(Some("application/openmetrics-text;q=0,text/plain")),
        Format::Text
    );
    assert_eq!(
        Format::negotiate(Some("text/plain;q=0.5,application/openmetrics-text;q=0.9")),
        Format::OpenMetrics
    );
    assert_eq!(
        Format::negotiate(Some("application/openmetrics-text;version=2.0.0")),
        Format::Text
    );
    assert_eq!(
        Format::OpenMetrics.content_type(),
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert_eq!(
        Format::Text.content_type(),
        "text/plain; version=0.0.4; charset=utf-8"
    );
}

#[test]
fn registration_rules() {
    let r = Registry::new();
    let c: Family<Counter> = r.family(&Opts::new("foo", "F.")).unwrap();
    assert_eq!(
        r.register(c.clone()).unwrap_err(),
        Error::AlreadyRegistered("foo".into())
    );
    assert_eq!(
        r.gauge(&Opts::new("foo_total", "G.")).unwrap_err(),
        Error::AlreadyRegistered("foo_total".into())
    );
    assert!(matches!(
        r.gauge(&Opts::new("foo", "G.")),
        Err(Error::AlreadyRegistered(_))
    ));
    r.unregister(&c).unwrap();
    assert!(matches!(r.unregister(&c), Err(Error::NotRegistered(_))));
    r.gauge(&Opts::new("foo_total", "G.")).unwrap();
    r.unregister_name("foo_total").unwrap();
    assert!(!r.render(Format::Text).contains("foo"));

    let labelled = Registry::with_const_labels(&[("service", "x")]).unwrap();
    let clash = labelled.counter_vec(&Opts::new("a_total", "A.").labels(&["service"]));
    assert_eq!(
        clash.unwrap_err(),
        Error::DuplicateLabelName("service".into())
    );
    assert!(Registry::with_const_labels(&[("bad-name", "x")]).is_err());
    assert!(matches!(
        r.counter(&Opts::new("l_total", "L.").labels(&["a"])),
        Err(Error::InvalidOption(_))
    ));
}

#[test]
fn prometheus_client_text_style() {
    let r = Registry::new();
    let c = r
        .counter_vec(&Opts::new("jobs_total", "Jobs.").labels(&["queue"]))
        .unwrap();
    c.get(&["a"]).unwrap().inc();
    let h = r
        .histogram(&Opts::new("lat_seconds", "Lat.").buckets(vec![0.5, 5.0]))
        .unwrap();
    h.observe(1.0);
    r.gauge(&Opts::new("temp", "Temp.")).unwrap().set(2.0);
    let created = c.get(&["a"]).unwrap().created();
    let go = r.render(Format::Text);
    assert!(go.contains("le=\"5\"") && !go.contains("_created"), "{go}");

    r.set_text_style(TextStyle::PrometheusClient);
    let got = r.render(Format::Text);
    let mut want = String::from(
        "# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total{queue=\"a\"} 1\n\
         # HELP jobs_created Jobs.\n# TYPE jobs_created gauge\n",
    );
    want += &format!(
        "jobs_created{{queue=\"a\"}} {}\n",
        fmt::float_string(created)
    );
    want += "# HELP lat_seconds Lat.\n# TYPE lat_seconds histogram\n\
             lat_seconds_bucket{le=\"0.5\"} 0\nlat_seconds_bucket{le=\"5.0\"} 1\n\
             lat_seconds_bucket{le=\"+Inf\"} 1\nlat_seconds_count 1\nlat_seconds_sum 1\n\
             # HELP lat_seconds_created Lat.\n# TYPE lat_seconds_created gauge\n";
    assert!(got.starts_with(&want), "{got}");
    assert!(
        got.ends_with("# HELP temp Temp.\n# TYPE temp gauge\ntemp 2\n"),
        "{got}"
    );
    // OpenMetrics does not change with the style.
    let om = r.render(Format::OpenMetrics);
    assert!(om.contains(&format!(
        "jobs_created{{queue=\"a\"}} {}",
        fmt::float_string_openmetrics(created)
    )));
    assert_eq!(om.matches("# TYPE").count(), 3, "{om}");
}

#[test]
fn foreign_samples_in_both_formats() {
    let r = Registry::new();
    r.register(FnCollector::new(Vec::new(), || {
        let sample = |name: &str, value: f64, timestamp: Option<f64>| PointValue::Sample {
            name: name.to_owned(),
            value,
            timestamp,
            exemplar: None,
        };
        let mut g = MetricFamily::new("queue_age_seconds", "Age.", MetricType::GaugeHistogram);
        g.push(
            [("le", "1.0")],
            sample("queue_age_seconds_bucket", 2.0, None),
        );
        g.push(
            [("le", "+Inf")],
            sample("queue_age_seconds_bucket", 3.0, None),
        );
        g.push(
            Vec::<(String, String)>::new(),
            sample("queue_age_seconds_gcount", 3.0, None),
        );
        g.push(
            Vec::<(String, String)>::new(),
            sample("queue_age_seconds_gsum", 4.5, None),
        );
        let mut c = MetricFamily::new("pulls_total", "Pulls.", MetricType::Counter);
        c.push([("repo", "x")], sample("pulls_total", 7.0, Some(1.5)));
        c.push([("repo", "x")], sample("pulls_created", 100.0, None));
        vec![g, c]
    }))
    .unwrap();
    let text = r.render(Format::Text);
    assert_eq!(
        text,
        "# HELP queue_age_seconds Age.\n# TYPE queue_age_seconds histogram\n\
         queue_age_seconds_bucket{le=\"1.0\"} 2\nqueue_age_seconds_bucket{le=\"+Inf\"} 3\n\
         # HELP queue_age_seconds_gcount Age.\n# TYPE queue_age_seconds_gcount gauge\n\
         queue_age_seconds_gcount 3\n\
         # HELP queue_age_seconds_gsum Age.\n# TYPE queue_age_seconds_gsum gauge\n\
         queue_age_seconds_gsum 4.5\n\
         # HELP pulls_total Pulls.\n# TYPE pulls_total counter\npulls_total{repo=\"x\"} 7 1500\n"
    );
    r.set_text_style(TextStyle::PrometheusClient);
    assert!(r.render(Format::Text).ends_with(
        "# HELP pulls_created Pulls.\n# TYPE pulls_created gauge\npulls_created{repo=\"x\"} 100\n"
    ));
    let om = r.render(Format::OpenMetrics);
    assert!(
        om.contains("# TYPE queue_age_seconds gaugehistogram\n"),
        "{om}"
    );
    assert!(om.contains("queue_age_seconds_gsum 4.5\n"), "{om}");
    assert!(
        om.contains("pulls_total{repo=\"x\"} 7 1.5\npulls_created{repo=\"x\"} 100\n"),
        "{om}"
    );
    assert!(om.ends_with("# EOF\n"));
}
