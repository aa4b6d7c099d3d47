//! Keeping each callback's raw body, durably, once per agent and interaction.

use std::path::Path;
use std::time::SystemTime;

use bytes::Bytes;
use cronofy_notify_core::Notification;
use cronofy_notify_resources::safe_component;

/// Tries, once at start-up, what [`keep_body`] does to each callback: write a file and link it
/// under a second name. A directory that refuses either (read-only, or on a file system without
/// hard links) would otherwise start, then answer every callback 503.
pub(super) fn can_keep_bodies_in(out: &Path) -> std::io::Result<()> {
    let probe = out.join(format!(".probe-{}.tmp", std::process::id()));
    let link = out.join(format!(".probe-{}.link", std::process::id()));
    let tried = std::fs::write(&probe, b"").and_then(|()| std::fs::hard_link(&probe, &link));
    let _ = std::fs::remove_file(&link);
    let _ = std::fs::remove_file(&probe);
    tried
}

/// Whether a body was new.
pub(super) enum Kept {
    New,
    Duplicate,
}

/// Keeps the raw body, durably, as `<out>/<sub>/callbacks/<interaction>.json`: one file per
/// idempotency key (agent and interaction), so the file system itself says whether a delivery
/// was seen before, across restarts and however many. A body without a meeting agent cannot be
/// a duplicate and goes to `<out>/_no_agent/callbacks/<time>-<n>-<type>.json`.
pub(super) async fn keep_body(
    out: &Path,
    notification: &Notification,
    body: Bytes,
) -> std::io::Result<Kept> {
    static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let callback = notification.as_event_subscription();
    let (dir, name) = match callback.and_then(|c| c.agent_sub().map(|sub| (c, sub))) {
        Some((callback, sub)) => {
            let interactions: Vec<_> = callback
                .interactions
                .iter()
                .map(|i| i.kind.as_ref().map_or("unknown", |k| k.as_str()))
                .collect();
            let interaction = if interactions.is_empty() {
                "none".to_owned()
            } else {
                interactions.join("+")
            };
            (
                out.join(safe_component(sub)),
                format!("{}.json", safe_component(&interaction)),
            )
        }
        None => {
            let millis = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            let n = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let kind = safe_component(notification.notification_type().as_str());
            (out.join("_no_agent"), format!("{millis}-{n}-{kind}.json"))
        }
    };
    let dir = dir.join("callbacks");
    // A new folder's entry is made durable with the body: the folders holding it are synced too.
    let mut to_sync = vec![dir.clone()];
    if !tokio::fs::try_exists(&dir).await? {
        to_sync.extend(dir.ancestors().skip(1).take(2).map(Path::to_path_buf));
    }
    tokio::fs::create_dir_all(&dir).await?;
    let path = dir.join(&name);
    if tokio::fs::try_exists(&path).await? {
        return Ok(Kept::Duplicate);
    }
    let n = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()));
    // With std's calls, on one blocking thread: a tokio `File` hands a failed write (a full
    // disk) to its next write or flush, which `sync_all` is not, so a short body would be kept
    // as if whole, answered 202, and its redelivery taken for a duplicate.
    tokio::task::spawn_blocking({
        let tmp = tmp.clone();
        move || {
            std::fs::File::create(&tmp)
                .and_then(|mut file| {
                    std::io::Write::write_all(&mut file, &body)?;
                    file.sync_all()
                })
                .map_err(|error| {
                    // A full disk, say: leave no partial temporary file to make it fuller.
                    let _ = std::fs::remove_file(&tmp);
                    std::io::Error::new(error.kind(), format!("{}: {error}", tmp.display()))
                })
        }
    })
    .await
    .map_err(std::io::Error::other)
    .flatten()?;
    // A hard link fails if the name exists: of two deliveries racing, exactly one is new.
    let linked = tokio::fs::hard_link(&tmp, &path).await;
    if let Err(error) = tokio::fs::remove_file(&tmp).await {
        // The body is kept under its name by now (or is a duplicate): a stray temporary file
        // is no reason to answer 503, which would leave a kept body without its download.
        tracing::warn!(%error, file = %tmp.display(), "could not remove a temporary file");
    }
    match linked {
        Ok(()) => {
            let synced = tokio::task::spawn_blocking(move || {
                to_sync
                    .iter()
                    .try_for_each(|dir| std::fs::File::open(dir)?.sync_all())
            })
            .await
            .map_err(std::io::Error::other)
            .flatten();
            if let Err(error) = synced {
                // Not durable, so answered 503: take the name back, or the redelivery that
                // answer asks for would be found a duplicate and its download never started.
                let _ = tokio::fs::remove_file(&path).await;
                return Err(error);
            }
            Ok(Kept::New)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(Kept::Duplicate),
        Err(error) => Err(error),
    }
}
