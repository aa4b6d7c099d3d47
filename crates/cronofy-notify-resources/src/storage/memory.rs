//! Resources kept in memory, with a cap: for transcripts and tests.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;

use super::{Location, ResourceKey, Sink, Storage};
use crate::{Manifest, ManifestEntry};

/// Keeps each resource in memory, up to a cap per resource: the transcript, usually, which an
/// application parses at once. Cheap to clone; clones share the contents.
///
/// What it holds stays until taken out: a long-running process that shares one store between
/// meetings takes each resource once it has read it ([`take`](Self::take)), or lets a meeting go
/// whole ([`forget`](Self::forget)), or it keeps every transcript it ever fetched. A resource
/// taken out is fetched again should the same callback come once more.
///
/// ```
/// use cronofy_notify_resources::MemoryStorage;
///
/// let storage = MemoryStorage::new(16 << 20); // at most 16 MiB per resource
/// assert!(storage.get("agt_1", "transcript-cronofy").is_none());
/// assert_eq!(storage.held_bytes(), 0);
/// ```
#[derive(Clone, Debug)]
pub struct MemoryStorage {
    cap: usize,
    inner: Arc<Mutex<Contents>>,
}

#[derive(Debug, Default)]
struct Contents {
    /// By [`memory_key`], with the agent each belongs to.
    resources: HashMap<String, Held>,
    manifests: HashMap<String, Manifest>,
}

#[derive(Debug)]
struct Held {
    sub: String,
    bytes: Bytes,
}

impl MemoryStorage {
    /// A store that refuses any resource over `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Self {
            cap,
            inner: Arc::default(),
        }
    }

    /// The bytes of a finished resource, by agent and `<category>-<type>` stem.
    pub fn get(&self, sub: &str, stem: &str) -> Option<Bytes> {
        let resources = &self.lock().resources;
        resources
            .get(&memory_key(sub, stem))
            .map(|held| held.bytes.clone())
    }

    /// The bytes at a [`Location::Memory`].
    pub fn at(&self, location: &Location) -> Option<Bytes> {
        match location {
            Location::Memory(key) => self.lock().resources.get(key).map(|h| h.bytes.clone()),
            _ => None,
        }
    }

    /// Takes the bytes at a [`Location::Memory`] out of the store: they are the caller's now,
    /// and the store holds them no longer.
    pub fn take(&self, location: &Location) -> Option<Bytes> {
        match location {
            Location::Memory(key) => self.lock().resources.remove(key).map(|held| held.bytes),
            _ => None,
        }
    }

    /// Lets go of everything held for meeting agent `sub`: its resources and its manifest. A
    /// callback for it that comes again is then fetched anew.
    pub fn forget(&self, sub: &str) {
        let mut contents = self.lock();
        contents.resources.retain(|_, held| held.sub != sub);
        contents.manifests.remove(sub);
    }

    /// How many bytes of resources the store holds now, across every clone.
    pub fn held_bytes(&self) -> usize {
        let resources = &self.lock().resources;
        resources.values().map(|held| held.bytes.len()).sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Contents> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn memory_key(sub: &str, stem: &str) -> String {
    format!("{sub}/{stem}")
}

impl Storage for MemoryStorage {
    fn open<'a>(&'a self, key: &'a ResourceKey) -> BoxFuture<'a, io::Result<Box<dyn Sink>>> {
        let sink = MemorySink {
            sub: key.sub.clone(),
            key: memory_key(&key.sub, &key.stem()),
            buf: BytesMut::new(),
            cap: self.cap,
            store: self.clone(),
        };
        Box::pin(async move { Ok(Box::new(sink) as Box<dyn Sink>) })
    }

    fn load_manifest<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, io::Result<Option<Manifest>>> {
        let manifest = self.lock().manifests.get(sub).cloned();
        Box::pin(async move { Ok(manifest) })
    }

    fn save_manifest<'a>(&'a self, manifest: &'a Manifest) -> BoxFuture<'a, io::Result<()>> {
        self.lock()
            .manifests
            .insert(manifest.sub.clone(), manifest.clone());
        Box::pin(async { Ok(()) })
    }

    /// Under the store's lock: clones that download the same meeting keep each other's entries.
    fn record_in_manifest<'a>(
        &'a self,
        sub: &'a str,
        entry: ManifestEntry,
    ) -> BoxFuture<'a, io::Result<()>> {
        self.lock()
            .manifests
            .entry(sub.to_owned())
            .or_insert_with(|| Manifest::new(sub))
            .record(entry);
        Box::pin(async { Ok(()) })
    }

    fn contains<'a>(&'a self, location: &'a Location, bytes: u64) -> BoxFuture<'a, bool> {
        let present = self.at(location).is_some_and(|b| b.len() as u64 == bytes);
        Box::pin(async move { present })
    }
}

#[derive(Debug)]
struct MemorySink {
    sub: String,
    key: String,
    buf: BytesMut,
    cap: usize,
    store: MemoryStorage,
}

impl Sink for MemorySink {
    fn write<'a>(&'a mut self, chunk: &'a [u8]) -> BoxFuture<'a, io::Result<()>> {
        let result = if self.buf.len() + chunk.len() > self.cap {
            Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!("the resource is over the memory cap of {} bytes", self.cap),
            ))
        } else {
            self.buf.extend_from_slice(chunk);
            Ok(())
        };
        Box::pin(async move { result })
    }

    fn finish(
        self: Box<Self>,
        _content_type: Option<String>,
    ) -> BoxFuture<'static, io::Result<Location>> {
        let MemorySink {
            sub,
            key,
            buf,
            store,
            ..
        } = *self;
        let held = Held {
            sub,
            bytes: buf.freeze(),
        };
        store.lock().resources.insert(key.clone(), held);
        Box::pin(async move { Ok(Location::Memory(key)) })
    }

    fn abort(self: Box<Self>) -> BoxFuture<'static, io::Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn restart(&mut self) -> BoxFuture<'_, io::Result<()>> {
        self.buf.clear();
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ResourceKey {
        ResourceKey::new(
            "agt_1",
            cronofy_notify_core::ResourceCategory::Transcript,
            Some(cronofy_notify_core::ResourceType::Cronofy),
        )
    }

    #[tokio::test]
    async fn the_cap_holds_exactly_cap_bytes_however_they_arrive() {
        let storage = MemoryStorage::new(10);
        let mut sink = storage.open(&key()).await.unwrap();
        sink.write(b"1234").await.unwrap();
        sink.write(b"567890").await.unwrap();
        let error = sink.write(b"!").await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::FileTooLarge);
        assert!(error.to_string().contains("10 bytes"), "{error}");

        // What was refused was not kept: the ten bytes finish as they were.
        let location = sink.finish(None).await.unwrap();
        assert_eq!(storage.at(&location).unwrap(), &b"1234567890"[..]);
    }

    /// Stores `bytes` as agent `sub`'s transcript, and records it in the agent's manifest.
    async fn stored(storage: &MemoryStorage, sub: &str, bytes: &[u8]) -> Location {
        let key = ResourceKey {
            sub: sub.to_owned(),
            ..key()
        };
        let mut sink = storage.open(&key).await.unwrap();
        sink.write(bytes).await.unwrap();
        let location = sink.finish(None).await.unwrap();
        storage.save_manifest(&Manifest::new(sub)).await.unwrap();
        location
    }

    #[tokio::test]
    async fn what_is_taken_or_forgotten_is_held_no_longer() {
        let storage = MemoryStorage::new(1024);
        let first = stored(&storage, "agt_1", b"first").await;
        // A sub that begins like another, and holds `/`, is still another agent.
        let other = stored(&storage, "agt_1/x", b"other").await;
        let last = stored(&storage, "agt_2", b"last").await;
        assert_eq!(storage.held_bytes(), 14);

        assert_eq!(storage.take(&first).unwrap(), &b"first"[..]);
        assert_eq!(storage.take(&first), None, "taken once");
        assert!(!storage.contains(&first, 5).await);
        assert_eq!(storage.held_bytes(), 9);

        storage.forget("agt_1");
        assert!(storage.load_manifest("agt_1").await.unwrap().is_none());
        assert_eq!(storage.at(&other).unwrap(), &b"other"[..]);
        assert!(storage.load_manifest("agt_1/x").await.unwrap().is_some());

        storage.forget("agt_1/x");
        assert_eq!(storage.at(&other), None);
        assert!(storage.load_manifest("agt_1/x").await.unwrap().is_none());
        assert_eq!(storage.at(&last).unwrap(), &b"last"[..]);
        assert!(storage.load_manifest("agt_2").await.unwrap().is_some());
        assert_eq!(storage.held_bytes(), 4);
        assert_eq!(storage.take(&Location::File("agt_2/x".into())), None);
    }

    #[tokio::test]
    async fn contains_only_what_it_holds_at_the_length_recorded() {
        let storage = MemoryStorage::new(1024);
        let mut sink = storage.open(&key()).await.unwrap();
        sink.write(b"transcript").await.unwrap();
        let location = sink.finish(None).await.unwrap();

        assert!(storage.contains(&location, 10).await);
        assert!(!storage.contains(&location, 11).await);
        assert!(
            !storage
                .contains(&Location::Memory("agt_1/audio-voice".into()), 10)
                .await
        );
        // Another store's location, even under the same name, is not this store's.
        assert!(
            !storage
                .contains(&Location::File("agt_1/transcript-cronofy".into()), 10)
                .await
        );
    }
}
