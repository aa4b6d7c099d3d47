//! Verify a signed Cronofy callback and read what it says.
//!
//! ```sh
//! cargo run -p cronofy-notify-core --example verify_callback                 # a built-in sample
//! cargo run -p cronofy-notify-core --example verify_callback -- BODY HEADER  # your own
//! ```
//!
//! The secret comes from `CRONOFY_CLIENT_SECRET` (for the built-in sample, a made-up one).

use cronofy_notify_core::{Error, Notification, Signer, Verifier};

const SAMPLE: &str = r#"{"notification":{"type":"event_subscription","interactions":[{"type":"meeting_agent_complete"}]},
"meeting_agent":{"sub":"agt_692702a100ccd07000000000","state":"complete","details":{"recording":{"duration_seconds":1620}},
"resources":[{"category":"cronofy","type":"dashboard","url":"https://app.cronofy.com/agents/agt_1"},
{"category":"transcript","type":"cronofy","url":"https://api.cronofy.com/v1/meeting_agents/agt_1/transcript"},
{"category":"audio","type":"voice","url":"https://api.cronofy.com/v1/meeting_agents/agt_1/audio"},
{"category":"video","type":"conference","url":"https://api.cronofy.com/v1/meeting_agents/agt_1/video"}]}}"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret =
        std::env::var("CRONOFY_CLIENT_SECRET").unwrap_or_else(|_| "example-secret".to_owned());
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (body, header) = match args.as_slice() {
        [path, header] => (std::fs::read(path)?, header.clone()),
        [] => {
            let header = Signer::new([&secret])?.sign(SAMPLE.as_bytes());
            println!("signed the built-in sample: Cronofy-HMAC-SHA256: {header}");
            (SAMPLE.as_bytes().to_vec(), header)
        }
        _ => return Err("usage: verify_callback [BODY_FILE HEADER]".into()),
    };

    let verifier = Verifier::new([secret])?;
    let verified = match verifier.verify_and_parse(&header, body) {
        Ok(verified) => verified,
        Err(Error::Signature(reason)) => {
            eprintln!("refused (would answer 401): {reason}");
            std::process::exit(1);
        }
        Err(reason) => {
            eprintln!("genuine, but refused (would answer 400): {reason}");
            std::process::exit(3);
        }
    };

    match verified.notification() {
        Notification::EventSubscription(callback) => {
            let kinds: Vec<_> = callback
                .interactions
                .iter()
                .filter_map(|i| i.kind.as_ref().map(|k| k.as_str()))
                .collect();
            println!("genuine event_subscription: {}", kinds.join(", "));
            println!("agent: {}", callback.agent_sub().unwrap_or("(none)"));
            if let Some(reason) = callback.failure_reason() {
                println!("failed: {reason}");
            }
            for resource in callback.downloadable_resources() {
                println!("  {:<10} {}", resource.category, resource.url);
            }
        }
        other => println!("genuine {} notification", other.notification_type()),
    }
    Ok(())
}
