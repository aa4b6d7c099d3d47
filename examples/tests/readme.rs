//! The ```rust blocks of README.md, compiled: `build.rs` makes each one the body of a function
//! given the values the snippet takes for granted. A snippet that no longer compiles against
//! the crates fails this test's build, naming README's line in the function's name.

include!(concat!(env!("OUT_DIR"), "/readme_blocks.rs"));

#[test]
fn every_rust_block_of_the_readme_is_compiled() {
    // Where cargo says the package is now, rather than where it was compiled (see build.rs).
    let folder = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(
        || env!("CARGO_MANIFEST_DIR").into(),
        std::path::PathBuf::from,
    );
    let readme =
        std::fs::read_to_string(folder.join("../README.md")).expect("README.md is readable");
    let blocks = readme
        .lines()
        .filter(|line| line.trim_end() == "```rust")
        .count();
    assert!(blocks >= 3, "the README's examples are gone: {blocks}");
    assert_eq!(README_BLOCKS, blocks, "a block was not extracted");
}
