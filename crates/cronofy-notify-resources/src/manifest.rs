//! The record of what was downloaded for a meeting agent, and the report of each resource.

use std::time::Duration;

use cronofy_notify_core::{ResourceCategory, ResourceType};
use serde::{Deserialize, Serialize};

use crate::{DownloadError, Location, ResourceKey};

/// The manifest of one meeting agent: one entry per resource, written (atomically) after each
/// resource ends, as `manifest.json` beside the files with [`FileStorage`](crate::FileStorage).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Manifest {
    /// `meeting_agent.sub`.
    pub sub: String,
    /// One entry per resource, the latest outcome of each.
    pub resources: Vec<ManifestEntry>,
}

/// One resource in a [`Manifest`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ManifestEntry {
    /// The category.
    pub category: ResourceCategory,
    /// The type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ResourceType>,
    /// Which resource of this category and type in the callback (see
    /// [`ResourceKey::occurrence`](crate::ResourceKey::occurrence)); written only after the first.
    #[serde(default = "first", skip_serializing_if = "is_first")]
    pub occurrence: u32,
    /// The Cronofy URL it was fetched from.
    pub source_url: String,
    /// `complete` or `failed`.
    pub status: EntryStatus,
    /// Where it went, when complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Bytes stored.
    pub bytes: u64,
    /// SHA-256 of the bytes, lowercase hex, when complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The `Content-Type` the server gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The `Content-Encoding` the server applied though asked for `identity` (`gzip`, say): the
    /// bytes are stored as served, so decode them before use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    /// HTTP attempts made.
    pub attempts: u32,
    /// The offset the first attempt resumed from (0 when it started from scratch).
    pub resumed_from: u64,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Manifest {
    /// Reads a stored manifest; `place` names where it is, for the error.
    ///
    /// # Errors
    /// [`io::ErrorKind::InvalidData`](std::io::ErrorKind::InvalidData), saying where the manifest
    /// is, why it cannot be read, and what to do: manifests are written whole or not at all, so
    /// one that cannot be read was changed by something else, or by a later version.
    pub(crate) fn read_stored(
        bytes: &[u8],
        place: &dyn std::fmt::Display,
    ) -> std::io::Result<Self> {
        serde_json::from_slice(bytes).map_err(|error| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "the manifest {place} cannot be read ({error}): something else changed it, \
                     or a later version wrote it; move it aside to start this meeting's record \
                     afresh (its resources are then fetched again)"
                ),
            )
        })
    }
}

impl ManifestEntry {
    fn is_for(&self, key: &ResourceKey) -> bool {
        self.category == key.category && self.kind == key.kind && self.occurrence == key.occurrence
    }
}

fn first() -> u32 {
    1
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_first(occurrence: &u32) -> bool {
    *occurrence == 1
}

/// Whether a manifest entry finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntryStatus {
    /// Stored in full.
    Complete,
    /// Not stored; see the error.
    Failed,
}

/// What happened to one resource.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ResourceReport {
    /// The category.
    pub category: ResourceCategory,
    /// The type.
    pub kind: Option<ResourceType>,
    /// Which resource of this category and type in the callback, counting from 1 (see
    /// [`ResourceKey::occurrence`](crate::ResourceKey::occurrence)).
    pub occurrence: u32,
    /// The Cronofy URL.
    pub source_url: String,
    /// Where it went, when it succeeded.
    pub location: Option<Location>,
    /// Bytes stored (or held, when it failed).
    pub bytes: u64,
    /// SHA-256 of the whole resource, lowercase hex, when it succeeded.
    pub sha256: Option<String>,
    /// The `Content-Type` the server gave.
    pub content_type: Option<String>,
    /// The `Content-Encoding` the server applied though asked for `identity`: the bytes are
    /// stored as served (the hash and length are theirs), so decode them before use.
    pub content_encoding: Option<String>,
    /// HTTP attempts made (0 when skipped).
    pub attempts: u32,
    /// The offset the download resumed from, 0 when it started from scratch.
    pub resumed_from: u64,
    /// How long it took.
    pub duration: Duration,
    /// Whether it was already complete (per the manifest) and so not fetched again.
    pub skipped: bool,
    /// Why it failed; `None` on success.
    pub error: Option<DownloadError>,
}

impl ResourceReport {
    /// Whether the resource is stored in full.
    pub fn is_success(&self) -> bool {
        self.error.is_none()
    }

    /// A short name for people: `video-conference`, `video-conference #2`.
    pub fn label(&self) -> String {
        crate::storage::label(&self.category, self.kind.as_ref(), self.occurrence)
    }

    pub(crate) fn to_entry(&self) -> ManifestEntry {
        ManifestEntry {
            category: self.category.clone(),
            kind: self.kind.clone(),
            occurrence: self.occurrence,
            source_url: self.source_url.clone(),
            status: if self.is_success() {
                EntryStatus::Complete
            } else {
                EntryStatus::Failed
            },
            location: self.location.clone(),
            bytes: self.bytes,
            sha256: self.sha256.clone(),
            content_type: self.content_type.clone(),
            content_encoding: self.content_encoding.clone(),
            attempts: self.attempts,
            resumed_from: self.resumed_from,
            duration_ms: u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX),
            error: self.error.as_ref().map(ToString::to_string),
        }
    }

    pub(crate) fn from_complete_entry(entry: &ManifestEntry) -> Self {
        Self {
            category: entry.category.clone(),
            kind: entry.kind.clone(),
            occurrence: entry.occurrence,
            source_url: entry.source_url.clone(),
            location: entry.location.clone(),
            bytes: entry.bytes,
            sha256: entry.sha256.clone(),
            content_type: entry.content_type.clone(),
            content_encoding: entry.content_encoding.clone(),
            attempts: 0,
            resumed_from: 0,
            duration: Duration::ZERO,
            skipped: true,
            error: None,
        }
    }
}

/// What happened to every resource of a meeting agent.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MeetingReport {
    /// `meeting_agent.sub`.
    pub sub: String,
    /// One report per resource fetched or skipped, in the callback's order.
    pub resources: Vec<ResourceReport>,
}

impl MeetingReport {
    /// Whether every resource is stored in full.
    pub fn is_success(&self) -> bool {
        self.resources.iter().all(ResourceReport::is_success)
    }

    /// The resources that failed.
    pub fn failures(&self) -> impl Iterator<Item = &ResourceReport> {
        self.resources.iter().filter(|r| !r.is_success())
    }
}

impl Manifest {
    /// An empty manifest for `sub`.
    pub fn new(sub: impl Into<String>) -> Self {
        Self {
            sub: sub.into(),
            resources: Vec::new(),
        }
    }

    /// The entry of the first (usually the only) resource of a category and type.
    pub fn entry(
        &self,
        category: &ResourceCategory,
        kind: Option<&ResourceType>,
    ) -> Option<&ManifestEntry> {
        self.resources
            .iter()
            .find(|e| &e.category == category && e.kind.as_ref() == kind && e.occurrence == 1)
    }

    /// The entry of the resource a key names (its category, type and occurrence).
    pub fn entry_for(&self, key: &ResourceKey) -> Option<&ManifestEntry> {
        self.resources.iter().find(|e| e.is_for(key))
    }

    /// Records an entry, replacing the one for the same category, type and occurrence.
    pub fn record(&mut self, entry: ManifestEntry) {
        match self.resources.iter_mut().find(|e| {
            e.category == entry.category && e.kind == entry.kind && e.occurrence == entry.occurrence
        }) {
            Some(existing) => *existing = entry,
            None => self.resources.push(entry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(category: &str, kind: &str, occurrence: u32, ok: bool) -> ResourceReport {
        ResourceReport {
            category: ResourceCategory::from(category),
            kind: Some(ResourceType::from(kind)),
            occurrence,
            source_url: format!("https://api.cronofy.com/{category}/{occurrence}"),
            location: None,
            bytes: u64::from(occurrence),
            sha256: None,
            content_type: None,
            content_encoding: None,
            attempts: 1,
            resumed_from: 0,
            duration: Duration::ZERO,
            skipped: false,
            error: (!ok).then_some(DownloadError::Changed),
        }
    }

    #[test]
    fn entries_are_found_and_replaced_by_category_type_and_occurrence() {
        let mut manifest = Manifest::new("agt_1");
        manifest.record(report("video", "conference", 1, false).to_entry());
        manifest.record(report("video", "conference", 2, true).to_entry());
        manifest.record(report("audio", "voice", 1, true).to_entry());
        manifest.record(report("video", "other", 1, true).to_entry());
        assert_eq!(manifest.resources.len(), 4, "each kept apart");

        // A later outcome of the same resource replaces its entry.
        manifest.record(report("video", "conference", 1, true).to_entry());
        assert_eq!(manifest.resources.len(), 4);

        let video = ResourceCategory::from("video");
        let conference = ResourceType::from("conference");
        let first = manifest.entry(&video, Some(&conference)).unwrap();
        assert_eq!((first.occurrence, first.status), (1, EntryStatus::Complete));
        assert_eq!(first.source_url, "https://api.cronofy.com/video/1");
        assert_eq!(manifest.entry(&video, None), None);
        assert_eq!(
            manifest.entry(&ResourceCategory::from("transcript"), Some(&conference)),
            None
        );
        let other = manifest
            .entry(&video, Some(&ResourceType::from("other")))
            .unwrap();
        assert_eq!(other.kind, Some(ResourceType::from("other")));
    }

    #[test]
    fn the_occurrence_is_written_only_after_the_first() {
        let first =
            serde_json::to_value(report("video", "conference", 1, true).to_entry()).unwrap();
        assert!(first.get("occurrence").is_none(), "{first}");
        let second =
            serde_json::to_value(report("video", "conference", 2, true).to_entry()).unwrap();
        assert_eq!(second["occurrence"], 2);
        let read: ManifestEntry = serde_json::from_value(first).unwrap();
        assert_eq!(read.occurrence, 1);
    }

    #[test]
    fn a_meeting_succeeds_only_when_every_resource_does() {
        let mut meeting = MeetingReport {
            sub: "agt_1".into(),
            resources: vec![
                report("transcript", "cronofy", 1, true),
                report("video", "conference", 1, true),
            ],
        };
        assert!(meeting.is_success());
        assert_eq!(meeting.failures().count(), 0);
        meeting
            .resources
            .push(report("video", "conference", 2, false));
        assert!(!meeting.is_success());
        let failed: Vec<_> = meeting.failures().map(ResourceReport::label).collect();
        assert_eq!(failed, ["video-conference #2"]);
        assert_eq!(meeting.resources[1].label(), "video-conference");
    }
}
