//! `cargo xtask ci`: the same steps as `.ci/run`, in the same order.

use crate::{cargo, exec};

/// The crates published to crates.io, by the name after `cronofy-notify-`.
const PUBLISHED: [&str; 5] = ["core", "resources", "axum", "actix", "cli"];

pub(crate) fn run() -> Result<(), String> {
    crate::prune::run(&[])?;
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    exec(fmt)?;
    // The fuzz crate is a workspace of its own, which `--all` does not reach.
    let mut fmt_fuzz = cargo();
    fmt_fuzz.args(["fmt", "--manifest-path", "fuzz/Cargo.toml", "--check"]);
    exec(fmt_fuzz)?;

    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--locked",
    ]);
    clippy.args(["--", "-D", "warnings"]);
    exec(clippy)?;

    let mut doc = cargo();
    doc.args([
        "doc",
        "--workspace",
        "--all-features",
        "--no-deps",
        "--locked",
        // Private items too, so that the links in the maintainers' docs are checked as well.
        "--document-private-items",
    ])
    .env("RUSTDOCFLAGS", "-D warnings");
    exec(doc)?;

    // Each library crate alone, with its default features, as a user who depends on only it
    // builds it (the workspace builds above unify every crate's features).
    for name in ["core", "resources", "axum", "actix"] {
        let package = format!("cronofy-notify-{name}");
        let mut clippy = cargo();
        clippy.args([
            "clippy", "--locked", "-p", &package, "--lib", "--", "-D", "warnings",
        ]);
        exec(clippy)?;
        let mut doc = cargo();
        doc.args(["doc", "--locked", "-p", &package, "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings");
        exec(doc)?;
    }

    // Each published crate as crates.io would get it: packaged (no file outside the crate
    // needed, every dependency with a version) and built from the package alone.
    //
    // cargo verifies a package against the packages it made of the others, as if from a
    // registry, and takes a registry crate as fixed by its version: cronofy-notify-core 0.1.0
    // as unpacked into CARGO_HOME and built by an earlier run stood in for today's, and a crate
    // using an API added since failed to compile. Both go first: the unpacked sources of this
    // workspace's crates and their builds; the rest of the cache stays (our crates are then
    // rebuilt for the tests, a few minutes on two cores).
    forget_unpacked_packages()?;
    let mut clean = cargo();
    clean.args(["clean", "--locked"]);
    for name in PUBLISHED {
        clean.args(["-p", &format!("cronofy-notify-{name}")]);
    }
    exec(clean)?;
    let mut package = cargo();
    package.args(["package", "--locked", "--allow-dirty"]);
    for name in PUBLISHED {
        package.args(["-p", &format!("cronofy-notify-{name}")]);
    }
    exec(package)?;

    crate::demo::run(&["--video-mib".to_owned(), "32".to_owned()])?;
    crate::fuzz::run(&["--seconds".to_owned(), "12".to_owned()])?;

    // README.md's test command.
    let mut test = cargo();
    test.args(["test", "--workspace", "--all-features", "--locked"]);
    exec(test)
}

/// Removes this workspace's crates from CARGO_HOME's unpacked registry sources, where `cargo
/// package` unpacks them once per version and never again.
fn forget_unpacked_packages() -> Result<(), String> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    let Ok(registries) = std::fs::read_dir(cargo_home.join("registry").join("src")) else {
        return Ok(()); // nothing unpacked yet
    };
    for registry in registries.flatten() {
        let Ok(crates) = std::fs::read_dir(registry.path()) else {
            continue;
        };
        for unpacked in crates.flatten() {
            if unpacked
                .file_name()
                .to_string_lossy()
                .starts_with("cronofy-notify-")
            {
                std::fs::remove_dir_all(unpacked.path())
                    .map_err(|e| format!("{}: {e}", unpacked.path().display()))?;
            }
        }
    }
    Ok(())
}
