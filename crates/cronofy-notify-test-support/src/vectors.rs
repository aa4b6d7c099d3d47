//! The shared signed test vectors: `../shared/vectors/cases.json` and its bodies.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One signed case: a body, the secrets a verifier holds, the header sent, and whether it is genuine.
#[derive(Debug, Clone)]
pub struct Case {
    /// The case's name in `cases.json`.
    pub name: String,
    /// The body file, relative to the vectors folder.
    pub body_path: String,
    /// The body's bytes, exactly as on disk.
    pub body: Vec<u8>,
    /// The secrets the verifier is built with.
    pub secrets: Vec<String>,
    /// The `Cronofy-HMAC-SHA256` header value.
    pub header: String,
    /// Whether the verifier must accept the case.
    pub valid: bool,
}

#[derive(Deserialize)]
struct CasesFile {
    secrets: std::collections::BTreeMap<String, String>,
    cases: Vec<RawCase>,
}

#[derive(Deserialize)]
struct RawCase {
    name: String,
    body: String,
    secrets: Vec<String>,
    header: String,
    valid: bool,
}

/// The folder of the shared vectors: `$CRONOFY_NOTIFY_VECTORS` when set, else `../shared/vectors`
/// beside the workspace root.
///
/// The root is found from the manifest folder cargo gives at run time (the package under test,
/// at any depth) before the one this crate was compiled in: checkouts that share a target
/// folder can run a build made in another checkout.
pub fn dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CRONOFY_NOTIFY_VECTORS") {
        return PathBuf::from(dir);
    }
    let shared = Path::new("shared").join("vectors");
    std::env::var_os("CARGO_MANIFEST_DIR")
        .and_then(|manifest| {
            Path::new(&manifest)
                .ancestors()
                .skip(1)
                .map(|folder| folder.join(&shared))
                .find(|candidate| candidate.join("cases.json").is_file())
        })
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"))
}

/// Every case of `cases.json`, with its body read.
///
/// # Panics
/// When the vectors cannot be read: a test cannot run without them.
pub fn cases() -> Vec<Case> {
    cases_file()
        .cases
        .into_iter()
        .map(|raw| Case {
            body: read(&raw.body),
            name: raw.name,
            body_path: raw.body,
            secrets: raw.secrets,
            header: raw.header,
            valid: raw.valid,
        })
        .collect()
}

fn cases_file() -> CasesFile {
    let path = dir().join("cases.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the shared vectors at {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not the expected shape: {e}", path.display()))
}

/// The bytes of a file in the vectors folder, e.g. `bodies/meeting_agent_complete.json`.
///
/// # Panics
/// When the file cannot be read.
pub fn read(relative: &str) -> Vec<u8> {
    let path = dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A seed body by interaction: `activated`, `complete` or `failed`.
pub fn seed_body(which: &str) -> Vec<u8> {
    read(&format!("bodies/meeting_agent_{which}.json"))
}

/// A named secret of `cases.json` (`A`, the one the seed bodies are signed with, or `B`).
///
/// # Panics
/// When `cases.json` names no such secret.
pub fn secret(name: &str) -> String {
    cases_file()
        .secrets
        .remove(name)
        .unwrap_or_else(|| panic!("cases.json has no secret {name:?}"))
}
