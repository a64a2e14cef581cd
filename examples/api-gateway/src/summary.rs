//! The demo's summary, computed from the scraped exposition as PromQL would compute it.

use footmetrics::parse::{histogram_quantile, merged_buckets, parse_text};
use std::time::Duration;

pub fn print(exposition: &str, elapsed: Duration) -> Result<(), footmetrics::Error> {
    let samples = parse_text(exposition)?;
    let requests = samples.iter().filter(|s| s.name == "http_requests_total");
    let (mut total, mut errors, mut unmatched) = (0.0, 0.0, 0.0);
    for s in requests {
        total += s.value;
        if s.label("code").is_some_and(|c| c.starts_with('5')) {
            errors += s.value;
        }
        if s.label("route") == Some(footmetrics_tower::UNMATCHED_ROUTE) {
            unmatched += s.value;
        }
    }
    let secs = elapsed.as_secs_f64().max(1e-9);
    println!(
        "request rate: {:.0} req/s ({total} recorded in {secs:.2} s)",
        total / secs
    );
    println!(
        "error ratio (5xx): {:.2}%   availability: {:.2}%",
        100.0 * errors / total.max(1.0),
        100.0 * (1.0 - errors / total.max(1.0))
    );
    println!("unmatched paths folded into route=\"unmatched\": {unmatched}");
    let buckets = merged_buckets(&samples, "http_request_duration_seconds", |_| true);
    match histogram_quantile(0.95, &buckets) {
        Some(p95) => println!(
            "p95 latency: {:.1} ms (histogram_quantile over all routes)",
            p95 * 1e3
        ),
        None => println!("p95 latency: no observations"),
    }
    Ok(())
}
