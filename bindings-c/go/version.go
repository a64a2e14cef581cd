package footmetrics

// Version is the footmetrics release this package belongs to: the version of the Rust
// workspace (Cargo.toml, [workspace.package]) whose C library it links. TestVersion checks that
// the two agree, and `make dist-go` tags the module it writes with "v" + Version.
const Version = "0.1.0"
