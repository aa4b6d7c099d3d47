//! The transcript model and its renderers.

use cronofy_notify_core::{Transcript, TranscriptError};

const SAMPLE: &str = r#"{"meeting_agent": {"sub": "agt_1"},
 "transcript": {"summary": "The team agreed the plan.",
   "paragraphs": [
     {"speaker": {"identifier": "A", "name": "Ada"}, "start": 2.72, "end": 7.6,
      "sentences": [{"text": "Shall we begin?", "start": 2.72, "end": 4.1},
                    {"text": "The plan is <ready> & agreed.", "start": 4.3, "end": 7.6}]},
     {"speaker": {"identifier": "B"}, "start": 3661.25, "end": 3663.0,
      "sentences": [{"text": "Yes --> go."}]},
     {"start": 3670.0, "sentences": [{"text": "   "}, {"text": "Bye.", "start": 3670.5, "end": 3671}]}
   ]}}"#;

fn sample() -> Transcript {
    Transcript::from_slice(SAMPLE.as_bytes()).unwrap()
}

#[test]
fn the_documented_shape_parses() {
    let transcript = sample();
    assert_eq!(
        transcript.meeting_agent.as_ref().unwrap().sub.as_deref(),
        Some("agt_1")
    );
    assert_eq!(
        transcript.transcript.summary.as_deref(),
        Some("The team agreed the plan.")
    );
    let paragraphs = transcript.paragraphs();
    assert_eq!(paragraphs.len(), 3);
    assert_eq!(paragraphs[0].speaker_label().as_deref(), Some("Ada"));
    assert_eq!(
        paragraphs[1].speaker_label().as_deref(),
        Some("Speaker B"),
        "name may be absent"
    );
    assert_eq!(paragraphs[2].speaker_label(), None);
    assert_eq!(paragraphs[0].sentences[1].end, Some(7.6));
}

#[test]
fn a_blank_name_or_identifier_is_no_label() {
    let label = |speaker: &str| {
        let json = format!(r#"{{"transcript":{{"paragraphs":[{{"speaker":{speaker}}}]}}}}"#);
        Transcript::from_slice(json.as_bytes())
            .unwrap()
            .paragraphs()[0]
            .speaker_label()
    };
    assert_eq!(
        label(r#"{"name":" ","identifier":"B"}"#).as_deref(),
        Some("Speaker B")
    );
    assert_eq!(label(r#"{"name":"","identifier":"  "}"#), None);
    assert_eq!(label(r#"{"identifier":""}"#), None);
}

#[test]
fn plain_text_has_one_line_per_paragraph_with_speaker_and_time() {
    assert_eq!(
        sample().to_text(),
        "Ada [00:00:02]: Shall we begin? The plan is <ready> & agreed.\n\
         Speaker B [01:01:01]: Yes --> go.\n\
         Unknown speaker [01:01:10]: Bye.\n"
    );
}

#[test]
fn webvtt_has_a_cue_per_sentence_with_voices_and_escapes() {
    assert_eq!(
        sample().to_webvtt(),
        "WEBVTT\n\
         \n00:00:02.720 --> 00:00:04.100\n<v Ada>Shall we begin?\n\
         \n00:00:04.300 --> 00:00:07.600\n<v Ada>The plan is &lt;ready&gt; &amp; agreed.\n\
         \n01:01:01.250 --> 01:01:03.000\n<v Speaker B>Yes --&gt; go.\n\
         \n01:01:10.500 --> 01:01:11.000\nBye.\n"
    );
}

#[test]
fn srt_has_numbered_cues_with_comma_milliseconds() {
    assert_eq!(
        sample().to_srt(),
        "1\n00:00:02,720 --> 00:00:04,100\nAda: Shall we begin?\n\
         \n2\n00:00:04,300 --> 00:00:07,600\nAda: The plan is <ready> & agreed.\n\
         \n3\n01:01:01,250 --> 01:01:03,000\nSpeaker B: Yes --> go.\n\
         \n4\n01:01:10,500 --> 01:01:11,000\nBye.\n"
    );
}

/// A cue is shown from its start until just before its end, so one that ends where it starts
/// is never seen: a sentence without an end (nor its paragraph one), or with an end not after
/// its start, runs to the first later sentence's start (seven seconds at most: a pause keeps
/// no words on screen), or two seconds when none starts later.
#[test]
fn a_sentence_without_a_usable_end_is_still_shown() {
    let transcript = Transcript::from_slice(
        br#"{"transcript": {"paragraphs": [
          {"speaker": {"name": "Ada"}, "sentences": [
            {"text": "No end.", "start": 1.0},
            {"text": "Ends where it starts.", "start": 3.5, "end": 3.5},
            {"text": "Ends before it starts.", "start": 6.0, "end": 5.0},
            {"text": "At the same time as the next.", "start": 6.0},
            {"text": "Last, without an end.", "start": 6.0}]}]}}"#,
    )
    .unwrap();
    assert_eq!(
        transcript.to_webvtt(),
        "WEBVTT\n\
         \n00:00:01.000 --> 00:00:03.500\n<v Ada>No end.\n\
         \n00:00:03.500 --> 00:00:06.000\n<v Ada>Ends where it starts.\n\
         \n00:00:06.000 --> 00:00:08.000\n<v Ada>Ends before it starts.\n\
         \n00:00:06.000 --> 00:00:08.000\n<v Ada>At the same time as the next.\n\
         \n00:00:06.000 --> 00:00:08.000\n<v Ada>Last, without an end.\n"
    );
    assert!(
        transcript
            .to_srt()
            .starts_with("1\n00:00:01,000 --> 00:00:03,500\nAda: No end.\n"),
        "{}",
        transcript.to_srt()
    );

    let paused = Transcript::from_slice(
        br#"{"transcript": {"paragraphs": [{"sentences": [
            {"text": "Before a pause.", "start": 20.0},
            {"text": "After it.", "start": 80.0, "end": 81.0}]}]}}"#,
    )
    .unwrap();
    assert_eq!(
        paused.to_webvtt(),
        "WEBVTT\n\
         \n00:00:20.000 --> 00:00:27.000\nBefore a pause.\n\
         \n00:01:20.000 --> 00:01:21.000\nAfter it.\n"
    );
}

/// Captions are timed, so their cues go in the order of their starts whatever the
/// transcript's order (WebVTT requires it; SRT numbers them so), sentences starting together
/// in the transcript's order, and one without an end runs to the first later start; plain
/// text is read, and keeps the transcript's order.
#[test]
fn captions_are_in_time_order_and_text_in_the_transcript_order() {
    let transcript = Transcript::from_slice(
        br#"{"transcript": {"paragraphs": [
          {"speaker": {"name": "Ada"}, "sentences": [
            {"text": "Third.", "start": 9.0, "end": 10.0},
            {"text": "Fourth, with no end.", "start": 12.0}]},
          {"speaker": {"name": "Bo"}, "start": 1.0, "sentences": [
            {"text": "First.", "end": 2.0},
            {"text": "Second, with no end.", "start": 5.0},
            {"text": "Also at twelve.", "start": 12.0, "end": 13.0},
            {"text": "Last.", "start": 13.5, "end": 15.0}]}]}}"#,
    )
    .unwrap();
    assert_eq!(
        transcript.to_webvtt(),
        "WEBVTT\n\
         \n00:00:01.000 --> 00:00:02.000\n<v Bo>First.\n\
         \n00:00:05.000 --> 00:00:09.000\n<v Bo>Second, with no end.\n\
         \n00:00:09.000 --> 00:00:10.000\n<v Ada>Third.\n\
         \n00:00:12.000 --> 00:00:13.500\n<v Ada>Fourth, with no end.\n\
         \n00:00:12.000 --> 00:00:13.000\n<v Bo>Also at twelve.\n\
         \n00:00:13.500 --> 00:00:15.000\n<v Bo>Last.\n"
    );
    assert!(
        transcript.to_srt().starts_with(
            "1\n00:00:01,000 --> 00:00:02,000\nBo: First.\n\
             \n2\n00:00:05,000 --> 00:00:09,000\nBo: Second, with no end.\n"
        ),
        "{}",
        transcript.to_srt()
    );
    assert_eq!(
        transcript.to_text(),
        "Ada [00:00:09]: Third. Fourth, with no end.\n\
         Bo [00:00:01]: First. Second, with no end. Also at twelve. Last.\n"
    );
}

#[test]
fn an_empty_or_sparse_transcript_renders_empty_captions() {
    for json in [
        "{}",
        r#"{"transcript":{"paragraphs":null}}"#,
        r#"{"transcript":{"paragraphs":[{}]}}"#,
    ] {
        let transcript = Transcript::from_slice(json.as_bytes()).unwrap();
        assert_eq!(transcript.to_text(), "");
        assert_eq!(transcript.to_webvtt(), "WEBVTT\n");
        assert_eq!(transcript.to_srt(), "");
    }
}

/// `null` is how many JSON writers say "absent": no field of the transcript refuses it.
#[test]
fn null_is_absent_in_every_field() {
    let json = br#"{"meeting_agent":null,"transcript":{"summary":null,"paragraphs":[
        {"speaker":{"identifier":null,"name":null},"start":null,"end":null,"sentences":[
          {"text":null,"start":null,"end":null},
          {"text":"Still here.","start":1.5,"end":null}]},
        {"speaker":null,"sentences":null}]}}"#;
    let transcript = Transcript::from_slice(json).unwrap();
    assert_eq!(transcript.paragraphs().len(), 2);
    assert_eq!(transcript.paragraphs()[0].sentences[0].text, "");
    assert_eq!(
        transcript.to_srt(),
        "1\n00:00:01,500 --> 00:00:03,500\nStill here.\n"
    );
    let nothing = Transcript::from_slice(br#"{"meeting_agent":{"sub":null},"transcript":null}"#);
    assert!(nothing.unwrap().is_empty());
}

#[test]
fn bad_input_is_a_typed_error() {
    assert!(matches!(
        Transcript::from_slice(b"{oops"),
        Err(TranscriptError::NotJson { .. })
    ));
    assert!(matches!(
        Transcript::from_slice(b""),
        Err(TranscriptError::NotJson { .. })
    ));
    assert!(matches!(
        Transcript::from_slice(br#"{"transcript":{"paragraphs":"nope"}}"#),
        Err(TranscriptError::UnexpectedShape { line: 1, .. })
    ));
    assert!(matches!(
        Transcript::from_slice(br#"{"transcript":{"paragraphs":[["",null,null,null,null,null]]}}"#),
        Err(TranscriptError::UnexpectedShape { .. })
    ));
}

/// Where the transcript has objects, an array is the wrong shape, however well its values would
/// fill the fields in order; positions are serde_json's (column 0: nothing read on that line).
#[test]
fn an_array_where_the_transcript_has_an_object_is_the_wrong_shape() {
    assert_eq!(
        Transcript::from_slice(b"[]"),
        Err(TranscriptError::UnexpectedShape {
            path: ".".into(),
            line: 1,
            column: 0
        })
    );
    assert!(matches!(
        Transcript::from_slice(b""),
        Err(TranscriptError::NotJson {
            line: 1,
            column: 0,
            ..
        })
    ));
    for json in [
        r#"{"transcript":[null,[]]}"#,
        r#"{"transcript":{"paragraphs":[[{"identifier":"A"},1.0,2.0,[]]]}}"#,
        r#"{"transcript":{"paragraphs":[{"sentences":[["Hello",1.0,2.0]]}]}}"#,
        r#"{"meeting_agent":["agt_1"]}"#,
    ] {
        assert!(
            matches!(
                Transcript::from_slice(json.as_bytes()),
                Err(TranscriptError::UnexpectedShape { line: 1, .. })
            ),
            "{json}"
        );
    }
}

#[test]
fn a_transcript_without_sentences_is_empty() {
    assert!(!sample().is_empty());
    for json in [
        &br#"{"notification":{"type":"event_subscription"}}"#[..],
        br#"{"transcript":{"paragraphs":[{"sentences":[{"text":"  "}]}]}}"#,
        br#"{"transcript":{"paragraphs":null}}"#,
    ] {
        let transcript = Transcript::from_slice(json).unwrap();
        assert!(transcript.is_empty(), "{}", String::from_utf8_lossy(json));
        assert_eq!(transcript.to_text(), "");
    }
}

/// The error names the value that did not fit, as a path, with where it is in the bytes.
#[test]
fn a_shape_error_names_the_value_that_did_not_fit() {
    let json = br#"{"transcript":{"paragraphs":[{"sentences":[{"text":"Hi"}]},
        {"speaker":{"name":7},"sentences":[{"text":"Yes"}]}]}}"#;
    let error = Transcript::from_slice(json).unwrap_err();
    assert_eq!(
        error,
        TranscriptError::UnexpectedShape {
            path: "transcript.paragraphs[1].speaker.name".into(),
            line: 2,
            column: 28,
        }
    );
    assert_eq!(
        error.to_string(),
        "the JSON is not shaped like a Cronofy transcript: \
         `transcript.paragraphs[1].speaker.name` holds the wrong kind of value (at line 2, column 28)"
    );
    assert_eq!(
        Transcript::from_slice(b"[]").unwrap_err().to_string(),
        "the JSON is not shaped like a Cronofy transcript: it is not a JSON object \
         (at line 1, column 0)"
    );
}

/// A change made by Cronofy is made in every sentence: salvage leaves each misfit out, in one
/// walk, and says where each was; what fits is read as `from_slice` reads it.
#[test]
fn salvage_leaves_out_every_misfit_and_keeps_the_rest() {
    let json = br#"{"meeting_agent":{"sub":["agt_1"]},
      "transcript":{"summary":{"text":"Plans"},"paragraphs":[
        {"speaker":{"identifier":"A","name":"Ada"},"start":"1","end":4,
         "sentences":[{"text":"One.","start":"1","end":"2"},{"text":"Two.","start":2,"end":4}]},
        7,
        null,
        {"speaker":"B","sentences":[{"text":{"en":"Three."}},["Four."],{"text":"Five.","start":9}]}
      ]}}"#;
    assert!(Transcript::from_slice(json).is_err());
    let salvaged = Transcript::salvage(json).unwrap();
    assert_eq!(
        salvaged.left_out,
        [
            "meeting_agent.sub",
            "transcript.summary",
            "transcript.paragraphs[0].start",
            "transcript.paragraphs[0].sentences[0].start",
            "transcript.paragraphs[0].sentences[0].end",
            "transcript.paragraphs[1]",
            "transcript.paragraphs[2]",
            "transcript.paragraphs[3].speaker",
            "transcript.paragraphs[3].sentences[0].text",
            "transcript.paragraphs[3].sentences[1]",
        ]
    );
    let transcript = &salvaged.transcript;
    assert_eq!(transcript.paragraphs().len(), 2);
    assert_eq!(
        transcript.to_srt(),
        "1\n00:00:00,000 --> 00:00:04,000\nAda: One.\n\
         \n2\n00:00:02,000 --> 00:00:04,000\nAda: Two.\n\
         \n3\n00:00:09,000 --> 00:00:11,000\nFive.\n"
    );

    // What matches the model is read as it is, with nothing left out.
    let sample = Transcript::salvage(SAMPLE.as_bytes()).unwrap();
    assert_eq!(sample.transcript, self::sample());
    assert!(sample.left_out.is_empty());

    // Not JSON, or not an object, is still an error.
    assert!(matches!(
        Transcript::salvage(b"{oops"),
        Err(TranscriptError::NotJson { .. })
    ));
    for json in [&b"[]"[..], b"5", b"null", b"\"transcript\""] {
        assert!(
            matches!(
                Transcript::salvage(json),
                Err(TranscriptError::UnexpectedShape { .. })
            ),
            "{}",
            String::from_utf8_lossy(json)
        );
    }
}

/// Every field the model reads, given a value of each wrong kind in turn, is left out alone by
/// salvage, where the typed parse refuses the whole: salvage's idea of the model's shape is the
/// model's own, field by field (a field added to the model and not to salvage fails here).
#[test]
fn salvage_knows_every_field_of_the_model() {
    let full: serde_json::Value = serde_json::from_str(
        r#"{"meeting_agent":{"sub":"agt_1"},"transcript":{"summary":"s","paragraphs":[
            {"speaker":{"identifier":"A","name":"Ada"},"start":1.5,"end":2.5,
             "sentences":[{"text":"t","start":1.5,"end":2.5}]}]}}"#,
    )
    .unwrap();
    // The model serialises every field that is set: the sample has them all.
    let model = serde_json::to_value(Transcript::from_slice(full.to_string().as_bytes()).unwrap());
    assert_eq!(model.unwrap(), full, "the sample sets every field");

    let mut paths = Vec::new();
    every_value(&full, String::new(), &mut paths);
    assert_eq!(paths.len(), 16, "{paths:?}");
    let wrong_kinds = [
        serde_json::json!(true),
        serde_json::json!(5),
        serde_json::json!("x"),
        serde_json::json!([]),
        serde_json::json!({}),
    ];
    for (path, pointer) in &paths {
        let original = full.pointer(pointer).unwrap();
        for wrong in &wrong_kinds {
            if std::mem::discriminant(original) == std::mem::discriminant(wrong) {
                continue;
            }
            let mut json = full.clone();
            *json.pointer_mut(pointer).unwrap() = wrong.clone();
            let bytes = json.to_string().into_bytes();
            assert!(Transcript::from_slice(&bytes).is_err(), "{path} = {wrong}");
            let salvaged = Transcript::salvage(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(
                salvaged.left_out,
                std::slice::from_ref(path),
                "{path} = {wrong}"
            );
        }
    }
}

/// Each value under the root, as a path (`a.b[0]`) and a JSON pointer (`/a/b/0`).
fn every_value(value: &serde_json::Value, path: String, out: &mut Vec<(String, String)>) {
    let pointer_of = |path: &str| {
        format!(
            "/{}",
            path.replace("].", "/")
                .replace(['[', '.'], "/")
                .replace(']', "")
        )
    };
    let children: Vec<(String, &serde_json::Value)> = match value {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(key, child)| {
                let sep = if path.is_empty() { "" } else { "." };
                (format!("{path}{sep}{key}"), child)
            })
            .collect(),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(index, child)| (format!("{path}[{index}]"), child))
            .collect(),
        _ => Vec::new(),
    };
    for (child_path, child) in children {
        out.push((child_path.clone(), pointer_of(&child_path)));
        every_value(child, child_path, out);
    }
}
