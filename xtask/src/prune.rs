//! `cargo xtask prune`: keeps the target folder that `.ci/run` reuses from run to run from
//! growing without end.
//!
//! Cargo names each build of a crate after a hash of its dependencies and features, and never
//! removes the builds of an earlier graph: every change to `Cargo.lock` or to a crate's features
//! leaves the workspace's test binaries behind, a few GB each time. On 2026-11-30 they had
//! filled the disk (57 GB of them), and every command failed. This removes the builds of this
//! workspace's own crates, and of the fuzz crate, that nothing has written for a while (a day by
//! default), and keeps the third-party ones, which take longest to build and change least. A
//! build removed that was still current is only built again.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::{cargo, root};

/// The folders of a profile (`debug`, `release`, ...) that hold one entry per build of a crate.
const BUILD_FOLDERS: &[&str] = &["deps", ".fingerprint", "build", "examples", "incremental"];

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut hours: u64 = 24;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--older-than-hours" => {
                hours = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--older-than-hours takes a number of hours")?;
            }
            other => return Err(format!("prune: unknown argument {other:?}")),
        }
    }
    let (target, ours) = ours()?;
    if !target.exists() {
        eprintln!(
            "xtask: {} does not exist; nothing to prune",
            target.display()
        );
        return Ok(());
    }
    // Hours past the clock's start keep everything.
    let cutoff = hours
        .checked_mul(3600)
        .and_then(|seconds| SystemTime::now().checked_sub(Duration::from_secs(seconds)))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let pruned = prune(&target, &ours, cutoff);
    eprintln!(
        "xtask: removed {} builds of this workspace's crates not written for {hours} h from {} \
         ({:.1} GiB)",
        pruned.entries,
        target.display(),
        pruned.bytes as f64 / f64::from(1 << 30)
    );
    Ok(())
}

/// What this workspace and the fuzz crate build, by the names cargo gives their builds.
#[derive(Debug, Default)]
struct Ours {
    /// Package names: `.fingerprint/<package>-<hash>`, `build/<package>-<hash>`.
    packages: HashSet<String>,
    /// Library crate names: `deps/lib<crate>-<hash>.rlib` (and `.rmeta`, `.so`).
    libraries: HashSet<String>,
    /// Every target's crate name: test, bench, example and binary executables
    /// `deps/<crate>-<hash>`, and `incremental/<crate>-<hash>`.
    crates: HashSet<String>,
}

/// The target folder, and what in it is ours, from `cargo metadata` of the workspace and of the
/// fuzz crate (a workspace of its own).
fn ours() -> Result<(PathBuf, Ours), String> {
    let mut ours = Ours::default();
    let mut target = None;
    for manifest in ["Cargo.toml", "fuzz/Cargo.toml"] {
        let mut command = cargo();
        command.args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ]);
        command.arg(root().join(manifest));
        let output = command
            .output()
            .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "cargo metadata --manifest-path {manifest} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
            .map_err(|e| format!("cargo metadata gave no JSON: {e}"))?;
        target.get_or_insert_with(|| {
            PathBuf::from(metadata["target_directory"].as_str().unwrap_or("target"))
        });
        ours.add(&metadata);
    }
    Ok((target.unwrap_or_default(), ours))
}

impl Ours {
    /// Adds the packages and targets of one `cargo metadata` answer.
    fn add(&mut self, metadata: &serde_json::Value) {
        let packages = metadata["packages"].as_array().into_iter().flatten();
        for package in packages {
            if let Some(name) = package["name"].as_str() {
                self.packages.insert(name.to_owned());
            }
            for target in package["targets"].as_array().into_iter().flatten() {
                let Some(name) = target["name"].as_str() else {
                    continue;
                };
                let name = name.replace('-', "_");
                let kinds = target["kind"].as_array().into_iter().flatten();
                if kinds
                    .filter_map(serde_json::Value::as_str)
                    .any(|kind| kind.ends_with("lib"))
                {
                    self.libraries.insert(name.clone());
                }
                self.crates.insert(name);
            }
        }
    }

    /// Whether `entry`, in a build folder named `folder`, is a build of ours. Third-party
    /// crates may share a name with one of our targets (`http`): their builds are `lib...`
    /// files and `.d` files, which only our library names claim.
    fn owns(&self, folder: &str, entry: &str) -> bool {
        let Some(stem) = without_hash(entry) else {
            return false;
        };
        match folder {
            ".fingerprint" | "build" => self.packages.contains(stem),
            "incremental" => self.crates.contains(stem),
            _ => match stem.strip_prefix("lib") {
                Some(library) if self.libraries.contains(library) => true,
                _ => !entry.ends_with(".d") && self.crates.contains(stem),
            },
        }
    }
}

/// `name` of `name-0123456789abcdef` or `name-0123456789abcdef.ext`, as cargo names builds (16
/// hex digits; an incremental folder's hash is 13 base-36 ones).
fn without_hash(entry: &str) -> Option<&str> {
    let (stem, hashed) = entry.rsplit_once('-')?;
    let hash = hashed.split_once('.').map_or(hashed, |(hash, _)| hash);
    let digits = |b: u8| b.is_ascii_digit() || b.is_ascii_lowercase();
    ((13..=16).contains(&hash.len()) && hash.bytes().all(digits)).then_some(stem)
}

/// What [`prune`] removed.
#[derive(Debug, Default)]
struct Pruned {
    entries: usize,
    bytes: u64,
}

/// Removes from every build folder under `target` (`debug/deps`,
/// `fuzz/<triple>/release/.fingerprint`, ...) our builds last written before `cutoff`.
fn prune(target: &Path, ours: &Ours, cutoff: SystemTime) -> Pruned {
    let mut pruned = Pruned::default();
    for folder in build_folders(target, 4) {
        let kind = folder.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let path = entry.path();
            if !ours.owns(kind, name) || last_written(&path).is_none_or(|at| at >= cutoff) {
                continue;
            }
            let bytes = size(&path);
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            if removed.is_ok() {
                pruned.entries += 1;
                pruned.bytes += bytes;
            }
        }
    }
    pruned
}

/// The build folders under `dir`, at most `depth` levels down.
fn build_folders(dir: &Path, depth: usize) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| BUILD_FOLDERS.contains(&n))
        {
            found.push(path);
        } else if depth > 1 {
            found.extend(build_folders(&path, depth - 1));
        }
    }
    found
}

/// When a build was last written: a file's time, or the newest of a folder's entries (cargo
/// rewrites a fingerprint's files, and adds sessions to an incremental folder, but a folder's
/// own time changes only when an entry is added).
fn last_written(path: &Path) -> Option<SystemTime> {
    let own = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let Ok(entries) = std::fs::read_dir(path) else {
        return own;
    };
    entries
        .flatten()
        .filter_map(|entry| entry.metadata().and_then(|m| m.modified()).ok())
        .max()
        .or(own)
}

/// The bytes in a file, or in a folder and everything under it.
fn size(path: &Path) -> u64 {
    let Ok(metadata) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !metadata.is_dir() {
        return metadata.len();
    }
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| size(&entry.path()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours() -> Ours {
        let metadata = serde_json::json!({"packages": [
            {"name": "cronofy-notify-core", "targets": [
                {"name": "cronofy_notify_core", "kind": ["lib"]},
                {"name": "http", "kind": ["test"]},
            ]},
            {"name": "cronofy-notify-cli", "targets": [
                {"name": "cronofy-notify", "kind": ["bin"]},
            ]},
        ]});
        let mut ours = Ours::default();
        ours.add(&metadata);
        ours
    }

    #[test]
    fn builds_are_told_apart_by_name_without_their_hash() {
        assert_eq!(without_hash("cli-0123456789abcdef"), Some("cli"));
        assert_eq!(
            without_hash("libserde-0123456789abcdef.rlib"),
            Some("libserde")
        );
        assert_eq!(
            without_hash("xtask-254m36t6g3fce"),
            Some("xtask"),
            "incremental"
        );
        assert_eq!(
            without_hash("cronofy-notify-core"),
            None,
            "a name, not a hash"
        );
        assert_eq!(without_hash("xtask"), None);

        let owns = |build: &str| {
            let (folder, entry) = build.split_once('/').unwrap();
            ours().owns(folder, entry)
        };
        for build in [
            "deps/libcronofy_notify_core-0123456789abcdef.rlib",
            "deps/libcronofy_notify_core-0123456789abcdef.rmeta",
            "deps/http-0123456789abcdef",
            "deps/cronofy_notify-0123456789abcdef",
            ".fingerprint/cronofy-notify-core-0123456789abcdef",
            "build/cronofy-notify-cli-0123456789abcdef",
            "incremental/cronofy_notify_core-0n3mmbuikekmi",
        ] {
            assert!(owns(build), "{build} is ours");
        }
        for build in [
            "deps/libhttp-0123456789abcdef.rlib",
            "deps/http-0123456789abcdef.d",
            "deps/libtokio-0123456789abcdef.rmeta",
            ".fingerprint/tokio-0123456789abcdef",
            ".fingerprint/http-0123456789abcdef",
        ] {
            assert!(!owns(build), "{build} is a dependency's");
        }
    }

    /// A build under `target` written `hours` ago, of 10 bytes: a file in `deps`, elsewhere a
    /// folder holding one (as cargo lays them out).
    fn written(target: &Path, build: &str, hours: u64) -> PathBuf {
        let path = target.join(build);
        let file = if build.contains("/deps/") {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            path.clone()
        } else {
            std::fs::create_dir_all(&path).unwrap();
            path.join("output")
        };
        std::fs::write(&file, b"0123456789").unwrap();
        let at = SystemTime::now() - Duration::from_secs(hours * 3600);
        let file = std::fs::File::options().write(true).open(&file).unwrap();
        file.set_modified(at).unwrap();
        path
    }

    #[test]
    fn only_our_builds_not_written_since_the_cutoff_are_removed() {
        let target = tempfile::tempdir().unwrap();
        let fuzz = "fuzz/x86_64-unknown-linux-gnu/release";
        // Ours, two days old.
        let stale = [
            "debug/deps/http-0123456789abcdef".to_owned(),
            "debug/deps/libcronofy_notify_core-0123456789abcdef.rlib".to_owned(),
            "debug/.fingerprint/cronofy-notify-core-0123456789abcdef".to_owned(),
            format!("{fuzz}/.fingerprint/cronofy-notify-cli-0123456789abcdef"),
        ];
        let stale: Vec<_> = stale
            .iter()
            .map(|b| written(target.path(), b, 48))
            .collect();
        let kept = [
            // Ours, but written within the day.
            written(target.path(), "debug/deps/http-fedcba9876543210", 6),
            written(
                target.path(),
                "debug/.fingerprint/cronofy-notify-core-fedcba9876543210",
                6,
            ),
            // Old, but a dependency's.
            written(
                target.path(),
                "debug/deps/libhttp-0123456789abcdef.rlib",
                48,
            ),
            written(target.path(), "debug/deps/http-0123456789abcdef.d", 48),
            written(
                target.path(),
                "debug/.fingerprint/tokio-0123456789abcdef",
                48,
            ),
            // Not in a build folder.
            written(target.path(), "fuzz/seeds/notification", 48),
        ];

        let day_ago = SystemTime::now() - Duration::from_secs(24 * 3600);
        let pruned = prune(target.path(), &ours(), day_ago);

        assert_eq!((pruned.entries, pruned.bytes), (4, 40));
        for path in &stale {
            assert!(!path.exists(), "{} removed", path.display());
        }
        for path in &kept {
            assert!(path.exists(), "{} kept", path.display());
        }
    }
}
