//! Making a transcript out of JSON that does not quite match the model.
//!
//! A transcript is long, and one value of a kind the model does not expect (a time sent as a
//! string, say) fails the typed parse of the whole of it. When such a change is made, it is
//! made in every sentence, so leaving values out one parse at a time (as a callback is
//! salvaged) would take as many parses as there are sentences. Instead the JSON is walked once
//! against the model's shape, [`TRANSCRIPT`], and each value of the wrong kind is removed.

use std::fmt::Write as _;

use serde_json::Value;

/// What kind of JSON value a field of the model holds. `null` fits every field (it is read as
/// absent), but is no element of an array.
enum Shape {
    /// A JSON object, with the fields the model reads; other fields are ignored.
    Object(&'static [(&'static str, Shape)]),
    /// A JSON array of this.
    Array(&'static Shape),
    /// A string.
    String,
    /// A number.
    Number,
}

const SENTENCE: Shape = Shape::Object(&[
    ("text", Shape::String),
    ("start", Shape::Number),
    ("end", Shape::Number),
]);

const SPEAKER: Shape = Shape::Object(&[("identifier", Shape::String), ("name", Shape::String)]);

const PARAGRAPH: Shape = Shape::Object(&[
    ("speaker", SPEAKER),
    ("start", Shape::Number),
    ("end", Shape::Number),
    ("sentences", Shape::Array(&SENTENCE)),
]);

/// The shape of [`Transcript`](super::Transcript), field by field: what its derived
/// `Deserialize` accepts, which the tests hold it to.
const TRANSCRIPT: Shape = Shape::Object(&[
    ("meeting_agent", Shape::Object(&[("sub", Shape::String)])),
    (
        "transcript",
        Shape::Object(&[
            ("summary", Shape::String),
            ("paragraphs", Shape::Array(&PARAGRAPH)),
        ]),
    ),
]);

/// Removes from `json`, an object, every value that does not fit the transcript's shape, and
/// returns where each was, as a JSON path (`transcript.paragraphs[3].sentences[0].start`), in
/// the model's field order and the arrays' order. An index is that of the element in the
/// document as it was; an element that does not fit (`null` among them) is removed whole.
pub(super) fn leave_out_misfits(json: &mut Value) -> Vec<String> {
    let mut left_out = Vec::new();
    if let (Shape::Object(fields), Value::Object(map)) = (&TRANSCRIPT, json) {
        let mut path = String::new();
        prune_fields(fields, map, &mut path, &mut left_out);
    }
    left_out
}

/// Prunes the fields of an object that fits, descending into those that do.
fn prune_fields(
    fields: &[(&str, Shape)],
    map: &mut serde_json::Map<String, Value>,
    path: &mut String,
    left_out: &mut Vec<String>,
) {
    for (name, shape) in fields {
        let Some(value) = map.get_mut(*name) else {
            continue;
        };
        let length = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(name);
        if !prune(shape, value, path, left_out) {
            left_out.push(path.clone());
            map.remove(*name);
        }
        path.truncate(length);
    }
}

/// Whether `value` fits `shape` (pruning what is inside it so that it does); `false` when it
/// must go.
fn prune(shape: &Shape, value: &mut Value, path: &mut String, left_out: &mut Vec<String>) -> bool {
    match (shape, value) {
        (_, Value::Null)
        | (Shape::String, Value::String(_))
        | (Shape::Number, Value::Number(_)) => true,
        (Shape::Object(fields), Value::Object(map)) => {
            prune_fields(fields, map, path, left_out);
            true
        }
        (Shape::Array(element), Value::Array(items)) => {
            let mut index = 0;
            items.retain_mut(|item| {
                let length = path.len();
                let _ = write!(path, "[{index}]"); // writing to a String cannot fail
                // An element is a paragraph or a sentence: `null` is no more one than a number.
                let fits = !item.is_null() && prune(element, item, path, left_out);
                if !fits {
                    left_out.push(path.clone());
                }
                path.truncate(length);
                index += 1;
                fits
            });
            true
        }
        _ => false,
    }
}
