//! Any `object_store` backend (S3, GCS, Azure, local, memory), with multipart uploads.

use std::fmt;
use std::io;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use object_store::path::Path;
use object_store::{
    ObjectStore, ObjectStoreExt as _, PutMode, PutPayload, UpdateVersion, WriteMultipart,
};

use super::{Location, ResourceKey, Sink, Storage, Validator};
use crate::names::{ResourceName, SNIFF_LEN};
use crate::{Manifest, ManifestEntry, safe_component};

/// The size of each uploaded part: over the 5 MiB most stores require of all parts but the last,
/// and the same for all of them, as R2 requires.
const PART_SIZE: usize = 8 << 20;

/// The name of a meeting's manifest under its prefix.
const MANIFEST: &str = "manifest.json";

/// How many times an entry is recorded anew when another writer replaced the manifest first.
const RECORD_ATTEMPTS: usize = 16;

/// How many parts upload at once by default: one goes up while the next is downloaded.
const DEFAULT_PARTS_IN_FLIGHT: usize = 2;

/// Stores resources in an [`ObjectStore`] under `<prefix>/<sub>/<category>-<type>.<ext>`, with
/// `<prefix>/<sub>/manifest.json`; the extension as [`FileStorage`](crate::FileStorage) chooses
/// it (from the content type, else from the first bytes).
///
/// Bytes are sent as a multipart upload in 8 MiB parts, two of them uploading at once while the
/// download goes on ([`with_parts_in_flight`](Self::with_parts_in_flight)), so that a slow store
/// and a slow download do not add up; memory stays bounded whatever the size, at 8 MiB more than
/// the parts in flight (24 MiB a resource by default). The object appears only when the upload
/// completes, and a failed download aborts the upload.
/// A restart within one download starts a new upload; a download interrupted by the process
/// ending starts over next time (object stores keep no partial object to resume from). Stop a
/// download through its cancellation token ([`Downloader::download_with_cancel`]) rather than by
/// dropping its future: a dropped future cannot abort its upload, whose parts the store then
/// keeps until its own clean-up removes them (on S3, a lifecycle rule with
/// `AbortIncompleteMultipartUpload`).
///
/// [`Downloader::download_with_cancel`]: crate::Downloader::download_with_cancel
///
/// ```
/// use std::sync::Arc;
/// use cronofy_notify_resources::{Downloader, ObjectStoreStorage};
///
/// let store = Arc::new(object_store::memory::InMemory::new());
/// let downloader = Downloader::builder("api-key")
///     .storage(ObjectStoreStorage::new(store, "recordings"))
///     .build()?;
/// # Ok::<(), cronofy_notify_resources::BuildError>(())
/// ```
#[derive(Clone)]
pub struct ObjectStoreStorage {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    parts_in_flight: usize,
}

impl fmt::Debug for ObjectStoreStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStoreStorage")
            .field("store", &self.store.to_string())
            .field("prefix", &self.prefix)
            .field("parts_in_flight", &self.parts_in_flight)
            .finish()
    }
}

impl ObjectStoreStorage {
    /// Objects in `store` under `prefix` (which may be empty).
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str) -> Self {
        Self {
            store,
            prefix: Path::from(prefix),
            parts_in_flight: DEFAULT_PARTS_IN_FLIGHT,
        }
    }

    /// How many 8 MiB parts of one resource may upload at once (2 by default; 0 counts as 1).
    /// More suits a store far away, each part costing 8 MiB of memory while it uploads; 1
    /// uploads each part before downloading the next.
    #[must_use]
    pub fn with_parts_in_flight(mut self, parts: usize) -> Self {
        self.parts_in_flight = parts.max(1);
        self
    }

    fn agent_path(&self, sub: &str) -> Path {
        self.prefix.clone().join(safe_component(sub).as_str())
    }
}

fn to_io(error: object_store::Error) -> io::Error {
    match error {
        object_store::Error::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, error),
        other => io::Error::other(other),
    }
}

impl Storage for ObjectStoreStorage {
    fn open<'a>(&'a self, key: &'a ResourceKey) -> BoxFuture<'a, io::Result<Box<dyn Sink>>> {
        let sink = ObjectSink {
            store: self.store.clone(),
            dir: self.agent_path(&key.sub),
            name: ResourceName::new(key),
            content_type: None,
            head: Vec::new(),
            buf: BytesMut::new(),
            upload: None,
            parts_in_flight: self.parts_in_flight,
        };
        Box::pin(async move { Ok(Box::new(sink) as Box<dyn Sink>) })
    }

    fn load_manifest<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, io::Result<Option<Manifest>>> {
        Box::pin(async move {
            let path = self.agent_path(sub).join(MANIFEST);
            match self.store.get(&path).await {
                Ok(found) => {
                    let bytes = found.bytes().await.map_err(to_io)?;
                    Manifest::read_stored(&bytes, &path).map(Some)
                }
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(to_io(e)),
            }
        })
    }

    fn save_manifest<'a>(&'a self, manifest: &'a Manifest) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let path = self.agent_path(&manifest.sub).join(MANIFEST);
            let json = serde_json::to_vec_pretty(manifest)?;
            // A single PUT is atomic in every object store.
            self.store
                .put(&path, PutPayload::from(json))
                .await
                .map(drop)
                .map_err(to_io)
        })
    }

    /// With a conditional write: the manifest is replaced only if it is still the version
    /// read (created only if there was none), else read again and the entry recorded anew.
    /// On a store that has no conditional writes (the local file system; S3 with them
    /// disabled) or refuses them, written as [`save_manifest`](Storage::save_manifest) writes it.
    fn record_in_manifest<'a>(
        &'a self,
        sub: &'a str,
        entry: ManifestEntry,
    ) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let path = self.agent_path(sub).join(MANIFEST);
            for _ in 0..RECORD_ATTEMPTS {
                let (mut manifest, mode) = match self.store.get(&path).await {
                    Ok(found) => {
                        let mode = match (&found.meta.e_tag, &found.meta.version) {
                            // Nothing to name the version read by.
                            (None, None) => PutMode::Overwrite,
                            (e_tag, version) => PutMode::Update(UpdateVersion {
                                e_tag: e_tag.clone(),
                                version: version.clone(),
                            }),
                        };
                        let bytes = found.bytes().await.map_err(to_io)?;
                        (Manifest::read_stored(&bytes, &path)?, mode)
                    }
                    Err(object_store::Error::NotFound { .. }) => {
                        (Manifest::new(sub), PutMode::Create)
                    }
                    Err(e) => return Err(to_io(e)),
                };
                manifest.record(entry.clone());
                let json = Bytes::from(serde_json::to_vec_pretty(&manifest)?);
                let written = self
                    .store
                    .put_opts(&path, PutPayload::from(json.clone()), mode.into())
                    .await;
                match written {
                    Ok(_) => return Ok(()),
                    // Another writer replaced it since it was read: read theirs.
                    Err(
                        object_store::Error::Precondition { .. }
                        | object_store::Error::AlreadyExists { .. },
                    ) => {}
                    // A store without conditional writes (the local file system, S3 with them
                    // disabled, an S3-compatible one that refuses their headers in its own
                    // way): written as `save_manifest` writes it. A fault of the store itself
                    // fails that write too, and is reported from it.
                    Err(_) => {
                        return self
                            .store
                            .put(&path, PutPayload::from(json))
                            .await
                            .map(drop)
                            .map_err(to_io);
                    }
                }
            }
            Err(io::Error::other(format!(
                "{path}: the manifest changed each of the {RECORD_ATTEMPTS} times this resource's \
                 entry was about to be written; is something rewriting it in a loop?"
            )))
        })
    }

    fn contains<'a>(&'a self, location: &'a Location, bytes: u64) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let Location::Object(path) = location else {
                return false;
            };
            self.store
                .head(&Path::from(path.as_str()))
                .await
                .is_ok_and(|meta| meta.size == bytes)
        })
    }
}

struct ObjectSink {
    store: Arc<dyn ObjectStore>,
    dir: Path,
    name: ResourceName,
    content_type: Option<String>,
    /// The first bytes written, up to [`SNIFF_LEN`], to name the object by when its content
    /// type names no format.
    head: Vec<u8>,
    buf: BytesMut,
    /// The upload, once a first full part has come, and where its object will be.
    upload: Option<(Path, WriteMultipart)>,
    parts_in_flight: usize,
}

impl fmt::Debug for ObjectSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectSink")
            .field("dir", &self.dir)
            .field("name", &self.name)
            .field("buffered", &self.buf.len())
            .field("uploading", &self.upload.is_some())
            .finish_non_exhaustive()
    }
}

impl ObjectSink {
    fn target(&self, content_type: Option<&str>) -> Path {
        self.dir
            .clone()
            .join(self.name.final_name(content_type, &self.head).as_str())
    }

    /// Starts one full part uploading, starting the upload on the first; waits first while as
    /// many parts as allowed are uploading (a part that failed fails here).
    async fn send_part(&mut self, part: Bytes) -> io::Result<()> {
        if self.upload.is_none() {
            let path = self.target(self.content_type.as_deref());
            let upload = self.store.put_multipart(&path).await.map_err(to_io)?;
            self.upload = Some((path, WriteMultipart::new_with_chunk_size(upload, PART_SIZE)));
        }
        let (_, upload) = self.upload.as_mut().expect("started above");
        upload
            .wait_for_capacity(self.parts_in_flight)
            .await
            .map_err(to_io)?;
        upload.put(part);
        Ok(())
    }

    async fn abort_upload(&mut self) -> io::Result<()> {
        self.buf.clear();
        self.head.clear();
        match self.upload.take() {
            Some((_, upload)) => upload.abort().await.map_err(to_io),
            None => Ok(()),
        }
    }
}

impl Sink for ObjectSink {
    fn write<'a>(&'a mut self, chunk: &'a [u8]) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let wanted = SNIFF_LEN.saturating_sub(self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..wanted]);
            // Each part fills a buffer of its own, of exactly its size, which goes up whole: a
            // part cut from a growing buffer would keep that buffer's whole allocation (up to
            // twice the part) alive for as long as the part uploads.
            let mut chunk = chunk;
            while !chunk.is_empty() {
                if self.buf.capacity() == 0 {
                    self.buf = BytesMut::with_capacity(PART_SIZE);
                }
                let taken = (PART_SIZE - self.buf.len()).min(chunk.len());
                self.buf.extend_from_slice(&chunk[..taken]);
                chunk = &chunk[taken..];
                if self.buf.len() == PART_SIZE {
                    let part = std::mem::take(&mut self.buf).freeze();
                    self.send_part(part).await?;
                }
            }
            Ok(())
        })
    }

    fn finish(
        mut self: Box<Self>,
        content_type: Option<String>,
    ) -> BoxFuture<'static, io::Result<Location>> {
        Box::pin(async move {
            // A buffer sized for a part but holding far less (a transcript, the tail of a
            // video) is handed over as a copy of its size, not as the whole allocation, which
            // a store may keep (an in-memory one does).
            let rest = if self.buf.len() < self.buf.capacity() / 2 {
                Bytes::copy_from_slice(&self.buf)
            } else {
                self.buf.split().freeze()
            };
            let path = match self.upload.take() {
                // Small enough for one part: a plain PUT, atomic as well.
                None => {
                    let path = self.target(content_type.as_deref());
                    self.store
                        .put(&path, PutPayload::from(rest))
                        .await
                        .map_err(to_io)?;
                    path
                }
                // The last part, then every part awaited; any failure aborts the upload.
                Some((path, mut upload)) => {
                    if let Err(error) = upload.wait_for_capacity(self.parts_in_flight).await {
                        let _ = upload.abort().await;
                        return Err(to_io(error));
                    }
                    upload.put(rest);
                    upload.finish().await.map_err(to_io)?;
                    path
                }
            };
            Ok(Location::Object(path.to_string()))
        })
    }

    fn abort(mut self: Box<Self>) -> BoxFuture<'static, io::Result<()>> {
        Box::pin(async move { self.abort_upload().await })
    }

    fn restart(&mut self) -> BoxFuture<'_, io::Result<()>> {
        Box::pin(self.abort_upload())
    }

    fn checkpoint<'a>(&'a mut self, validator: &'a Validator) -> BoxFuture<'a, io::Result<()>> {
        // The content type names the object, which is fixed when the first part goes up.
        if self.upload.is_none() {
            self.content_type.clone_from(&validator.content_type);
        }
        Box::pin(async { Ok(()) })
    }
}
