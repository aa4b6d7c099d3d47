//! The core's promise to its users: sans-io, with the dependencies its docs name and no others.

use std::collections::BTreeSet;
use std::path::PathBuf;

/// What would make the core no longer sans-io: an async runtime, an HTTP client or server.
/// Checked among the direct dependencies, the ones this crate chooses.
const NOT_IN_CORE: &[&str] = &[
    "tokio",
    "futures",
    "async-std",
    "hyper",
    "reqwest",
    "axum",
    "actix-web",
    "tower",
];

/// A file, by its path from this crate's folder: the one `cargo test` names as it runs the test
/// (the folder it was compiled in may be another checkout sharing the target directory).
fn read(relative: &str) -> String {
    let folder = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    let path = folder.join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The `[dependencies]` table's entries: every one, and those not marked `optional`.
fn dependencies() -> (BTreeSet<String>, BTreeSet<String>) {
    let manifest = read("Cargo.toml");
    let (mut all, mut required) = (BTreeSet::new(), BTreeSet::new());
    let mut in_table = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_table = line == "[dependencies]";
            continue;
        }
        if !in_table || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name = line
            .split(['=', '.'])
            .next()
            .expect("a key")
            .trim()
            .to_owned();
        if !line.contains("optional = true") {
            required.insert(name.clone());
        }
        all.insert(name);
    }
    assert!(!required.is_empty(), "no [dependencies] table found");
    (all, required)
}

/// The names in a sentence's list: "a, b, c and d." gives a, b, c, d.
fn listed(text: &str, after: &str, until: char) -> BTreeSet<String> {
    let start = text
        .find(after)
        .unwrap_or_else(|| panic!("no {after:?} in the docs"))
        + after.len();
    let list = &text[start..];
    let list = &list[..list.find(until).expect("the list ends")];
    let words = list.replace("//!", " ");
    let words = words.split_whitespace().collect::<Vec<_>>().join(" ");
    words
        .replace(" and ", ",")
        .split(',')
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect()
}

#[test]
fn the_core_names_no_runtime_and_no_http_stack_among_its_dependencies() {
    let (all, _) = dependencies();
    for name in NOT_IN_CORE {
        assert!(
            !all.contains(*name),
            "{name} in core's dependencies: core is sans-io"
        );
    }
}

#[test]
fn the_docs_name_exactly_the_default_dependencies() {
    let (_, required) = dependencies();
    let crate_docs = read("src/lib.rs");
    assert_eq!(
        listed(&crate_docs, "Without features, the dependencies are", '.'),
        required,
        "src/lib.rs, under Features"
    );
    let architecture = read("../../docs/architecture.md");
    let row = architecture
        .lines()
        .find(|line| line.starts_with("| `cronofy-notify-core` |"))
        .expect("core's row in docs/architecture.md");
    let depends_on = row.rsplit('|').nth(1).expect("the depends-on column");
    assert_eq!(
        listed(depends_on, "", ';'),
        required,
        "docs/architecture.md, core's row"
    );
}
