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
/// its start, runs to the next sentence's start, or two seconds when none starts later.
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
        Err(TranscriptError::UnexpectedShape { line: 1, column: 0 })
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
