//! Reads criterion's estimates from the last `cargo bench -p footmetrics-benches` and prints,
//! per group, every bench's mean ns/op and footmetrics' ratio to it, then the goals.

use footmetrics_benches::{native_memory, GOALS, NATIVE_MEMORY_BUCKETS, OVERHEAD_GOALS};
use std::collections::BTreeMap;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion");
    let mut groups: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    let Ok(dirs) = std::fs::read_dir(&root) else {
        eprintln!(
            "no criterion results under {}: run `cargo bench -p footmetrics-benches` first",
            root.display()
        );
        std::process::exit(1);
    };
    for g in dirs.flatten() {
        for b in std::fs::read_dir(g.path()).into_iter().flatten().flatten() {
            let est = b.path().join("new/estimates.json");
            let Ok(text) = std::fs::read_to_string(&est) else {
                continue;
            };
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            let ns = v["mean"]["point_estimate"].as_f64().unwrap();
            groups
                .entry(g.file_name().to_string_lossy().into())
                .or_default()
                .insert(b.file_name().to_string_lossy().into(), ns);
        }
    }
    for (group, benches) in &groups {
        println!("\n{group}");
        let ours = benches
            .iter()
            .find(|(k, _)| k.starts_with("footmetrics"))
            .map(|(_, v)| *v);
        for (name, ns) in benches {
            let ratio = ours
                .map(|o| format!("footmetrics/{name} = {:.2}x", o / ns))
                .unwrap_or_default();
            println!("  {name:<28} {:>12}  {ratio}", human(*ns));
        }
    }
    println!("\ngoals (ratio = footmetrics / peer, lower is better)");
    let mut missed = 0;
    for (group, ours, peer, max) in GOALS {
        let get = |b: &str| groups.get(*group).and_then(|g| g.get(b)).copied();
        match (get(ours), get(peer)) {
            (Some(a), Some(b)) => {
                let r = a / b;
                let ok = r <= *max;
                missed += usize::from(!ok);
                println!(
                    "  {:<4} {group:<26} {ours} / {peer} = {r:.2} (goal <= {max})",
                    if ok { "ok" } else { "MISS" }
                );
            }
            _ => {
                // Not measured is not met.
                missed += 1;
                println!("  ??   {group:<26} {ours} / {peer}: no result")
            }
        }
    }
    println!("\nmiddleware overhead (a request's time minus the uninstrumented service's)");
    for (group, ours, peer, base, max_ratio, max_ns) in OVERHEAD_GOALS {
        // Prefer the interleaved measurement the bench writes beside criterion's results:
        // differences of criterion means taken seconds apart carry the machine's drift.
        let paired = std::fs::read_to_string(root.join(group).join("paired.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
        let get = |b: &str| groups.get(*group).and_then(|g| g.get(b)).copied();
        let measured = match &paired {
            Some(v) => v["footmetrics_overhead_ns"]
                .as_f64()
                .zip(v["prometheus_overhead_ns"].as_f64())
                .zip(v["median_ratio"].as_f64())
                .map(|((a, p), r)| (a, p, r, "paired rounds, median")),
            None => match (get(ours), get(peer), get(base)) {
                (Some(a), Some(p), Some(b)) => {
                    Some((a - b, p - b, (a - b) / (p - b), "criterion means"))
                }
                _ => None,
            },
        };
        let Some((oa, op, r, how)) = measured else {
            println!("  ??   {group:<26} {ours} / {peer} / {base}: no result");
            missed += 2;
            continue;
        };
        let ok_ratio = r <= *max_ratio;
        let ok_ns = oa < *max_ns;
        missed += usize::from(!ok_ratio) + usize::from(!ok_ns);
        println!(
            "  {:<4} {group:<26} {ours} adds {oa:.1} ns, {peer} adds {op:.1} ns: ratio {r:.2} (goal <= {max_ratio}; {how})",
            if ok_ratio { "ok" } else { "MISS" }
        );
        println!(
            "  {:<4} {group:<26} {ours} adds {oa:.1} ns per request (goal < {max_ns} ns)",
            if ok_ns { "ok" } else { "MISS" }
        );
    }
    let (cells, populated) = native_memory(NATIVE_MEMORY_BUCKETS);
    println!(
        "\nnative histogram memory: {populated} populated buckets (factor 1.1) hold {cells} bucket \
         cells = {} bytes ({:.2} cells per populated bucket)",
        cells * 8,
        cells as f64 / populated.max(1) as f64
    );
    let total = GOALS.len() + 2 * OVERHEAD_GOALS.len();
    println!(
        "\n{} of {total} goals met (noisy shared machine: compare ratios across runs)",
        total - missed,
    );
}

fn human(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} us", ns / 1e3)
    } else {
        format!("{ns:.2} ns")
    }
}
