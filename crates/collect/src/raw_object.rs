//! A JSON object read one level deep: its keys in the order sent, each with
//! its value left as raw JSON text. Normalising a message only touches a
//! handful of top-level fields; leaving `properties`, `context` and `traits`
//! as text (copied, never parsed into a tree and printed again) is what
//! keeps ingest fast.

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::rejection::Rejection;

/// Top-level members of a JSON object, in order; a repeated key keeps its
/// first position and its last value, as JSON parsers commonly do.
#[derive(Debug, Default)]
pub struct RawObject<'a> {
    pub members: Vec<(String, &'a RawValue)>,
}

impl<'a> RawObject<'a> {
    /// Parses `text`; fails if it is not valid JSON or not an object.
    pub fn parse(text: &'a str) -> Result<Self, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let object = deserializer.deserialize_map(RawObjectVisitor)?;
        deserializer.end()?;
        Ok(object)
    }

    /// Parses a message, refusing it with `invalid_json` when it is not JSON
    /// and with `not_an_object` when it is JSON of another kind.
    pub fn parse_message(text: &'a str, not_an_object: Rejection) -> Result<Self, Rejection> {
        Self::parse(text).map_err(|e| {
            if e.is_data() {
                not_an_object
            } else {
                Rejection::new("invalid_json", format!("not valid JSON: {e}"))
            }
        })
    }

    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.members.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// The member's text, unless it is absent or `null`.
    pub fn present(&self, key: &str) -> Option<&'a str> {
        self.get(key)
            .map(RawValue::get)
            .filter(|raw| *raw != "null")
    }
}

struct RawObjectVisitor;

impl<'de> Visitor<'de> for RawObjectVisitor {
    type Value = RawObject<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members: Vec<(String, &'de RawValue)> = Vec::with_capacity(16);
        while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
            match members.iter_mut().find(|(k, _)| *k == key) {
                Some(member) => member.1 = value,
                None => members.push((key, value)),
            }
        }
        Ok(RawObject { members })
    }
}

/// Whether raw JSON text is an object (leading whitespace allowed).
pub fn is_object(raw: &str) -> bool {
    raw.trim_start().starts_with('{')
}

/// Appends `"key":` to a JSON object being written.
pub fn write_key(out: &mut Vec<u8>, first: &mut bool, key: &str) {
    if !std::mem::take(first) {
        out.push(b',');
    }
    write_string(out, key);
    out.push(b':');
}

/// Appends a JSON string literal.
pub fn write_string(out: &mut Vec<u8>, text: &str) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_raw_text_and_the_last_of_repeated_keys() {
        let object =
            RawObject::parse(r#" {"b": {"x": [1, 2]}, "a\u0041": 1, "b": null, "c": "t"} "#)
                .unwrap();
        let keys: Vec<_> = object.members.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "aA", "c"]);
        assert_eq!(object.present("b"), None, "the later null wins");
        assert_eq!(object.get("c").unwrap().get(), r#""t""#);
        assert!(RawObject::parse("[1]").is_err());
        assert!(RawObject::parse(r#"{"a":1} x"#).is_err());
    }
}
