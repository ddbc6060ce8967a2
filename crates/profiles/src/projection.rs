//! The parts of an event that profile state reads, and a decoder that
//! builds only those.
//!
//! A stored event carries much that no trait or segment reads (timestamps
//! as text, `integrations`, most of an SDK's `context`), and building every
//! member as a `Value` was the largest single cost of applying an event.
//! Anything not named here is skipped while parsing: the decoder must see
//! every path a definition reads, so [`Projection::of`] takes them from the
//! definitions themselves.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::ComputedTrait;

/// Top-level members read whatever the definitions: identity and naming
/// (`type`, `event`, ids), the traits an identify or group sets.
const ALWAYS_WHOLE: [&str; 7] = [
    "type",
    "event",
    "userId",
    "anonymousId",
    "messageId",
    "groupId",
    "traits",
];

/// Paths read whatever the definitions (consent: `Unsubscribed` events name
/// their channel there).
const ALWAYS_PATHS: [&str; 1] = ["properties.channel"];

/// A tree of the members to keep: a leaf keeps its member whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Node {
    whole: bool,
    children: BTreeMap<String, Node>,
}

impl Node {
    fn add(&mut self, path: &str) {
        let node = path.split('.').fold(self, |node, key| {
            node.children.entry(key.to_owned()).or_default()
        });
        node.whole = true;
    }
}

/// What to keep of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    root: Node,
}

impl Default for Projection {
    fn default() -> Self {
        Self::of(&[])
    }
}

impl Projection {
    /// Everything `definitions` read (their event names, filters and
    /// properties), plus what traits, consent and identity always read.
    pub fn of<'a>(definitions: impl IntoIterator<Item = &'a ComputedTrait>) -> Self {
        let mut root = Node::default();
        for path in ALWAYS_WHOLE.iter().chain(&ALWAYS_PATHS) {
            root.add(path);
        }
        for definition in definitions {
            for path in definition.paths() {
                root.add(path);
            }
        }
        Self { root }
    }

    /// Keeps everything (as a plain parse does): for checking that a
    /// projection drops nothing a definition reads.
    pub fn whole() -> Self {
        Self {
            root: Node {
                whole: true,
                children: BTreeMap::new(),
            },
        }
    }

    /// Parses a JSON object, building only the projected members.
    pub fn decode(&self, json: &[u8]) -> serde_json::Result<Value> {
        // Checked as UTF-8 once, whole: parsing bytes checks every string
        // it builds on its own, which cost more than one pass over all.
        let text = std::str::from_utf8(json).map_err(serde::de::Error::custom)?;
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let value = Projected(&self.root).deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(value)
    }
}

/// Deserialises the member at one node of the tree.
struct Projected<'a>(&'a Node);

impl<'de> DeserializeSeed<'de> for Projected<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        if self.0.whole {
            return serde::Deserialize::deserialize(deserializer);
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Projected<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(KeyOf(self.0))? {
            match key {
                Some((name, node)) => {
                    let value = map.next_value_seed(Projected(node))?;
                    out.insert(name, value);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }

    // A path goes through objects only (`lookup` finds nothing inside
    // anything else), so other values on the way are skipped.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_str<E>(self, _: &str) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

/// Reads a member name: its node when kept (and the name, owned), `None`
/// when skipped (and nothing allocated).
struct KeyOf<'a>(&'a Node);

impl<'de, 'a> DeserializeSeed<'de> for KeyOf<'a> {
    type Value = Option<(String, &'a Node)>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'a> Visitor<'_> for KeyOf<'a> {
    type Value = Option<(String, &'a Node)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E>(self, name: &str) -> Result<Self::Value, E> {
        Ok(self
            .0
            .children
            .get(name)
            .map(|node| (name.to_owned(), node)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::filter::lookup;

    fn definition(value: Value) -> ComputedTrait {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn keeps_what_definitions_read_and_drops_the_rest() {
        let definitions = [definition(
            json!({ "name": "spend", "event": "Order Completed", "aggregation": "sum",
                "property": "properties.revenue",
                "filters": [{ "path": "context.page.path", "comparison": "equals", "value": "/checkout" }] }),
        )];
        let projection = Projection::of(&definitions);
        let event = json!({
            "type": "track", "event": "Order Completed", "userId": "u1", "messageId": "m1",
            "properties": { "revenue": 12.5, "channel": "email", "sku": "a", "items": [1, 2] },
            "context": { "page": { "path": "/checkout", "title": "Pay" }, "userAgent": "x",
                         "library": { "name": "analytics.js" } },
            "integrations": { "All": true }, "timestamp": "2026-01-01T00:00:00Z",
            "traits": { "email": "a@b.c", "nested": { "deep": [1] } }
        });
        let decoded = projection.decode(event.to_string().as_bytes()).unwrap();
        assert_eq!(
            decoded,
            json!({
                "type": "track", "event": "Order Completed", "userId": "u1", "messageId": "m1",
                "properties": { "revenue": 12.5, "channel": "email" },
                "context": { "page": { "path": "/checkout" } },
                "traits": { "email": "a@b.c", "nested": { "deep": [1] } }
            })
        );
        for path in ["properties.revenue", "context.page.path", "traits.nested"] {
            assert_eq!(lookup(&decoded, path), lookup(&event, path), "{path}");
        }
    }

    #[test]
    fn a_path_through_something_other_than_an_object_finds_nothing_either_way() {
        let definitions = [definition(
            json!({ "name": "n", "aggregation": "last", "property": "properties.a.b" }),
        )];
        let projection = Projection::of(&definitions);
        for properties in [json!("text"), json!([{ "b": 1 }]), json!({ "a": 3 })] {
            let event = json!({ "type": "track", "properties": properties });
            let decoded = projection.decode(event.to_string().as_bytes()).unwrap();
            assert_eq!(lookup(&decoded, "properties.a.b"), None);
            assert_eq!(lookup(&event, "properties.a.b"), None);
        }
    }

    #[test]
    fn malformed_json_is_an_error() {
        let projection = Projection::default();
        assert!(projection
            .decode(br#"{"type": "track", "skipped": [1, }"#)
            .is_err());
        assert!(projection.decode(br#"{"type": "track"} trailing"#).is_err());
    }
}
