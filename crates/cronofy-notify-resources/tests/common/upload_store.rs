//! An object store that passes everything to object_store's in-memory store, but for each
//! multipart upload, which it hands to a wrapper of the caller's first: to count parts, hold
//! them, slow them down or refuse them ([`Counting`] does all but the slowing); the wrapper can
//! also write first where the caller writes, as another process would ([`Interloper`]). Shared
//! by the object store tests, the fault campaign and the benchmark.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::stream::BoxStream;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt as _, PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};

/// What wraps each multipart upload.
pub trait WrapUpload: std::fmt::Debug + Send + Sync + 'static {
    /// The store's name in its `Display`: `NAME(InMemory)`.
    const NAME: &'static str;

    /// The upload the downloader gets, around the in-memory store's `upload`.
    fn wrap(&self, upload: Box<dyn MultipartUpload>) -> Box<dyn MultipartUpload>;

    /// What another writer writes to `location` just before the caller's write there.
    fn write_first(&self, _location: &Path) -> Option<PutPayload> {
        None
    }
}

/// The in-memory store, its multipart uploads wrapped by `W` (whose fields it derefs to).
#[derive(Debug)]
pub struct UploadStore<W> {
    pub inner: InMemory,
    wrapper: W,
}

impl<W> UploadStore<W> {
    pub fn new(wrapper: W) -> Self {
        Self {
            inner: InMemory::new(),
            wrapper,
        }
    }
}

impl<W> std::ops::Deref for UploadStore<W> {
    type Target = W;

    fn deref(&self) -> &W {
        &self.wrapper
    }
}

impl<W: WrapUpload> std::fmt::Display for UploadStore<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({})", W::NAME, self.inner)
    }
}

#[async_trait::async_trait]
impl<W: WrapUpload> ObjectStore for UploadStore<W> {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if let Some(theirs) = self.wrapper.write_first(location) {
            self.inner.put(location, theirs).await?;
        }
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let upload = self.inner.put_multipart_opts(location, opts).await?;
        Ok(self.wrapper.wrap(upload))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// Counts the multipart uploads of an [`UploadStore`] started, completed and aborted. On S3 an
/// upload neither completed nor aborted keeps its parts, out of sight and billed, until a
/// lifecycle rule removes them: object_store's own stores clean up on drop, so only a count can
/// tell.
///
/// It also counts the parts uploading at once, and can hold each part until a number of them
/// are uploading together (or a time has passed), as a store far away would keep them going.
#[derive(Debug, Default)]
pub struct Counting {
    pub started: AtomicUsize,
    pub completed: Arc<AtomicUsize>,
    pub aborted: Arc<AtomicUsize>,
    pub parts: Arc<PartsInFlight>,
}

#[derive(Debug, Default)]
pub struct PartsInFlight {
    /// Parts uploading now.
    pub now: AtomicUsize,
    /// The most that uploaded at once.
    pub most: AtomicUsize,
    /// Each part waits until this many have uploaded together once, or until the time is up.
    pub hold: Option<(usize, std::time::Duration)>,
    /// The part, counted from 1, that the store refuses.
    pub refuse: Option<usize>,
    /// Parts given so far.
    pub given: AtomicUsize,
    /// The size of each part, in the order given.
    pub sizes: std::sync::Mutex<Vec<usize>>,
}

impl Counting {
    /// `(started, completed, aborted)`.
    pub fn uploads(&self) -> (usize, usize, usize) {
        (
            self.started.load(Ordering::SeqCst),
            self.completed.load(Ordering::SeqCst),
            self.aborted.load(Ordering::SeqCst),
        )
    }
}

impl WrapUpload for Counting {
    const NAME: &'static str = "Counting";

    fn wrap(&self, upload: Box<dyn MultipartUpload>) -> Box<dyn MultipartUpload> {
        self.started.fetch_add(1, Ordering::SeqCst);
        Box::new(CountedUpload {
            upload,
            completed: self.completed.clone(),
            aborted: self.aborted.clone(),
            parts: self.parts.clone(),
        })
    }
}

#[derive(Debug)]
struct CountedUpload {
    upload: Box<dyn MultipartUpload>,
    completed: Arc<AtomicUsize>,
    aborted: Arc<AtomicUsize>,
    parts: Arc<PartsInFlight>,
}

#[async_trait::async_trait]
impl MultipartUpload for CountedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let parts = self.parts.clone();
        parts.sizes.lock().unwrap().push(data.content_length());
        let part = self.upload.put_part(data);
        let number = parts.given.fetch_add(1, Ordering::SeqCst) + 1;
        Box::pin(async move {
            if parts.refuse == Some(number) {
                return Err(object_store::Error::Generic {
                    store: "Counting",
                    source: format!("part {number} refused").into(),
                });
            }
            let now = parts.now.fetch_add(1, Ordering::SeqCst) + 1;
            parts.most.fetch_max(now, Ordering::SeqCst);
            if let Some((together, limit)) = parts.hold {
                let until = tokio::time::Instant::now() + limit;
                while parts.most.load(Ordering::SeqCst) < together
                    && tokio::time::Instant::now() < until
                {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            }
            let result = part.await;
            parts.now.fetch_sub(1, Ordering::SeqCst);
            result
        })
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        self.completed.fetch_add(1, Ordering::SeqCst);
        self.upload.complete().await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.aborted.fetch_add(1, Ordering::SeqCst);
        self.upload.abort().await
    }
}

/// Another writer of the manifest at `manifest`, which writes its own version there just
/// before the first write of anyone else's: between their read and their write, where two
/// processes that record parts of one meeting can meet.
#[derive(Debug)]
pub struct Interloper {
    manifest: Path,
    theirs: PutPayload,
    pub interloped: std::sync::atomic::AtomicBool,
}

impl Interloper {
    pub fn new(manifest: Path, theirs: bytes::Bytes) -> Self {
        Self {
            manifest,
            theirs: PutPayload::from(theirs),
            interloped: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

impl WrapUpload for Interloper {
    const NAME: &'static str = "Interloper";

    fn wrap(&self, upload: Box<dyn MultipartUpload>) -> Box<dyn MultipartUpload> {
        upload
    }

    fn write_first(&self, location: &Path) -> Option<PutPayload> {
        (location == &self.manifest && !self.interloped.swap(true, Ordering::SeqCst))
            .then(|| self.theirs.clone())
    }
}
