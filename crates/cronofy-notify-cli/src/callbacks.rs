//! What the command makes of a callback body before acting on it.

use cronofy_notify_core::Notification;

/// `notification`, with an `event_subscription` body that did not match the model made typed
/// from the rest, each value left out logged (the body itself is kept whole, as received).
/// A completed meeting whose `event.start` Cronofy sends in a new form still gets its
/// recordings downloaded.
pub(crate) fn typed(notification: Notification) -> Notification {
    let Notification::Other(other) = notification else {
        return notification;
    };
    match other.salvage_event_subscription() {
        Some(salvaged) => {
            tracing::warn!(
                left_out = ?salvaged.left_out,
                "an event_subscription callback has values of types this version does not \
                 expect; acting on it without them"
            );
            Notification::EventSubscription(salvaged.callback)
        }
        None => Notification::Other(other),
    }
}
