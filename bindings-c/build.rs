//! Gives `libfootmetrics.so` an ELF soname, `libfootmetrics.so.<major>`, so programs linked
//! against an installed copy (`make install`) record that name and keep loading it across
//! compatible upgrades. The static library and non-ELF targets are untouched.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let elf = matches!(
        os.as_str(),
        "linux"
            | "android"
            | "freebsd"
            | "netbsd"
            | "openbsd"
            | "dragonfly"
            | "illumos"
            | "solaris"
    );
    if elf {
        let major = env!("CARGO_PKG_VERSION_MAJOR");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libfootmetrics.so.{major}");
    }
}
