//! Any `object_store` backend (S3, GCS, Azure, local, memory), with multipart uploads.

use std::fmt;
use std::io;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use object_store::path::Path;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt as _, PutPayload};

use super::{Location, ResourceKey, Sink, Storage, Validator};
use crate::names::{ResourceName, SNIFF_LEN};
use crate::{Manifest, safe_component};

/// The size of each uploaded part: over the 5 MiB most stores require of all parts but the last.
const PART_SIZE: usize = 8 << 20;

/// Stores resources in an [`ObjectStore`] under `<prefix>/<sub>/<category>-<type>.<ext>`, with
/// `<prefix>/<sub>/manifest.json`; the extension as [`FileStorage`](crate::FileStorage) chooses
/// it (from the content type, else from the first bytes).
///
/// Bytes are sent as a multipart upload in 8 MiB parts, so memory stays bounded whatever the size;
/// the object appears only when the upload completes, and a failed download aborts the upload.
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
}

impl fmt::Debug for ObjectStoreStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStoreStorage")
            .field("store", &self.store.to_string())
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl ObjectStoreStorage {
    /// Objects in `store` under `prefix` (which may be empty).
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str) -> Self {
        Self {
            store,
            prefix: Path::from(prefix),
        }
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
        };
        Box::pin(async move { Ok(Box::new(sink) as Box<dyn Sink>) })
    }

    fn load_manifest<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, io::Result<Option<Manifest>>> {
        Box::pin(async move {
            let path = self.agent_path(sub).join("manifest.json");
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
            let path = self.agent_path(&manifest.sub).join("manifest.json");
            let json = serde_json::to_vec_pretty(manifest)?;
            // A single PUT is atomic in every object store.
            self.store
                .put(&path, PutPayload::from(json))
                .await
                .map(drop)
                .map_err(to_io)
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
    upload: Option<(Path, Box<dyn MultipartUpload>)>,
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

    /// Sends one full part, starting the upload on the first.
    async fn send_part(&mut self, part: Bytes) -> io::Result<()> {
        if self.upload.is_none() {
            let path = self.target(self.content_type.as_deref());
            let upload = self.store.put_multipart(&path).await.map_err(to_io)?;
            self.upload = Some((path, upload));
        }
        let (_, upload) = self.upload.as_mut().expect("started above");
        upload.put_part(PutPayload::from(part)).await.map_err(to_io)
    }

    async fn abort_upload(&mut self) -> io::Result<()> {
        self.buf.clear();
        self.head.clear();
        match self.upload.take() {
            Some((_, mut upload)) => upload.abort().await.map_err(to_io),
            None => Ok(()),
        }
    }
}

impl Sink for ObjectSink {
    fn write<'a>(&'a mut self, chunk: &'a [u8]) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let wanted = SNIFF_LEN.saturating_sub(self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..wanted]);
            self.buf.extend_from_slice(chunk);
            while self.buf.len() >= PART_SIZE {
                let part = self.buf.split_to(PART_SIZE).freeze();
                self.send_part(part).await?;
            }
            Ok(())
        })
    }

    fn finish(
        mut self: Box<Self>,
        content_type: Option<String>,
    ) -> BoxFuture<'static, io::Result<Location>> {
        Box::pin(async move {
            let rest = self.buf.split().freeze();
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
                Some((path, mut upload)) => {
                    if !rest.is_empty() {
                        upload
                            .put_part(PutPayload::from(rest))
                            .await
                            .map_err(to_io)?;
                    }
                    if let Err(error) = upload.complete().await {
                        let _ = upload.abort().await;
                        return Err(to_io(error));
                    }
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
