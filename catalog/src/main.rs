//! `footmetrics`: the catalog's command-line tool. `footmetrics help` lists the commands.

use footmetrics_catalog as catalog;
use std::process::ExitCode;

const USAGE: &str = "\
usage: footmetrics <command> [options]

commands:
  generate                 write every file generated from catalog/catalog.toml: the catalog
                           code of every language and the monitoring/ assets
  check                    exit 1 if a generated file differs from what the catalog generates
  rules [recording|alerting|kubernetes]
                           print Prometheus rules: SLI and error-budget recording rules, or the
                           burn-rate and platform alerts, or both as PrometheusRule objects
  dashboards [NAME]        print Grafana dashboard NAME's JSON, or list the names
  lint [options] SOURCE    check an exposition (a file, - for stdin, or an http:// URL)
      --service NAME       expect every catalog metric of service NAME (repeatable)
      --all                expect every catalog metric
      --max-series N       report families with more than N series (default 1000)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cmd = args.first().map(String::as_str).unwrap_or("help");
    let rest = &args[args.len().min(1)..];
    if matches!(cmd, "help" | "-h" | "--help") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let catalog = match catalog::load() {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let result = match cmd {
        "generate" => generate(&catalog),
        "check" => check(&catalog),
        "rules" => rules(&catalog, rest),
        "dashboards" => dashboards(&catalog, rest),
        "lint" => return lint(&catalog, rest),
        _ => {
            eprint!("footmetrics: unknown command {cmd:?}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &str) -> ExitCode {
    eprintln!("footmetrics: {e}");
    ExitCode::FAILURE
}

fn relative(path: &std::path::Path) -> String {
    let root = catalog::workspace_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn generate(c: &catalog::Catalog) -> Result<(), String> {
    for (path, text) in catalog::outputs(c)? {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
        println!("wrote {}", relative(&path));
    }
    Ok(())
}

fn check(c: &catalog::Catalog) -> Result<(), String> {
    let mut stale = 0;
    for (path, text) in catalog::outputs(c)? {
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            eprintln!(
                "stale: {} differs from what catalog/catalog.toml generates",
                relative(&path)
            );
            stale += 1;
        }
    }
    if stale > 0 {
        return Err("run `make generate` and commit the result".into());
    }
    println!("generated files are up to date");
    Ok(())
}

fn rules(c: &catalog::Catalog, args: &[String]) -> Result<(), String> {
    let (recording, alerting) = catalog::rule_groups(c)?;
    match args.first().map(String::as_str) {
        None => {
            let mut both = recording;
            both.groups.extend(alerting.groups);
            print!("{}", catalog::render_rules(&both));
        }
        Some("recording") => print!("{}", catalog::render_rules(&recording)),
        Some("alerting") => print!("{}", catalog::render_rules(&alerting)),
        Some("kubernetes") => print!(
            "{}---\n{}",
            catalog::render_kubernetes_rules("footmetrics-recording-rules", &recording),
            catalog::render_kubernetes_rules("footmetrics-alerting-rules", &alerting)
        ),
        Some(other) => return Err(format!("rules: unknown form {other:?}\n{USAGE}")),
    }
    Ok(())
}

fn dashboards(c: &catalog::Catalog, args: &[String]) -> Result<(), String> {
    let (recording, _) = catalog::rule_groups(c)?;
    let all = catalog::dashboards(c, &recording)?;
    match args.first() {
        None => {
            for d in &all {
                println!("{}\t{}", d.file, d.model["title"].as_str().unwrap_or(""));
            }
            Ok(())
        }
        Some(name) => match all.iter().find(|d| d.file == name) {
            Some(d) => {
                print!("{}", d.render());
                Ok(())
            }
            None => Err(format!(
                "no dashboard {name:?}; `footmetrics dashboards` lists them"
            )),
        },
    }
}

#[cfg(feature = "lint")]
fn lint(c: &catalog::Catalog, args: &[String]) -> ExitCode {
    use catalog::lint::{lint, read_source, LintOptions, Severity};
    let mut o = LintOptions::default();
    let mut source = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--service" => match it.next() {
                Some(s) if c.metrics.iter().any(|m| &m.service == s) => o.services.push(s.clone()),
                Some(s) => {
                    return fail(&format!("lint: no catalog metric belongs to service {s:?}"))
                }
                None => return fail("lint: --service needs a name"),
            },
            "--all" => o.all_services = true,
            "--max-series" => match it.next().and_then(|n| n.parse().ok()) {
                Some(n) => o.max_series = n,
                None => return fail("lint: --max-series needs a number"),
            },
            s if source.is_none() && (s == "-" || !s.starts_with('-')) => source = Some(s),
            s => {
                eprint!("footmetrics: lint: unexpected argument {s:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(source) = source else {
        eprint!("footmetrics: lint needs a SOURCE\n{USAGE}");
        return ExitCode::from(2);
    };
    let text = match read_source(source) {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    let findings = lint(&text, c, &o);
    for f in &findings {
        println!("{f}");
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    if o.services.is_empty() && !o.all_services {
        eprintln!("note: no --service or --all given, so missing catalog metrics were not checked");
    }
    eprintln!("{source}: {errors} error(s), {warnings} warning(s)");
    if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(not(feature = "lint"))]
fn lint(_: &catalog::Catalog, _: &[String]) -> ExitCode {
    fail("lint: this build has no linter (built without the `lint` feature)")
}
