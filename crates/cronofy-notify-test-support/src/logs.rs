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
