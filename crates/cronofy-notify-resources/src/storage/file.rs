//! Files on a local disk: `<root>/<sub>/<category>-<type>.<ext>`, written through `.part`.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use tokio::fs;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufWriter};

use super::{Location, Partial, PrefixHash, ResourceKey, Sink, Storage, Validator, manifest_lock};
use crate::names::{ResourceName, SNIFF_LEN};
use crate::{Manifest, ManifestEntry, safe_component};

/// The name of a meeting's manifest in its folder.
const MANIFEST: &str = "manifest.json";

/// Writes are gathered into blocks of this size before they reach the file.
const WRITE_BUFFER: usize = 1 << 20;

/// Stores resources as files under a root folder: `<root>/<sub>/<category>-<type>.<ext>`, with the
/// extension taken from the content type; when that names no format (as `application/octet-stream`
/// does), from the first bytes (MP4, M4A, QuickTime, WebM, Matroska, WAV, Ogg, FLAC, MP3, AAC);
/// else `json` for a transcript and `bin` for the rest. And `<root>/<sub>/manifest.json`.
///
/// Bytes go to `<category>-<type>.part`, locked while it is written (a second writer, in this
/// process or another, gets an error rather than a share of the file), with a `.part.json`
/// sidecar holding the ETag and length for a later resume; a finished file is fsynced, renamed
/// into place, and its folder fsynced. The manifest is replaced whole the same way, with the
/// meeting's folder locked so that processes sharing the root record in turn (where a folder
/// cannot be locked, as on NFS, a `.manifest.json.lock` file in it is locked instead).
/// Nothing half-written is ever at the final path. Every name taken from the payload or a server
/// goes through [`safe_component`], so no `sub` can leave the root.
#[derive(Clone, Debug)]
pub struct FileStorage {
    root: PathBuf,
}

impl FileStorage {
    /// Files under `root` (created when needed).
    ///
    /// A relative `root` is made absolute here, once, against the current directory: the
    /// locations in reports and manifests then name the files whatever directory they are read
    /// from, and a later run given the same folder by its absolute path finds what this one
    /// stored instead of fetching it again. Its path must be UTF-8, for the manifest names each
    /// file as JSON text: otherwise every resource fails with a storage error saying so, before
    /// anything is fetched ([`DownloaderBuilder::root`](crate::DownloaderBuilder::root) refuses
    /// such a folder when the downloader is built).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Self {
            root: std::path::absolute(&root).unwrap_or(root),
        }
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of a meeting agent's files.
    pub fn agent_dir(&self, sub: &str) -> PathBuf {
        self.root.join(safe_component(sub))
    }

    /// Runs `work` on a blocking thread with the meeting's folder created and locked: the
    /// manifest's writers, in this process or another, take turns.
    async fn in_locked_folder<T: Send + 'static>(
        &self,
        sub: &str,
        work: impl FnOnce(&Path) -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        self.text_root()?;
        let dir = self.agent_dir(sub);
        create_dir_durably(&dir).await.map_err(at(&dir))?;
        tokio::task::spawn_blocking(move || {
            let _lock = manifest_lock::lock(&dir);
            work(&dir)
        })
        .await
        .map_err(io::Error::other)?
    }

    /// Refuses a root whose path is not UTF-8, before anything is fetched for it: the manifest
    /// names each file as JSON text, and its writing would fail once every byte had come.
    fn text_root(&self) -> io::Result<()> {
        match self.root.to_str() {
            Some(_) => Ok(()),
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{}: the folder's path is not UTF-8, and the manifest must name each file \
                     in it as text; choose a folder whose path is UTF-8",
                    self.root.display()
                ),
            )),
        }
    }
}

impl Storage for FileStorage {
    fn open<'a>(&'a self, key: &'a ResourceKey) -> BoxFuture<'a, io::Result<Box<dyn Sink>>> {
        Box::pin(async move {
            self.text_root()?;
            let dir = self.agent_dir(&key.sub);
            create_dir_durably(&dir).await.map_err(at(&dir))?;
            let name = ResourceName::new(key);
            let part = dir.join(format!("{}.part", name.stem()));
            let sidecar = dir.join(format!("{}.part.json", name.stem()));
            // Locked before anything is read or cut: another process writing the same resource
            // keeps its file, and this download stops with a clear error instead.
            let mut file = open_locked(&part).await?;
            let held = file.metadata().await.map_err(at(&part))?.len();
            let partial = read_partial(&part, held, &sidecar).await?;
            if partial.is_none() {
                file.set_len(0).await.map_err(at(&part))?;
            }
            file.seek(io::SeekFrom::End(0)).await.map_err(at(&part))?;
            Ok(Box::new(FileSink {
                file: BufWriter::with_capacity(WRITE_BUFFER, file),
                dir,
                name,
                part,
                sidecar,
                partial,
            }) as Box<dyn Sink>)
        })
    }

    fn load_manifest<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, io::Result<Option<Manifest>>> {
        Box::pin(async move {
            let path = self.agent_dir(sub).join(MANIFEST);
            match fs::read(&path).await {
                Ok(bytes) => Manifest::read_stored(&bytes, &path.display()).map(Some),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(at(&path)(e)),
            }
        })
    }

    fn save_manifest<'a>(&'a self, manifest: &'a Manifest) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let json = serde_json::to_vec_pretty(manifest)?;
            self.in_locked_folder(&manifest.sub, move |dir| {
                replace_file(dir, MANIFEST, &json).map_err(at(&dir.join(MANIFEST)))
            })
            .await
        })
    }

    /// Reads, changes and replaces `manifest.json` with the meeting's folder locked, so that
    /// another process recording in the same folder waits its turn rather than write a
    /// manifest read before this entry was in it.
    fn record_in_manifest<'a>(
        &'a self,
        sub: &'a str,
        entry: ManifestEntry,
    ) -> BoxFuture<'a, io::Result<()>> {
        let owned_sub = sub.to_owned();
        Box::pin(self.in_locked_folder(sub, move |dir| {
            let path = dir.join(MANIFEST);
            let mut manifest = match std::fs::read(&path) {
                Ok(bytes) => Manifest::read_stored(&bytes, &path.display())?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => Manifest::new(owned_sub),
                Err(e) => return Err(at(&path)(e)),
            };
            manifest.record(entry);
            let json = serde_json::to_vec_pretty(&manifest)?;
            replace_file(dir, MANIFEST, &json).map_err(at(&path))
        }))
    }

    fn contains<'a>(&'a self, location: &'a Location, bytes: u64) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let Location::File(path) = location else {
                return false;
            };
            path.starts_with(&self.root)
                && fs::metadata(path)
                    .await
                    .is_ok_and(|meta| meta.is_file() && meta.len() == bytes)
        })
    }
}

/// Opens (or creates) a `.part` file and takes an exclusive lock on it, held as long as the file
/// is open. A lock held elsewhere (another process, or another `Downloader` in this one) is a
/// [`io::ErrorKind::ResourceBusy`] error; a file system without locks is used without one.
async fn open_locked(part: &Path) -> io::Result<fs::File> {
    let path = part.to_path_buf();
    let file = tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(at(&path))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => Err(io::Error::new(
                io::ErrorKind::ResourceBusy,
                format!(
                    "{} is being written by another download of the same resource",
                    path.display()
                ),
            )),
            Err(std::fs::TryLockError::Error(error))
                if error.kind() == io::ErrorKind::Unsupported =>
            {
                Ok(file)
            }
            Err(std::fs::TryLockError::Error(error)) => Err(at(&path)(error)),
        }
    })
    .await
    .map_err(io::Error::other)??;
    Ok(fs::File::from_std(file))
}

/// Writes `bytes` to `dir/name` through a temporary file: written, fsynced, renamed, folder
/// fsynced. Readers see the old file or the new one, never a mix.
///
/// With std's calls (on a blocking thread): a tokio `File` hands a failed write (a full disk)
/// to its next write or flush, which `sync_all` is not, so a short file would be renamed into
/// place as if whole.
fn replace_file(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    // Unique per write, so that two writers of the same name never share a temporary file.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut file| {
            io::Write::write_all(&mut file, bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, dir.join(name)));
    if let Err(error) = written {
        // A full disk, say: leave no partial temporary file to make it fuller.
        let _ = std::fs::remove_file(&tmp);
        return Err(error);
    }
    std::fs::File::open(dir)?.sync_all()
}

/// Creates `dir` and its missing parents, fsyncing the folder that holds each one it creates: a
/// file made durable inside a new folder is then found at its path after a power cut, on file
/// systems (XFS, btrfs) that do not commit a new folder's entry with the file.
async fn create_dir_durably(dir: &Path) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut next = Some(dir);
    while let Some(path) = next.filter(|p| !p.as_os_str().is_empty()) {
        if fs::try_exists(path).await? {
            break;
        }
        missing.push(path);
        next = path.parent();
    }
    if missing.is_empty() {
        return Ok(());
    }
    fs::create_dir_all(dir).await?;
    for created in missing.iter().rev() {
        match created.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(parent) => sync_dir(parent).await?,
            None => sync_dir(Path::new(".")).await?,
        }
    }
    Ok(())
}

async fn sync_dir(dir: &Path) -> io::Result<()> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
        .await
        .map_err(io::Error::other)?
}

/// What an earlier process left: the `.part` file (open and locked, `length` bytes long) and its
/// sidecar, hashed. A sidecar that does not make a consistent pair with the file is removed (the
/// caller then empties the file).
async fn read_partial(part: &Path, length: u64, sidecar: &Path) -> io::Result<Option<Partial>> {
    let validator: Option<Validator> = match fs::read(sidecar).await {
        Ok(bytes) => serde_json::from_slice(&bytes).ok(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(at(sidecar)(e)),
    };
    match validator {
        Some(validator) if length > 0 && validator.total.is_none_or(|total| length <= total) => {
            let path = part.to_path_buf();
            let hash = tokio::task::spawn_blocking(move || hash_file(&path))
                .await
                .map_err(io::Error::other)?
                .map_err(at(part))?;
            Ok(Some(Partial::new(length, validator, hash)))
        }
        _ => {
            remove_if_present(sidecar).await.map_err(at(sidecar))?;
            Ok(None)
        }
    }
}

fn hash_file(path: &Path) -> io::Result<PrefixHash> {
    let mut file = std::fs::File::open(path)?;
    let mut hash = PrefixHash::new();
    let mut buf = vec![0u8; WRITE_BUFFER];
    loop {
        match file.read(&mut buf)? {
            0 => return Ok(hash),
            n => hash.update(&buf[..n]),
        }
    }
}

/// The first bytes of a file, up to [`SNIFF_LEN`]: what its format is told by when its content
/// type does not say. Read from the file, so a download resumed by a later process is named as
/// one made at once.
async fn read_head(path: &Path) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(SNIFF_LEN);
    fs::File::open(path)
        .await?
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .await?;
    Ok(head)
}

/// Names the path an I/O error happened at, keeping its kind (callers match on it): "Not a
/// directory" alone does not say which.
fn at(path: &Path) -> impl FnOnce(io::Error) -> io::Error + '_ {
    move |error| io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

async fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path).await {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[derive(Debug)]
struct FileSink {
    file: BufWriter<fs::File>,
    dir: PathBuf,
    name: ResourceName,
    part: PathBuf,
    sidecar: PathBuf,
    partial: Option<Partial>,
}

impl Sink for FileSink {
    fn write<'a>(&'a mut self, chunk: &'a [u8]) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move { self.file.write_all(chunk).await.map_err(at(&self.part)) })
    }

    fn finish(
        mut self: Box<Self>,
        content_type: Option<String>,
    ) -> BoxFuture<'static, io::Result<Location>> {
        Box::pin(async move {
            let part = self.part.clone();
            self.file.flush().await.map_err(at(&part))?;
            self.file.get_mut().sync_all().await.map_err(at(&part))?;
            let head = read_head(&part).await.map_err(at(&part))?;
            let target = self
                .dir
                .join(self.name.final_name(content_type.as_deref(), &head));
            fs::rename(&part, &target).await.map_err(at(&target))?;
            remove_if_present(&self.sidecar)
                .await
                .map_err(at(&self.sidecar))?;
            sync_dir(&self.dir).await.map_err(at(&self.dir))?;
            Ok(Location::File(target))
        })
    }

    fn abort(self: Box<Self>) -> BoxFuture<'static, io::Result<()>> {
        Box::pin(async move {
            drop(self.file);
            remove_if_present(&self.part)
                .await
                .map_err(at(&self.part))?;
            remove_if_present(&self.sidecar)
                .await
                .map_err(at(&self.sidecar))
        })
    }

    fn restart(&mut self) -> BoxFuture<'_, io::Result<()>> {
        Box::pin(async move {
            let restarted = async {
                self.file.flush().await?;
                let file = self.file.get_mut();
                file.set_len(0).await?;
                file.seek(io::SeekFrom::Start(0)).await?;
                Ok(())
            };
            restarted.await.map_err(at(&self.part))
        })
    }

    fn take_partial(&mut self) -> Option<Partial> {
        self.partial.take()
    }

    fn checkpoint<'a>(&'a mut self, validator: &'a Validator) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let json = serde_json::to_vec(validator)?;
            fs::write(&self.sidecar, json)
                .await
                .map_err(at(&self.sidecar))
        })
    }

    fn suspend(mut self: Box<Self>) -> BoxFuture<'static, io::Result<()>> {
        Box::pin(async move {
            self.file.flush().await.map_err(at(&self.part))?;
            self.file
                .get_mut()
                .sync_data()
                .await
                .map_err(at(&self.part))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn creates_every_missing_folder_and_leaves_existing_ones_alone() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("a").join("b").join("c");
        create_dir_durably(&deep).await.unwrap();
        assert!(deep.is_dir());

        std::fs::write(deep.join("kept"), b"x").unwrap();
        create_dir_durably(&deep).await.unwrap();
        assert_eq!(std::fs::read(deep.join("kept")).unwrap(), b"x");
    }

    #[test]
    fn a_relative_root_is_made_absolute_once() {
        let storage = FileStorage::new("resources");
        assert!(storage.root().is_absolute(), "{}", storage.root().display());
        assert_eq!(
            storage.root(),
            std::env::current_dir().unwrap().join("resources")
        );
        let absolute = tempfile::tempdir().unwrap();
        assert_eq!(FileStorage::new(absolute.path()).root(), absolute.path());
    }

    #[tokio::test]
    async fn contains_only_a_file_of_the_length_recorded_inside_the_root() {
        let outer = tempfile::tempdir().unwrap();
        let storage = FileStorage::new(outer.path().join("root"));
        let inside = storage.root().join("agt_1").join("audio-voice.mp3");
        std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
        std::fs::write(&inside, b"12345").unwrap();
        // The same length outside the root: a manifest edited (or from another root) to point
        // there must not make that file count as stored.
        let outside = outer.path().join("audio-voice.mp3");
        std::fs::write(&outside, b"12345").unwrap();

        assert!(storage.contains(&Location::File(inside.clone()), 5).await);
        assert!(!storage.contains(&Location::File(inside.clone()), 4).await);
        assert!(!storage.contains(&Location::File(outside), 5).await);
        assert!(
            !storage
                .contains(&Location::File(storage.root().join("agt_1")), 4096)
                .await
        );
        assert!(
            !storage
                .contains(&Location::Memory("agt_1/audio-voice".into()), 5)
                .await
        );
    }

    #[tokio::test]
    async fn a_manifest_that_cannot_be_read_is_an_error_not_an_absent_one() {
        let root = tempfile::tempdir().unwrap();
        let storage = FileStorage::new(root.path());
        assert!(storage.load_manifest("agt_1").await.unwrap().is_none());
        // Something other than a missing file (here a folder where the file belongs; on a live
        // system, permissions or a failing disk) must not read as "nothing downloaded yet",
        // which would fetch and overwrite everything.
        std::fs::create_dir_all(root.path().join("agt_1").join("manifest.json")).unwrap();
        assert!(storage.load_manifest("agt_1").await.is_err());
    }

    /// A complete entry for the first resource of `category`.
    fn entry(category: &str) -> ManifestEntry {
        ManifestEntry {
            category: category.into(),
            kind: None,
            occurrence: 1,
            source_url: format!("https://api.cronofy.com/{category}"),
            status: crate::EntryStatus::Complete,
            location: None,
            bytes: 1,
            sha256: None,
            content_type: None,
            content_encoding: None,
            attempts: 1,
            resumed_from: 0,
            duration_ms: 1,
            error: None,
        }
    }

    async fn recorded(storage: &FileStorage, sub: &str) -> Vec<String> {
        let manifest = storage.load_manifest(sub).await.unwrap().unwrap();
        let mut categories: Vec<_> = manifest
            .resources
            .iter()
            .map(|entry| entry.category.to_string())
            .collect();
        categories.sort();
        categories
    }

    /// Another process recording in the same folder holds its lock from its read to its write:
    /// an entry recorded meanwhile waits, then goes into the manifest that process wrote.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_entry_waits_for_the_folder_and_joins_what_its_holder_recorded() {
        let root = tempfile::tempdir().unwrap();
        let storage = FileStorage::new(root.path());
        storage
            .record_in_manifest("agt_1", entry("transcript"))
            .await
            .unwrap();
        let dir = storage.agent_dir("agt_1");
        let other_process = std::fs::File::open(&dir).unwrap();
        other_process.lock().unwrap();
        let theirs = storage.load_manifest("agt_1").await.unwrap().unwrap();

        let recording = tokio::spawn({
            let storage = storage.clone();
            async move { storage.record_in_manifest("agt_1", entry("video")).await }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !recording.is_finished(),
            "recorded while another process held the folder"
        );
        let mut theirs = theirs;
        theirs.record(entry("audio"));
        replace_file(&dir, MANIFEST, &serde_json::to_vec(&theirs).unwrap()).unwrap();
        drop(other_process);

        recording.await.unwrap().unwrap();
        assert_eq!(
            recorded(&storage, "agt_1").await,
            ["audio", "transcript", "video"]
        );
    }

    /// Many writers of one manifest at once (each its own `FileStorage`, as processes would
    /// be): every entry is kept.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writers_of_one_manifest_at_once_keep_every_entry() {
        let root = tempfile::tempdir().unwrap();
        let categories: Vec<String> = (0..24).map(|n| format!("c{n:02}")).collect();
        let writers = categories.iter().map(|category| {
            let (storage, entry) = (FileStorage::new(root.path()), entry(category));
            tokio::spawn(async move { storage.record_in_manifest("agt_1", entry).await })
        });
        for writer in futures::future::join_all(writers).await {
            writer.unwrap().unwrap();
        }
        assert_eq!(
            recorded(&FileStorage::new(root.path()), "agt_1").await,
            categories
        );
    }

    /// A manifest that cannot be read is not taken for an absent one, which recording would
    /// replace with a manifest of one entry, losing the record of every other resource.
    #[cfg(unix)]
    #[tokio::test]
    async fn an_entry_is_not_recorded_over_a_manifest_that_cannot_be_read() {
        let root = tempfile::tempdir().unwrap();
        let storage = FileStorage::new(root.path());
        let manifest = storage.agent_dir("agt_1").join(MANIFEST);
        std::fs::create_dir_all(manifest.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&manifest, &manifest).unwrap(); // a loop: unreadable
        let error = storage
            .record_in_manifest("agt_1", entry("video"))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("manifest.json"), "{error}");
        assert!(manifest.symlink_metadata().unwrap().is_symlink());
    }

    /// Leaves what an earlier process would have: `part` bytes and, if given, a sidecar.
    fn leftovers(root: &Path, part: &[u8], sidecar: Option<&str>) -> (ResourceKey, PathBuf) {
        let key = ResourceKey::new(
            "agt_1",
            cronofy_notify_core::ResourceCategory::Audio,
            Some(cronofy_notify_core::ResourceType::Voice),
        );
        let dir = root.join("agt_1");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("audio-voice.part"), part).unwrap();
        let sidecar_path = dir.join("audio-voice.part.json");
        if let Some(json) = sidecar {
            std::fs::write(&sidecar_path, json).unwrap();
        }
        (key, sidecar_path)
    }

    #[tokio::test]
    async fn a_part_file_and_its_sidecar_are_resumed_only_when_they_agree() {
        // (bytes held, sidecar, resumed?)
        let cases: [(&[u8], Option<&str>, bool); 7] = [
            (b"12345", Some(r#"{"etag":"\"e\"","total":10}"#), true),
            (b"1234567890", Some(r#"{"total":10}"#), true),
            (b"12345", Some(r#"{"total":null}"#), true),
            // More bytes than the whole, nothing held, a sidecar torn or missing: start again.
            (b"12345678901", Some(r#"{"total":10}"#), false),
            (b"", Some(r#"{"total":10}"#), false),
            (b"12345", Some(r#"{"total":1"#), false),
            (b"12345", None, false),
        ];
        for (held, sidecar, resumed) in cases {
            let root = tempfile::tempdir().unwrap();
            let (key, sidecar_path) = leftovers(root.path(), held, sidecar);
            let mut sink = FileStorage::new(root.path()).open(&key).await.unwrap();
            let partial = sink.take_partial();
            assert_eq!(partial.is_some(), resumed, "{held:?} {sidecar:?}");
            if let Some(partial) = partial {
                assert_eq!(partial.offset, held.len() as u64);
                let written: Validator = serde_json::from_str(sidecar.unwrap()).unwrap();
                assert_eq!(partial.validator, written);
            } else {
                assert!(
                    !sidecar_path.exists(),
                    "a sidecar that disagrees is removed"
                );
                let part = root.path().join("agt_1/audio-voice.part");
                assert_eq!(
                    std::fs::metadata(part).unwrap().len(),
                    0,
                    "and the bytes go"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_sidecar_that_cannot_be_read_or_removed_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        let (key, sidecar) = leftovers(root.path(), b"12345", None);
        // A folder where the sidecar belongs can be neither read nor removed as a file: an
        // error to report, not a download quietly started again over it.
        std::fs::create_dir(&sidecar).unwrap();
        assert!(FileStorage::new(root.path()).open(&key).await.is_err());
        assert!(remove_if_present(&sidecar).await.is_err());
        remove_if_present(&root.path().join("absent"))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_file_in_the_way_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("file");
        std::fs::write(&file, b"").unwrap();
        assert!(create_dir_durably(&file.join("below")).await.is_err());
    }
}
