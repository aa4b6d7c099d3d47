//! Generated sample content: a meeting transcript in Cronofy's documented shape.

use serde_json::json;

/// A transcript of a short planning meeting between three people, as JSON bytes.
pub fn transcript(sub: &str) -> Vec<u8> {
    let speakers = [
        ("A", Some("Ada Lovelace")),
        ("B", Some("Grace Hopper")),
        ("C", None),
    ];
    let lines = [
        "Good morning, everyone. Shall we begin with the release plan?",
        "Yes. The downloader is done, and the benchmarks look good.",
        "How does it behave when the network drops halfway through a video?",
        "It resumes from the bytes it already has, with Range and If-Range.",
        "And if the link has expired by then?",
        "Every attempt starts again from the Cronofy URL, so it gets a fresh one.",
        "Good. What about callbacks that arrive twice?",
        "They are answered, but handled once: the key is the agent and the interaction.",
        "Then I think we are ready. Let's write it up.",
        "I'll send the notes after this call.",
    ];
    let mut at = 2.72;
    let paragraphs: Vec<_> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let (identifier, name) = speakers[i % speakers.len()];
            let start = at;
            let end = start + 1.5 + line.len() as f64 / 18.0;
            at = end + 0.4;
            let mut speaker = json!({"identifier": identifier});
            if let Some(name) = name {
                speaker["name"] = json!(name);
            }
            json!({
                "speaker": speaker,
                "start": (start * 100.0_f64).round() / 100.0,
                "end": (end * 100.0_f64).round() / 100.0,
                "sentences": [{"text": line, "start": (start * 100.0_f64).round() / 100.0, "end": (end * 100.0_f64).round() / 100.0}]
            })
        })
        .collect();
    serde_json::to_vec_pretty(&json!({
        "meeting_agent": {"sub": sub},
        "transcript": {
            "summary": "The team reviewed the release plan: resumable downloads, fresh links on retry, and once-only handling of redelivered callbacks. Notes to follow.",
            "paragraphs": paragraphs
        }
    }))
    .expect("JSON")
}
