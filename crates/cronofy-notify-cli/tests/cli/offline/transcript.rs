//! `transcript`: the three formats, standard input, and values of the wrong kind.

use cronofy_notify_test_support::{samples, vectors};

use crate::{cli, code, run, run_with_input, write_temp};

#[test]
fn transcript_renders_text_vtt_and_srt() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_temp(dir.path(), "t.json", &samples::transcript("agt_1"));
    let text = String::from_utf8(run(cli().args(["transcript"]).arg(&file)).stdout).unwrap();
    assert!(
        text.starts_with("Ada Lovelace [00:00:02]: Good morning"),
        "{text}"
    );
    let vtt =
        String::from_utf8(run(cli().args(["transcript", "--format", "vtt"]).arg(&file)).stdout)
            .unwrap();
    assert!(vtt.starts_with("WEBVTT\n\n00:00:02.720 --> "), "{vtt}");
    let srt =
        String::from_utf8(run(cli().args(["transcript", "--format", "srt"]).arg(&file)).stdout)
            .unwrap();
    assert!(srt.starts_with("1\n00:00:02,720 --> "), "{srt}");
    let bad = write_temp(dir.path(), "bad.json", b"{oops");
    assert_eq!(code(&run(cli().arg("transcript").arg(&bad))), 1);
}

#[test]
fn transcript_reads_standard_input_and_warns_about_a_file_that_is_not_one() {
    let output = run_with_input(
        cli().args(["transcript", "--format", "srt"]),
        &samples::transcript("agt_1"),
    );
    assert_eq!(code(&output), 0);
    assert!(output.stdout.starts_with(b"1\n00:00:02,720 --> "));
    assert!(output.stderr.is_empty(), "{output:?}");

    // A callback body is JSON, and every transcript field is optional: it renders as nothing,
    // and says what it is and where its transcript comes from on standard error.
    let dir = tempfile::tempdir().unwrap();
    let body = write_temp(dir.path(), "body.json", &vectors::seed_body("complete"));
    let output = run(cli().arg("transcript").arg(&body));
    assert_eq!(code(&output), 0);
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("body.json is a Cronofy callback, not a transcript")
            && stderr.contains("cronofy-notify download"),
        "{stderr}"
    );
    // Any other object without sentences: asked whether it is a transcript at all.
    let other = write_temp(dir.path(), "other.json", br#"{"paragraphs": []}"#);
    let output = run(cli().arg("transcript").arg(&other));
    assert_eq!(code(&output), 0);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("other.json has no sentences") && stderr.contains("is it a transcript"),
        "{stderr}"
    );

    // Stored gzip-encoded, as a storage may send it whatever was asked: said as such, where
    // "not JSON" would leave the user to find out why.
    let gzipped = write_temp(
        dir.path(),
        "transcript-cronofy.json",
        &[0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03],
    );
    let output = run(cli().arg("transcript").arg(&gzipped));
    assert_eq!(code(&output), 1);
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("transcript-cronofy.json is gzip-compressed")
            && stderr.contains("gunzip -c"),
        "{stderr}"
    );
}

/// A transcript with values of a kind it should not hold renders without them, and says which.
#[test]
fn transcript_renders_around_values_of_the_wrong_kind_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let odd = write_temp(
        dir.path(),
        "odd.json",
        br#"{"transcript":{"paragraphs":[{"speaker":{"name":"Ada"},"sentences":[
            {"text":"One.","start":"1.5","end":3},{"text":"Two.","start":"3","end":"4"}]}]}}"#,
    );
    let output = run(cli().args(["transcript", "--format", "srt"]).arg(&odd));
    assert_eq!(code(&output), 0, "{output:?}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "1\n00:00:00,000 --> 00:00:03,000\nAda: One.\n\n2\n00:00:00,000 --> 00:00:02,000\nAda: Two.\n"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("odd.json")
            && stderr.contains("transcript.paragraphs[0].sentences[0].start and 2 more"),
        "{stderr}"
    );

    let array = write_temp(dir.path(), "array.json", b"[]");
    let output = run(cli().arg("transcript").arg(&array));
    assert_eq!(code(&output), 1);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("it is not a JSON object"),
        "{output:?}"
    );
}
