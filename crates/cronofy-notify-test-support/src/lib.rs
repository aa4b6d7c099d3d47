//! Test support for the cronofy-notify workspace.
//!
//! [`vectors`] reads the shared signed test vectors from `../shared/vectors/` beside the project
//! (never a copy), so every crate's tests check the same cases.

pub mod vectors;
