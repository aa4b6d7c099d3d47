//! An object store that passes everything to object_store's in-memory store, but for each
//! multipart upload, which it hands to a wrapper of the caller's first: to count parts, hold
//! them, slow them down or refuse them. Shared by the object store tests and benchmark.
#![allow(dead_code, unreachable_pub)]

use futures::stream::BoxStream;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

/// What wraps each multipart upload.
pub trait WrapUpload: std::fmt::Debug + Send + Sync + 'static {
    /// The store's name in its `Display`: `NAME(InMemory)`.
    const NAME: &'static str;

    /// The upload the downloader gets, around the in-memory store's `upload`.
    fn wrap(&self, upload: Box<dyn MultipartUpload>) -> Box<dyn MultipartUpload>;
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
