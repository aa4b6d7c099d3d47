//! Parsing any bytes as a notification never panics, and what parses writes back to JSON that
//! parses to the same notification.
#![no_main]

use cronofy_notify_core::Notification;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let Ok(notification) = Notification::from_slice(body) else {
        return;
    };
    let _ = notification.idempotency_key();
    if let Some(callback) = notification.as_event_subscription() {
        let _ = (callback.resources_ready(), callback.failure_reason(), callback.downloadable_resources().count());
    }
    let written = serde_json::to_vec(&notification).expect("a notification always serialises");
    let again = Notification::from_slice(&written).expect("what we write parses");
    assert_eq!(again, notification, "a round trip changed the notification");
});
