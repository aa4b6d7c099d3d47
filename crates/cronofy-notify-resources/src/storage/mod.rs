//! Where downloaded bytes go: one small trait for a resource being written ([`Sink`]) and one for
//! the place that makes them ([`Storage`]).
//!
//! Built in: [`FileStorage`] (the default), [`MemoryStorage`] (capped, for transcripts) and, with
//! the `object-store` feature, `ObjectStoreStorage` (S3, GCS, Azure, local) with multipart uploads.

mod file;
mod manifest_lock;
mod memory;
#[cfg(feature = "object-store")]
mod object;

use std::fmt;
use std::io;
use std::path::PathBuf;

use cronofy_notify_core::{ResourceCategory, ResourceType};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use file::FileStorage;
pub use memory::MemoryStorage;
#[cfg(feature = "object-store")]
pub use object::ObjectStoreStorage;

use crate::{Manifest, ManifestEntry};

/// Which resource of which meeting agent: the names a storage files it under.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ResourceKey {
    /// `meeting_agent.sub`, as received (storages must sanitise it).
    pub sub: String,
    /// The resource's category.
    pub category: ResourceCategory,
    /// The resource's type, when given.
    pub kind: Option<ResourceType>,
    /// Which resource of this category and type it is, counting from 1 in the callback's order.
    /// A callback may list more than one (two video recordings of one meeting); the second and
    /// later get names of their own (`video-conference-2`), so none overwrites another.
    pub occurrence: u32,
}

impl ResourceKey {
    /// A key for the first (usually the only) resource of a category and type of one agent.
    pub fn new(
        sub: impl Into<String>,
        category: ResourceCategory,
        kind: Option<ResourceType>,
    ) -> Self {
        Self {
            sub: sub.into(),
            category,
            kind,
            occurrence: 1,
        }
    }

    /// The same key for the `occurrence`th resource of its category and type, counting from 1
    /// (0 is taken as 1).
    #[must_use]
    pub fn with_occurrence(mut self, occurrence: u32) -> Self {
        self.occurrence = occurrence.max(1);
        self
    }

    /// `<category>-<type>`, sanitised, then `-<occurrence>` after the first: the file or object
    /// name without extension.
    pub fn stem(&self) -> String {
        let kind = self.kind.as_ref().map_or("resource", ResourceType::as_str);
        let mut stem = crate::safe_component(&format!("{}-{kind}", self.category.as_str()));
        if self.occurrence > 1 {
            stem.push_str(&format!("-{}", self.occurrence));
        }
        stem
    }
}

impl ResourceKey {
    /// A short name for people, without the agent: `video-conference`, `video-conference #2`.
    pub fn label(&self) -> String {
        label(&self.category, self.kind.as_ref(), self.occurrence)
    }
}

impl fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.sub, self.label())
    }
}

/// `<category>-<type>`, then ` #<occurrence>` after the first.
pub(crate) fn label(
    category: &ResourceCategory,
    kind: Option<&ResourceType>,
    occurrence: u32,
) -> String {
    let mut label = category.to_string();
    if let Some(kind) = kind {
        label.push('-');
        label.push_str(kind.as_str());
    }
    if occurrence > 1 {
        label.push_str(&format!(" #{occurrence}"));
    }
    label
}

/// Where a finished resource went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Location {
    /// A file.
    File(PathBuf),
    /// A key in a [`MemoryStorage`].
    Memory(String),
    /// A path in an object store.
    Object(String),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Memory(key) => write!(f, "memory:{key}"),
            Self::Object(path) => write!(f, "object:{path}"),
        }
    }
}

/// What the server said about the bytes being written: saved beside a partial download so a later
/// process can resume it only if the resource has not changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Validator {
    /// The strong `ETag`, if the server sent one.
    pub etag: Option<String>,
    /// The full length, if known.
    pub total: Option<u64>,
    /// The `Content-Type`.
    pub content_type: Option<String>,
    /// The `Content-Encoding`, when the server applied one though asked for `identity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
}

/// The SHA-256 state of bytes already held, so a resumed download reports the hash of the whole.
#[derive(Clone, Default)]
pub struct PrefixHash(Sha256);

impl PrefixHash {
    /// The hash of nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes of the prefix, in order.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub(crate) fn finish_hex(self) -> String {
        hex::encode(self.0.finalize())
    }
}

impl fmt::Debug for PrefixHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrefixHash(..)")
    }
}

/// What an earlier attempt left for a resource: where to resume from.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Partial {
    /// Bytes held.
    pub offset: u64,
    /// What the server said when they were fetched.
    pub validator: Validator,
    /// The SHA-256 state over those bytes.
    pub hash: PrefixHash,
}

impl Partial {
    /// A partial of `offset` bytes whose hash is `hash`.
    pub fn new(offset: u64, validator: Validator, hash: PrefixHash) -> Self {
        Self {
            offset,
            validator,
            hash,
        }
    }
}

/// One resource being written. Made by [`Storage::open`]; the downloader calls `write` for each
/// chunk in order, then exactly one of `finish`, `abort` or `suspend`.
pub trait Sink: Send + fmt::Debug {
    /// Appends bytes.
    fn write<'a>(&'a mut self, chunk: &'a [u8]) -> BoxFuture<'a, io::Result<()>>;

    /// Makes the written bytes final under a name that may depend on `content_type`, and says
    /// where they are. Nothing may be at that place before this succeeds.
    fn finish(
        self: Box<Self>,
        content_type: Option<String>,
    ) -> BoxFuture<'static, io::Result<Location>>;

    /// Throws away everything written, partial state included.
    fn abort(self: Box<Self>) -> BoxFuture<'static, io::Result<()>>;

    /// Drops what was written so far and starts again from byte 0 (the server sent the whole body
    /// again, or the resource changed).
    fn restart(&mut self) -> BoxFuture<'_, io::Result<()>>;

    /// What an earlier process left for this resource, taken once, before the first write.
    /// The default is nothing: start from byte 0.
    fn take_partial(&mut self) -> Option<Partial> {
        None
    }

    /// Records what the server said about the bytes being written, so a later process can resume.
    /// The default keeps nothing.
    fn checkpoint<'a>(&'a mut self, _validator: &'a Validator) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async { Ok(()) })
    }

    /// Stops, keeping what was written for a later resume where the sink can; the default
    /// aborts.
    fn suspend(self: Box<Self>) -> BoxFuture<'static, io::Result<()>> {
        self.abort()
    }
}

/// A place that stores resources and the manifest of each meeting agent.
///
/// Implement it, with [`Sink`], to put recordings somewhere of your own. The downloader opens a
/// sink per resource, writes the body through it chunk by chunk (a video never has to fit in
/// memory), and then finishes it, or aborts it when the download fails for good. Nothing may be
/// at a resource's final name before [`Sink::finish`]: write elsewhere, then move it into place.
/// Resuming across processes ([`Sink::take_partial`], [`Sink::checkpoint`], [`Sink::suspend`])
/// is optional; without it, a download cut short by a restart starts again from its first byte.
/// So is [`Storage::record_in_manifest`], whose default reads and then writes the manifest: give
/// your own when several processes download into the same storage.
///
/// Here, a store of named blobs that can append to a blob and rename one, as many stores can
/// (a table of chunks, an append blob, an upload session), stands in for yours:
///
/// ```
/// use std::collections::HashMap;
/// use std::io;
/// use std::sync::{Arc, Mutex};
///
/// use cronofy_notify_resources::{
///     Downloader, Location, Manifest, ResourceKey, Sink, Storage, safe_component,
/// };
/// use futures::future::BoxFuture;
///
/// /// Your store (a stand-in): named blobs that can be appended to, renamed and removed.
/// #[derive(Clone, Debug, Default)]
/// struct Blobs(Arc<Mutex<HashMap<String, Vec<u8>>>>);
///
/// impl Blobs {
///     fn append(&self, name: &str, bytes: &[u8]) {
///         let mut blobs = self.0.lock().unwrap();
///         blobs.entry(name.to_owned()).or_default().extend_from_slice(bytes);
///     }
///     fn rename(&self, from: &str, to: &str) {
///         let mut blobs = self.0.lock().unwrap();
///         let bytes = blobs.remove(from).unwrap_or_default();
///         blobs.insert(to.to_owned(), bytes);
///     }
///     fn remove(&self, name: &str) {
///         self.0.lock().unwrap().remove(name);
///     }
///     fn get(&self, name: &str) -> Option<Vec<u8>> {
///         self.0.lock().unwrap().get(name).cloned()
///     }
/// }
///
/// /// One recording on its way: appended to `<name>.uploading`, renamed to `<name>` at the end.
/// #[derive(Debug)]
/// struct BlobSink {
///     blobs: Blobs,
///     name: String,
/// }
///
/// impl BlobSink {
///     fn uploading(&self) -> String {
///         format!("{}.uploading", self.name)
///     }
/// }
///
/// impl Sink for BlobSink {
///     fn write<'a>(&'a mut self, chunk: &'a [u8]) -> BoxFuture<'a, io::Result<()>> {
///         self.blobs.append(&self.uploading(), chunk);
///         Box::pin(async { Ok(()) })
///     }
///     fn finish(
///         self: Box<Self>,
///         _content_type: Option<String>,
///     ) -> BoxFuture<'static, io::Result<Location>> {
///         Box::pin(async move {
///             self.blobs.rename(&self.uploading(), &self.name);
///             Ok(Location::Object(self.name))
///         })
///     }
///     fn abort(self: Box<Self>) -> BoxFuture<'static, io::Result<()>> {
///         self.blobs.remove(&self.uploading());
///         Box::pin(async { Ok(()) })
///     }
///     fn restart(&mut self) -> BoxFuture<'_, io::Result<()>> {
///         self.blobs.remove(&self.uploading());
///         Box::pin(async { Ok(()) })
///     }
/// }
///
/// /// Where a meeting agent's blobs go. `sub` comes from the callback: sanitise it.
/// fn folder(sub: &str) -> String {
///     safe_component(sub)
/// }
///
/// impl Storage for Blobs {
///     fn open<'a>(&'a self, key: &'a ResourceKey) -> BoxFuture<'a, io::Result<Box<dyn Sink>>> {
///         let sink = BlobSink {
///             blobs: self.clone(),
///             name: format!("{}/{}", folder(&key.sub), key.stem()),
///         };
///         // Without resume, the body starts again from its first byte: drop what an earlier
///         // process left.
///         self.remove(&sink.uploading());
///         Box::pin(async move { Ok(Box::new(sink) as Box<dyn Sink>) })
///     }
///     fn load_manifest<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, io::Result<Option<Manifest>>> {
///         let json = self.get(&format!("{}/manifest.json", folder(sub)));
///         Box::pin(async move {
///             json.map(|json| serde_json::from_slice(&json).map_err(io::Error::other))
///                 .transpose()
///         })
///     }
///     fn save_manifest<'a>(&'a self, manifest: &'a Manifest) -> BoxFuture<'a, io::Result<()>> {
///         Box::pin(async move {
///             let json = serde_json::to_vec(manifest).map_err(io::Error::other)?;
///             let name = format!("{}/manifest.json", folder(&manifest.sub));
///             self.remove(&format!("{name}.uploading"));
///             self.append(&format!("{name}.uploading"), &json);
///             self.rename(&format!("{name}.uploading"), &name); // all or nothing
///             Ok(())
///         })
///     }
///     fn contains<'a>(&'a self, location: &'a Location, bytes: u64) -> BoxFuture<'a, bool> {
///         let held = match location {
///             Location::Object(name) => self.get(name).map(|blob| blob.len() as u64),
///             _ => None,
///         };
///         Box::pin(async move { held == Some(bytes) })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let cronofy = wiremock::MockServer::start().await;
/// # wiremock::Mock::given(wiremock::matchers::path("/v1/transcript"))
/// #     .respond_with(wiremock::ResponseTemplate::new(200).set_body_raw("{}", "application/json"))
/// #     .mount(&cronofy)
/// #     .await;
/// # let body = format!(r#"{{"notification":{{"type":"event_subscription"}},
/// #   "meeting_agent":{{"sub":"agt_1","resources":[
/// #     {{"category":"transcript","type":"cronofy","url":"{}/v1/transcript"}}]}}}}"#, cronofy.uri());
/// # let notification = cronofy_notify_resources::cronofy_notify_core::Notification::from_slice(body.as_bytes())?;
/// # let callback = notification.to_event_subscription().unwrap();
/// # let api_key = "the client secret";
/// let blobs = Blobs::default();
/// # blobs.append("agt_1/transcript-cronofy.uploading", b"left by a process that died");
/// let downloader = Downloader::builder(api_key)
/// #   .allow_http(true)
///     .storage(blobs.clone())
///     .build()?;
/// let report = downloader.download(&callback).await?;
/// assert!(report.is_success());
/// assert_eq!(blobs.get("agt_1/transcript-cronofy").as_deref(), Some(&b"{}"[..]));
/// assert!(blobs.get("agt_1/manifest.json").is_some());
/// # assert!(blobs.get("agt_1/transcript-cronofy.uploading").is_none());
/// # Ok(()) }
/// ```
pub trait Storage: Send + Sync + fmt::Debug + 'static {
    /// Opens the sink for one resource, with whatever an earlier attempt left.
    fn open<'a>(&'a self, key: &'a ResourceKey) -> BoxFuture<'a, io::Result<Box<dyn Sink>>>;

    /// Reads the manifest of a meeting agent, `None` when there is none yet. Called before each
    /// resource is looked up: read what is stored now, not a copy kept from before, as another
    /// process may have recorded the resource meanwhile.
    fn load_manifest<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, io::Result<Option<Manifest>>>;

    /// Writes the manifest of a meeting agent, atomically.
    fn save_manifest<'a>(&'a self, manifest: &'a Manifest) -> BoxFuture<'a, io::Result<()>>;

    /// Records `entry` in the manifest of meeting agent `sub`, in place of the entry of the same
    /// resource, as one step: the manifest stored now is read, changed and written back, so an
    /// entry that another writer recorded meanwhile is kept. The downloader records each
    /// resource through it as the resource ends.
    ///
    /// The default does it with [`load_manifest`](Self::load_manifest) and
    /// [`save_manifest`](Self::save_manifest): one step for one downloader, whose calls for a
    /// meeting record one at a time, but not for two processes that share the storage, which
    /// could each read the manifest before the other wrote it and drop the other's entry (a
    /// resource stored but fetched again by the next call). A storage that processes share
    /// overrides it with a lock or a conditional write: [`FileStorage`] locks the meeting's
    /// folder (on NFS, a lock file in it) while it records.
    fn record_in_manifest<'a>(
        &'a self,
        sub: &'a str,
        entry: ManifestEntry,
    ) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let mut manifest = self
                .load_manifest(sub)
                .await?
                .unwrap_or_else(|| Manifest::new(sub));
            manifest.record(entry);
            self.save_manifest(&manifest).await
        })
    }

    /// Whether a finished resource is still at `location` with `bytes` bytes, so that a duplicate
    /// callback need not fetch it again.
    fn contains<'a>(&'a self, location: &'a Location, bytes: u64) -> BoxFuture<'a, bool>;
}
