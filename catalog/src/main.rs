//! `footmetrics-catalog generate | check`: writes, or verifies, every file generated from
//! `catalog/catalog.toml`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cmd = std::env::args().nth(1).unwrap_or_default();
    let catalog = match footmetrics_catalog::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let root = footmetrics_catalog::workspace_root();
    match cmd.as_str() {
        "generate" => {
            for (path, text) in footmetrics_catalog::outputs(&catalog) {
                if let Err(e) = std::fs::write(&path, text) {
                    eprintln!("error: writing {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
                println!(
                    "wrote {}",
                    path.strip_prefix(&root).unwrap_or(&path).display()
                );
            }
            ExitCode::SUCCESS
        }
        "check" => {
            let mut stale = 0;
            for (path, text) in footmetrics_catalog::outputs(&catalog) {
                let current = std::fs::read_to_string(&path).unwrap_or_default();
                if current != text {
                    eprintln!(
                        "stale: {} differs from what catalog/catalog.toml generates",
                        path.strip_prefix(&root).unwrap_or(&path).display()
                    );
                    stale += 1;
                }
            }
            if stale > 0 {
                eprintln!("run `make generate` and commit the result");
                return ExitCode::FAILURE;
            }
            println!("generated files are up to date");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: footmetrics-catalog generate|check");
            ExitCode::from(2)
        }
    }
}
