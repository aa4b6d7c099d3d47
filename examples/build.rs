//! Turns each ```rust block of the workspace's README.md into a function that
//! `tests/readme.rs` compiles, so that a snippet a user copies is one the compiler has checked.
//!
//! A README snippet is a fragment: it uses `?` and the values a handler would hold (`secret`,
//! `header`, `body`, `verified`) without declaring them. Each block becomes the body of an async
//! function that takes those values and returns a `Result`, the block's own items (`use`,
//! `fn`) declared inside it.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read when the script runs, not where it was compiled: checkouts that share a target
    // folder (as `.ci/run`'s cache makes them) can find another checkout's script fresh.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it");
    let readme = Path::new(&manifest_dir).join("../README.md");
    println!("cargo::rerun-if-changed={}", readme.display());
    let text = std::fs::read_to_string(&readme).expect("the workspace's README.md is readable");

    let mut blocks = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (number, line) in text.lines().enumerate() {
        match (&mut open, line.trim_end()) {
            (None, "```rust") => open = Some((number + 2, String::new())),
            (Some(_), "```") => blocks.extend(open.take()),
            (Some((_, code)), _) => {
                code.push_str(line);
                code.push('\n');
            }
            (None, _) => {}
        }
    }

    let mut generated = format!(
        "/// How many ```rust blocks README.md holds.\nconst README_BLOCKS: usize = {};\n",
        blocks.len()
    );
    for (first_line, code) in &blocks {
        write!(
            generated,
            "
/// README.md, the block from line {first_line}.
#[allow(dead_code, unused_variables, clippy::all)]
async fn readme_line_{first_line}(
    secret: String,
    header: &str,
    body: Vec<u8>,
    verified: cronofy_notify_core::VerifiedNotification,
) -> Result<(), Box<dyn std::error::Error>> {{
{code}
    Ok(())
}}
"
        )
        .unwrap();
    }
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("readme_blocks.rs");
    std::fs::write(out, generated).unwrap();
}
