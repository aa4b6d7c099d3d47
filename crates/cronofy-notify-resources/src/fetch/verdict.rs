//! Judging an answer from its status and headers, before a byte of its body is read: the
//! whole resource, the rest of it after the bytes held, or why neither.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, ETAG};

use crate::DownloadError;
use crate::headers::{header_text, parse_content_range, unsatisfied_total};

/// Where a resumed request asks the body to start, and the validator it must still match.
pub(super) struct Resume {
    pub(super) offset: u64,
    pub(super) etag: String,
    /// The request asks whether the bytes held, whose length nothing declared, are all there is.
    pub(super) asking: bool,
}

/// What an answer's status and headers say of the body that follows.
#[derive(Debug)]
pub(super) enum Verdict {
    /// The rest of the body, after the bytes held (a 206 from the offset asked for).
    Rest { total: Option<u64> },
    /// The whole body, from its first byte: whatever is held goes first.
    Whole { total: Option<u64> },
    /// Nothing is left to fetch (a 416 whose total is what is held).
    AlreadyHeld,
    /// The bytes held no longer match the resource: drop them, then fail the attempt.
    Discard(DownloadError),
    /// The answer is unusable; what is held is still good.
    Fail(DownloadError),
    /// A status that carries no body of the resource (4xx, 5xx, or a 202/204 "not ready yet").
    Refused,
}

/// Judges an answer from its status and headers alone, before a byte of its body is read.
pub(super) fn judge(response: &reqwest::Response, resume: Option<&Resume>) -> Verdict {
    let headers = response.headers();
    let content_range = || header_text(headers, &CONTENT_RANGE).unwrap_or_default();
    match (response.status(), resume) {
        (StatusCode::PARTIAL_CONTENT, Some(resume)) => {
            let range = content_range();
            match parse_content_range(&range) {
                Some((start, _)) if start != resume.offset => {
                    Verdict::Discard(DownloadError::BadContentRange {
                        expected_start: resume.offset,
                        content_range: range,
                    })
                }
                Some(_) if header_text(headers, &ETAG).is_some_and(|etag| etag != resume.etag) => {
                    Verdict::Discard(DownloadError::Changed)
                }
                Some((_, total)) => Verdict::Rest { total },
                None => Verdict::Discard(DownloadError::BadContentRange {
                    expected_start: resume.offset,
                    content_range: range,
                }),
            }
        }
        // A 206 to a plain GET: fine if it starts at 0; a short one resumes like a cut body.
        (StatusCode::PARTIAL_CONTENT, None) => {
            let range = content_range();
            match parse_content_range(&range) {
                Some((0, total)) => Verdict::Whole { total },
                _ => Verdict::Fail(DownloadError::BadContentRange {
                    expected_start: 0,
                    content_range: range,
                }),
            }
        }
        (StatusCode::RANGE_NOT_SATISFIABLE, Some(resume)) => {
            match unsatisfied_total(&content_range()) {
                Some(total) if total == resume.offset => Verdict::AlreadyHeld,
                // Without the total it should give: the If-Range matched (a changed resource
                // gets a 200), and nothing lies at the offset or past it. That ends a body whose
                // length was never declared; a declared one longer than what is held, it
                // contradicts.
                None if resume.asking => Verdict::AlreadyHeld,
                _ => Verdict::Discard(DownloadError::Changed),
            }
        }
        // The whole resource. Other 2xx carry none: 202 and 204 say "not ready yet".
        (StatusCode::OK | StatusCode::NON_AUTHORITATIVE_INFORMATION, _) => Verdict::Whole {
            total: response.content_length(),
        },
        _ => Verdict::Refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut builder = http::Response::builder().status(status);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body("").unwrap().into()
    }

    fn resume_at(offset: u64) -> Resume {
        Resume {
            offset,
            etag: "\"v1\"".into(),
            asking: false,
        }
    }

    #[test]
    fn a_resumed_answer_must_start_where_asked_and_keep_its_etag() {
        let resume = resume_at(100);
        let judged = |headers: &[(&str, &str)]| judge(&answer(206, headers), Some(&resume));
        let range = ("content-range", "bytes 100-199/200");
        assert!(matches!(
            judged(&[range, ("etag", "\"v1\"")]),
            Verdict::Rest { total: Some(200) }
        ));
        assert!(matches!(
            judged(&[range]),
            Verdict::Rest { total: Some(200) }
        ));
        assert!(matches!(
            judged(&[range, ("etag", "\"v2\"")]),
            Verdict::Discard(DownloadError::Changed)
        ));
        for range in ["bytes 0-199/200", "bytes 101-199/200", "", "bytes */200"] {
            assert!(
                matches!(
                    judged(&[("content-range", range)]),
                    Verdict::Discard(DownloadError::BadContentRange {
                        expected_start: 100,
                        ..
                    })
                ),
                "{range:?}"
            );
        }
    }

    #[test]
    fn a_206_to_a_plain_get_counts_only_from_the_first_byte() {
        let judged = |range| judge(&answer(206, &[("content-range", range)]), None);
        assert!(matches!(
            judged("bytes 0-99/200"),
            Verdict::Whole { total: Some(200) }
        ));
        assert!(matches!(
            judged("bytes 100-199/200"),
            Verdict::Fail(DownloadError::BadContentRange {
                expected_start: 0,
                ..
            })
        ));
    }

    #[test]
    fn a_416_means_done_only_when_its_total_is_what_is_held() {
        let resume = resume_at(200);
        let judged = |range| judge(&answer(416, &[("content-range", range)]), Some(&resume));
        assert!(matches!(judged("bytes */200"), Verdict::AlreadyHeld));
        assert!(matches!(
            judged("bytes */150"),
            Verdict::Discard(DownloadError::Changed)
        ));
        // A 416 without its total: the end when asking about a body of no declared length,
        // a contradiction when resuming one whose length is known.
        let bare = answer(416, &[]);
        assert!(matches!(
            judge(&bare, Some(&resume)),
            Verdict::Discard(DownloadError::Changed)
        ));
        let asking = Resume {
            asking: true,
            ..resume_at(200)
        };
        assert!(matches!(judge(&bare, Some(&asking)), Verdict::AlreadyHeld));
        assert!(matches!(
            judge(
                &answer(416, &[("content-range", "bytes */150")]),
                Some(&asking)
            ),
            Verdict::Discard(DownloadError::Changed)
        ));
        assert!(matches!(
            judge(&answer(416, &[("content-range", "bytes */0")]), None),
            Verdict::Refused
        ));
    }

    #[test]
    fn a_200_is_the_whole_body_and_other_statuses_carry_none() {
        let resume = resume_at(100);
        let ok = answer(200, &[("content-length", "0")]);
        assert!(matches!(
            judge(&ok, Some(&resume)),
            Verdict::Whole { total: Some(0) }
        ));
        for status in [202, 204, 304, 404, 429, 500, 503] {
            assert!(
                matches!(judge(&answer(status, &[]), Some(&resume)), Verdict::Refused),
                "{status}"
            );
        }
    }
}
