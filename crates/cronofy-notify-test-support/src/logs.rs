//! Logs written through `tracing`, captured as text for assertions.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// Everything a `tracing_subscriber::fmt` subscriber wrote, in order.
#[derive(Clone, Debug, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// A subscriber at `TRACE`, without colours, writing here.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        let writer = self.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish()
    }

    /// Captures every thread's events from now on, for a test binary of its own (tracing
    /// caches per-callsite interest process-wide, so tests beside it could miss events).
    ///
    /// # Panics
    /// When a global subscriber is already set.
    pub fn globally() -> Self {
        let captured = Self::default();
        tracing::subscriber::set_global_default(captured.subscriber())
            .expect("no other global subscriber in this test binary");
        captured
    }

    /// What was written once `phrase` appears in it, for events logged on another task after
    /// the answer; what was written by then if it does not appear within five seconds.
    pub async fn wait_for(&self, phrase: &str) -> String {
        for _ in 0..500 {
            let text = self.text();
            if text.contains(phrase) {
                return text;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        self.text()
    }

    /// What was written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The first line of `log` that holds `phrase`.
///
/// # Panics
/// When no line does, showing the whole log.
pub fn line_with<'a>(log: &'a str, phrase: &str) -> &'a str {
    log.lines()
        .find(|line| line.contains(phrase))
        .unwrap_or_else(|| panic!("no line with {phrase:?}:\n{log}"))
}

/// The sum of the counts written just before each `phrase` in `log`: in `serve`'s reports of
/// refused requests, `counted(log, "over the body limit")` adds up every "3 over the body
/// limit", and `counted(log, " request")` every "refused 12 requests".
pub fn counted(log: &str, phrase: &str) -> u64 {
    log.match_indices(phrase)
        .filter_map(|(at, _)| {
            let before = log[..at].trim_end();
            let number = before.trim_end_matches(|c: char| c.is_ascii_digit());
            before[number.len()..].parse::<u64>().ok()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::counted;

    #[test]
    fn counted_adds_up_the_number_before_each_phrase() {
        let log = "WARN refused 12 requests in 60 s: 10 without a signature, 2 over the body limit\n\
                   WARN refused 1 request in 3 s: 1 over the body limit\n\
                   INFO nothing over the body limit here";
        assert_eq!(counted(log, " request"), 13);
        assert_eq!(counted(log, "over the body limit"), 3);
        assert_eq!(counted(log, "without a signature"), 10);
        assert_eq!(counted(log, "with a malformed signature"), 0);
    }
}
