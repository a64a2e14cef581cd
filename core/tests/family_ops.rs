//! `Family::remove_matching`, `Counter::reset` and `Opts::name_is_base`.

use footmetrics::{Format, Opts, Registry};

#[test]
fn remove_matching_removes_partial_matches_only() {
    let r = Registry::new();
    let f = r
        .counter_vec(&Opts::new("c", "h").labels(&["tenant", "endpoint"]))
        .unwrap();
    f.with_label_values(&["acme", "/"]).unwrap().inc();
    f.with_label_values(&["acme", "/x"]).unwrap().inc();
    f.with_label_values(&["globex", "/"]).unwrap().inc();
    assert_eq!(f.remove_matching(&[("tenant", "acme")]).unwrap(), 2);
    assert_eq!(f.remove_matching::<&str, &str>(&[]).unwrap(), 0);
    assert!(f.remove_matching(&[("nope", "x")]).is_err());
    let text = r.render(Format::Text);
    assert!(!text.contains("acme"), "{text}");
    assert!(text.contains("tenant=\"globex\""), "{text}");
}

#[test]
fn reset_zeroes_and_moves_created() {
    let r = Registry::new();
    let c = r.counter(&Opts::new("c", "h")).unwrap();
    c.inc_by(3.0).unwrap();
    let before = c.created();
    std::thread::sleep(std::time::Duration::from_millis(5));
    c.reset();
    assert_eq!(c.get(), 0.0);
    assert!(c.created() > before);
    let off = r.counter(&Opts::new("d", "h").created(false)).unwrap();
    off.reset();
    assert!(off.created().is_nan());
}

#[test]
fn name_is_base_keeps_a_type_suffix() {
    let r = Registry::new();
    r.counter(
        &Opts::new("requests_total", "h")
            .unit("total")
            .name_is_base(true),
    )
    .unwrap()
    .inc();
    let text = r.render(Format::Text);
    assert!(text.contains("requests_total_total 1"), "{text}");
}
