//! The checked-in monitoring assets, read back from disk: promtool accepts every rule file and
//! passes the rule unit tests; every name a rule or dashboard query selects is a catalog series
//! or a generated recording rule (found by parsing the PromQL); the Kubernetes forms carry the
//! same rules and dashboards.

use footmetrics_catalog::{grafana_to_promql, known_series, load, referenced_names};
use serde_yaml::Value as Yaml;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn monitoring() -> PathBuf {
    footmetrics_catalog::monitoring_dir()
}

fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(monitoring().join(dir))
        .unwrap_or_else(|e| panic!("monitoring/{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(ext))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no {ext} files in monitoring/{dir}");
    out
}

fn yaml(path: &Path) -> Yaml {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml_documents(path: &Path) -> Vec<Yaml> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect()
}

fn promtool(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool runs (Debian package prometheus; `make deps`)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn rule_files() -> Vec<PathBuf> {
    files("prometheus", ".yml")
}

#[test]
fn promtool_accepts_every_generated_rule_file() {
    for f in rule_files() {
        let (ok, out) = promtool(&["check", "rules", &f.to_string_lossy()], &monitoring());
        assert!(ok, "{}: {out}", f.display());
        assert!(out.contains("SUCCESS"), "{out}");
    }
}

#[test]
fn promtool_accepts_the_rules_inside_the_prometheus_rule_objects() {
    let dir = std::env::temp_dir().join(format!("footmetrics-k8s-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (k8s, plain) in [
        (
            "kubernetes/recording-rules.yaml",
            "prometheus/recording-rules.yml",
        ),
        (
            "kubernetes/alerting-rules.yaml",
            "prometheus/alerting-rules.yml",
        ),
    ] {
        let object = yaml(&monitoring().join(k8s));
        assert_eq!(object["apiVersion"], "monitoring.coreos.com/v1");
        assert_eq!(object["kind"], "PrometheusRule");
        assert_eq!(object["metadata"]["namespace"], "monitoring");
        // The same groups as the plain rule file.
        assert_eq!(object["spec"], yaml(&monitoring().join(plain)), "{k8s}");
        let extracted = dir.join(plain.replace('/', "-"));
        std::fs::write(&extracted, serde_yaml::to_string(&object["spec"]).unwrap()).unwrap();
        let (ok, out) = promtool(&["check", "rules", &extracted.to_string_lossy()], &dir);
        assert!(ok, "{k8s}: {out}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn promtool_rule_unit_tests_pass() {
    let tests = files("tests", ".test.yml");
    let names: Vec<String> = tests
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["test", "rules"];
    args.extend(names.iter().map(String::as_str));
    let (ok, out) = promtool(&args, &monitoring().join("tests"));
    assert!(ok, "{out}");
    assert_eq!(out.matches("SUCCESS").count(), tests.len(), "{out}");
}

/// `(alert name, fires)` for every alert_rule_test in the unit tests.
fn alert_cases() -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for f in files("tests", ".test.yml") {
        let doc = yaml(&f);
        for t in doc["tests"].as_sequence().unwrap() {
            for a in t["alert_rule_test"].as_sequence().into_iter().flatten() {
                let fires = a["exp_alerts"].as_sequence().is_some_and(|s| !s.is_empty());
                out.push((a["alertname"].as_str().unwrap().to_string(), fires));
            }
        }
    }
    out
}

#[test]
fn every_slo_fast_burn_and_every_platform_alert_is_unit_tested_both_ways() {
    let c = load().unwrap();
    let cases = alert_cases();
    let mut alerts: Vec<String> = c
        .slos
        .iter()
        .map(|s| format!("{}FastBurn", s.alert_prefix()))
        .collect();
    alerts.extend(c.alerts.iter().map(|a| a.name.clone()));
    assert!(alerts.contains(&"PlatformAvailabilityFastBurn".to_string()));
    for a in alerts {
        for fires in [true, false] {
            assert!(
                cases.contains(&(a.clone(), fires)),
                "no promtool test where {a} {}",
                if fires { "fires" } else { "stays quiet" }
            );
        }
    }
}

/// Every PromQL expression in the rule files, with where it comes from.
fn rule_expressions() -> (Vec<(String, String)>, BTreeSet<String>) {
    let mut exprs = Vec::new();
    let mut records = BTreeSet::new();
    for f in rule_files() {
        let doc = yaml(&f);
        for g in doc["groups"].as_sequence().unwrap() {
            for r in g["rules"].as_sequence().unwrap() {
                let expr = r["expr"].as_str().unwrap().to_string();
                if let Some(rec) = r["record"].as_str() {
                    records.insert(rec.to_string());
                }
                let what = r["record"].as_str().or(r["alert"].as_str()).unwrap();
                exprs.push((format!("{}: {what}", f.display()), expr));
            }
        }
    }
    (exprs, records)
}

#[test]
fn every_name_in_a_rule_or_dashboard_query_is_declared() {
    let c = load().unwrap();
    let (mut exprs, records) = rule_expressions();
    assert!(exprs.len() > 50, "{} rule expressions", exprs.len());
    for f in files("grafana", ".json") {
        let model: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        for p in model["panels"].as_array().unwrap() {
            for t in p["targets"].as_array().unwrap() {
                let q = t["expr"].as_str().unwrap();
                exprs.push((f.display().to_string(), grafana_to_promql(q)));
            }
        }
        for v in model["templating"]["list"].as_array().unwrap() {
            if let Some(q) = v["query"]["query"].as_str() {
                exprs.push((f.display().to_string(), grafana_to_promql(q)));
            }
        }
    }
    let mut known = known_series(&c);
    known.extend(records);
    let mut used = BTreeSet::new();
    for (origin, expr) in &exprs {
        let names = referenced_names(expr).unwrap_or_else(|e| panic!("{origin}: {e}"));
        for n in names {
            assert!(
                known.contains(&n),
                "{origin}: {n} in {expr:?} is not declared"
            );
            used.insert(n);
        }
    }
    // The rules and dashboards cover every catalog metric family.
    for m in &c.metrics {
        assert!(
            used.iter().any(|u| u.starts_with(&m.name)),
            "no rule or dashboard reads {}",
            m.name
        );
    }
}

#[test]
fn a_misspelt_name_is_caught_by_the_parse_check() {
    // The check above is a parse, not a substring search: a near miss and a name hidden in a
    // label value are told apart.
    let c = load().unwrap();
    let known = known_series(&c);
    let names =
        referenced_names(r#"sum(rate(http_request_total{route="http_requests_total"}[5m]))"#)
            .unwrap();
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["http_request_total"]
    );
    assert!(!known.contains("http_request_total"));
}

#[test]
fn the_overview_has_the_seed_health_score_with_its_thresholds() {
    let model: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(monitoring().join("grafana/platform-overview.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(model["title"], "FootAnalytics Platform Overview");
    let panel = model["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == "Platform Health Score")
        .expect("a health score panel");
    assert_eq!(panel["type"], "stat");
    assert_eq!(
        panel["targets"][0]["expr"],
        "sli:platform_availability:rate5m * 100"
    );
    let steps: Vec<(String, Option<f64>)> = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["color"].as_str().unwrap().to_string(),
                s["value"].as_f64(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("red".to_string(), None),
            ("yellow".to_string(), Some(95.0)),
            ("green".to_string(), Some(99.0))
        ]
    );
}

#[test]
fn dashboard_config_maps_carry_the_dashboard_files() {
    let docs = yaml_documents(&monitoring().join("kubernetes/grafana-dashboards.yaml"));
    let boards = files("grafana", ".json");
    assert_eq!(docs.len(), boards.len());
    for file in &boards {
        let key = file.file_name().unwrap().to_string_lossy().into_owned();
        let doc = docs
            .iter()
            .find(|d| d["data"][key.as_str()].is_string())
            .unwrap_or_else(|| panic!("no ConfigMap carries {key}"));
        assert_eq!(doc["kind"], "ConfigMap");
        assert_eq!(doc["metadata"]["labels"]["grafana_dashboard"], "1");
        let embedded = doc["data"][key.as_str()].as_str().unwrap();
        assert_eq!(embedded, std::fs::read_to_string(file).unwrap());
    }
}

#[test]
fn slo_definitions_follow_the_seed_form() {
    let c = load().unwrap();
    let cm = yaml(&monitoring().join("kubernetes/slo-definitions.yaml"));
    let inner: Yaml =
        serde_yaml::from_str(cm["data"]["platform-slos.yaml"].as_str().unwrap()).unwrap();
    let slos = inner["slos"].as_sequence().unwrap();
    assert_eq!(slos.len(), c.slos.len());
    let platform = &slos[0];
    assert_eq!(platform["name"], "platform_availability");
    assert_eq!(platform["sli"]["type"], "availability");
    assert_eq!(platform["objectives"][0]["target"].as_f64(), Some(99.9));
    assert_eq!(platform["objectives"][0]["window"], "30d");
}
