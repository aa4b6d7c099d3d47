//! The lock a meeting's manifest is written under, so that processes sharing a download folder
//! (replicas on one volume) record in turn, rather than each write back a manifest read before
//! the other's entry was in it.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// The file locked where the meeting's folder itself cannot be.
const LOCK_FILE: &str = ".manifest.json.lock";

/// Takes the exclusive lock of the meeting's folder `dir`, waiting while another process (or
/// another storage in this one) holds it; held until the handle returned is dropped.
///
/// The folder itself is locked where the file system allows it, so that no file appears. NFS
/// grants an exclusive lock only on a file opened for writing, which a folder cannot be; there,
/// and on Windows, the lock file [`LOCK_FILE`] in the folder is locked instead (on NFS through
/// its lock service, which every host sharing the mount honours). Where neither can be locked,
/// `None`, said once per process: the manifest is still replaced whole, but an entry another
/// process records at the same moment may be dropped, and its resource fetched again later.
pub(super) fn lock(dir: &Path) -> Option<File> {
    lock_folder(dir)
        .or_else(|_| lock_file(dir))
        .inspect_err(|error| warn_unlocked(dir, error))
        .ok()
}

fn lock_folder(dir: &Path) -> io::Result<File> {
    let folder = File::open(dir)?;
    folder.lock()?;
    Ok(folder)
}

fn lock_file(dir: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))?;
    file.lock()?;
    Ok(file)
}

fn warn_unlocked(dir: &Path, error: &io::Error) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        tracing::warn!(
            folder = %dir.display(),
            %error,
            "the file system locks neither a meeting's folder nor a file in it: manifests are \
             written without a lock, so processes sharing this download folder may each drop \
             an entry the other recorded at the same moment, and fetch its resource again"
        );
    });
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Where the folder can be locked (any local file system), it is, and no file appears.
    #[test]
    fn a_local_folder_is_locked_itself() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock(dir.path()).expect("a local folder can be locked");
        assert!(
            File::open(dir.path()).unwrap().try_lock().is_err(),
            "the folder is not the thing locked"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        drop(held);
        assert!(File::open(dir.path()).unwrap().try_lock().is_ok());
    }

    /// The lock file, as taken where the folder cannot be locked (NFS, Windows), keeps a second
    /// holder waiting until the first lets go.
    #[test]
    fn the_lock_file_keeps_a_second_holder_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock_file(dir.path()).unwrap();
        let second = std::thread::spawn({
            let dir = dir.path().to_owned();
            move || lock_file(&dir).map(drop)
        });
        std::thread::sleep(Duration::from_millis(200));
        assert!(!second.is_finished(), "locked while the first held it");
        drop(first);
        second.join().unwrap().unwrap();
        assert!(dir.path().join(LOCK_FILE).is_file());
    }

    /// A folder nothing can lock (here, one that is not there) is no error: the manifest is
    /// written without a lock, and the write itself reports what is wrong with the folder. That
    /// is said once at WARN, naming the folder, however many manifests are written so.
    #[test]
    fn no_lock_where_nothing_can_be_locked() {
        let dir = tempfile::tempdir().unwrap();
        let absent = dir.path().join("absent");
        let logs = cronofy_notify_test_support::logs::Captured::default();
        tracing::subscriber::with_default(logs.subscriber(), || {
            assert!(lock(&absent).is_none());
            assert!(lock(&absent).is_none());
        });
        let text = logs.text();
        assert_eq!(text.matches("WARN").count(), 1, "said once: {text}");
        assert!(
            text.contains("manifests are written without a lock"),
            "{text}"
        );
        assert!(text.contains(&absent.display().to_string()), "{text}");
    }
}
