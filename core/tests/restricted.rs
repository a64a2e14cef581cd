//! Restricted views, target info and collectors without names, as prometheus_client's
//! `CollectorRegistry` has them.

use footmetrics::{
    Collector, Desc, FnCollector, Format, MetricFamily, MetricType, Opts, PointValue, Registry,
};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn names(n: &[&str]) -> HashSet<String> {
    n.iter().map(|s| s.to_string()).collect()
}

#[test]
fn restricted_keeps_only_named_samples_of_selected_collectors() {
    let r = Registry::new();
    r.counter(&Opts::new("c_total", "help")).unwrap();
    let s = r.summary(&Opts::new("s", "help")).unwrap();
    s.observe(7.0);
    let got = r.gather_restricted(&names(&["s_sum"]));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].name, "s");
    assert_eq!(got[0].kind, MetricType::Summary);
    assert_eq!(
        got[0].points[0].value,
        PointValue::Sample {
            name: "s_sum".into(),
            value: 7.0,
            timestamp: None,
            exemplar: None
        }
    );
    assert_eq!(got[0].points.len(), 1);
}

#[test]
fn restricted_view_sees_later_metrics_and_renders() {
    let r = Registry::new();
    let view = r.restricted(["g".to_string()]);
    assert_eq!(view.render(Format::Text), "");
    r.gauge(&Opts::new("g", "a gauge")).unwrap().set(3.0);
    r.gauge(&Opts::new("other", "not asked")).unwrap().set(1.0);
    let text = view.render(Format::Text);
    assert!(text.contains("g 3"), "{text}");
    assert!(!text.contains("other"), "{text}");
}

fn counting(calls: Arc<AtomicUsize>, descs: Vec<Desc>) -> impl Collector {
    FnCollector::new(descs, move || {
        calls.fetch_add(1, Ordering::SeqCst);
        vec![MetricFamily::new("x", "h", MetricType::Gauge)]
    })
}

#[test]
fn nameless_collectors_are_collected_only_when_enabled() {
    let off = Registry::new();
    let calls = Arc::new(AtomicUsize::new(0));
    off.register(counting(calls.clone(), Vec::new())).unwrap();
    off.gather_restricted(&names(&["x"]));
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    let on = Registry::new();
    on.set_collect_nameless(true);
    let c = Arc::new(counting(calls.clone(), Vec::new()));
    on.register_arc(c.clone()).unwrap();
    on.gather_restricted(&names(&["x"]));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    on.unregister(&*c).unwrap();
    assert!(on.gather_restricted(&names(&["x"])).is_empty());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn target_info_is_rendered_first_and_reserves_its_name() {
    let r = Registry::new();
    r.gauge(&Opts::new("g", "a gauge")).unwrap();
    r.set_target_info(&[("foo", "bar")]).unwrap();
    assert_eq!(r.target_info(), Some(vec![("foo".into(), "bar".into())]));
    let text = r.render(Format::Text);
    assert!(
        text.starts_with("# HELP target_info Target metadata\n"),
        "{text}"
    );
    assert!(text.contains("target_info{foo=\"bar\"} 1"), "{text}");
    // While set, an info family `target` clashes; replacing the labels is fine.
    assert!(r.info(&Opts::new("target", "help")).is_err());
    r.set_target_info(&[("foo", "baz")]).unwrap();
    // Cleared, the name is free; then setting it clashes with that family.
    r.set_target_info::<&str, &str>(&[]).unwrap();
    assert_eq!(r.target_info(), None);
    r.info(&Opts::new("target", "help")).unwrap();
    assert!(r.set_target_info(&[("foo", "bar")]).is_err());
    r.unregister_name("target_info").unwrap();
    r.set_target_info(&[("foo", "bar")]).unwrap();
    let only = r.gather_restricted(&names(&["target_info"]));
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].name, "target");
}

#[test]
fn lock_is_free_between_scrapes() {
    let r = Registry::new();
    assert!(!r.is_locked());
}
