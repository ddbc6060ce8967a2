//! The parts of an event that profile state reads, and a decoder that
//! builds only those.
//!
//! A stored event carries much that no trait or segment reads (timestamps
//! as text, `integrations`, most of an SDK's `context`), and building every
//! member as a `Value` was the largest single cost of applying an event.
//! Anything not named here is skipped while parsing: the decoder must see
//! every path a definition reads, so [`Projection::of`] takes them from the
//! definitions themselves.
//!
//! What is kept is flat: each named path's value, found by the path. A
//! tree of objects (a map node and a key string per level) cost more to
//! build and free than the values in it, and every event paid for both.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::filter::{lookup, Fields};
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

/// A tree of the members to keep: one with a slot is kept whole (what is
/// under it needs no node of its own); `slots` spans the slots at or
/// under a node (numbered depth first, so they are contiguous).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Node {
    slot: Option<u16>,
    slots: Range<u16>,
    children: BTreeMap<String, Node>,
}

impl Node {
    fn add(&mut self, path: &str) {
        let node = path.split('.').fold(self, |node, key| {
            node.children.entry(key.to_owned()).or_default()
        });
        node.slot = Some(0);
    }

    /// Numbers the nodes kept whole, recording each one's dotted path.
    fn number(&mut self, path: &str, paths: &mut Vec<String>) {
        let first = slot_number(paths.len());
        if self.slot.is_some() {
            self.slot = Some(first);
            self.children.clear();
            paths.push(path.to_owned());
        } else {
            for (key, child) in &mut self.children {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                child.number(&path, paths);
            }
        }
        self.slots = first..slot_number(paths.len());
    }
}

fn slot_number(n: usize) -> u16 {
    // Paths come from definitions; tens of thousands of them is no use.
    u16::try_from(n).expect("fewer than 65,536 projected paths")
}

/// What to keep of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    root: Node,
    /// The dotted path of each slot (`""`: the whole event).
    paths: Arc<[String]>,
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
        Self::numbered(root)
    }

    /// Keeps everything (as a plain parse does): for checking that a
    /// projection drops nothing a definition reads.
    pub fn whole() -> Self {
        Self::numbered(Node {
            slot: Some(0),
            ..Node::default()
        })
    }

    fn numbered(mut root: Node) -> Self {
        let mut paths = Vec::new();
        root.number("", &mut paths);
        Self {
            root,
            paths: paths.into(),
        }
    }

    /// Parses a JSON object, building only the projected members.
    pub fn decode(&self, json: &[u8]) -> serde_json::Result<ProjectedEvent> {
        // Checked as UTF-8 once, whole: parsing bytes checks every string
        // it builds on its own, which cost more than one pass over all.
        let text = std::str::from_utf8(json).map_err(serde::de::Error::custom)?;
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let mut values = Vec::new();
        Projected {
            node: &self.root,
            out: &mut values,
        }
        .deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(ProjectedEvent {
            paths: self.paths.clone(),
            values,
        })
    }
}

/// An event as a [`Projection`] kept it: the value of each projected path
/// the event has. A path under a kept one is found inside it; a path that
/// is only the way to kept ones (`properties` when just
/// `properties.revenue` is kept) finds nothing, as no definition reads one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectedEvent {
    paths: Arc<[String]>,
    values: Vec<(u16, Value)>,
}

impl Fields for ProjectedEvent {
    fn at(&self, path: &str) -> Option<&Value> {
        self.values.iter().find_map(|(slot, value)| {
            let kept = self.paths[usize::from(*slot)].as_str();
            if kept.is_empty() {
                return lookup(value, path);
            }
            match path.strip_prefix(kept)? {
                "" => Some(value),
                rest => lookup(value, rest.strip_prefix('.')?),
            }
        })
    }
}

/// Deserialises the member at one node of the tree into `out`.
struct Projected<'a> {
    node: &'a Node,
    out: &'a mut Vec<(u16, Value)>,
}

impl<'de> DeserializeSeed<'de> for Projected<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        if let Some(slot) = self.node.slot {
            let value: Value = serde::Deserialize::deserialize(deserializer)?;
            // A member named twice: the last wins, as in a parsed object.
            match self.out.iter_mut().find(|(s, _)| *s == slot) {
                Some(kept) => kept.1 = value,
                None => self.out.push((slot, value)),
            }
            return Ok(());
        }
        // A member named twice: the last wins, with what it lacks.
        let slots = &self.node.slots;
        if self.out.iter().any(|(s, _)| slots.contains(s)) {
            self.out.retain(|(s, _)| !slots.contains(s));
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Projected<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(child) = map.next_key_seed(KeyOf(self.node))? {
            match child {
                Some(node) => map.next_value_seed(Projected {
                    node,
                    out: &mut *self.out,
                })?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    // A path goes through objects only (`lookup` finds nothing inside
    // anything else), so other values on the way are skipped.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Reads a member name: its node when kept, `None` when skipped (and
/// nothing allocated either way).
struct KeyOf<'a>(&'a Node);

impl<'de, 'a> DeserializeSeed<'de> for KeyOf<'a> {
    type Value = Option<&'a Node>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'a> Visitor<'_> for KeyOf<'a> {
    type Value = Option<&'a Node>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E>(self, name: &str) -> Result<Self::Value, E> {
        Ok(self.0.children.get(name))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

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
        for path in [
            "type",
            "event",
            "userId",
            "messageId",
            "properties.revenue",
            "properties.channel",
            "context.page.path",
            "traits",
            "traits.nested",
            "traits.nested.deep",
        ] {
            assert!(decoded.at(path).is_some(), "{path}");
            assert_eq!(decoded.at(path), event.at(path), "{path}");
        }
        for dropped in [
            "properties.sku",
            "properties.items",
            "context.userAgent",
            "context.page.title",
            "context.library",
            "integrations",
            "timestamp",
            "anonymousId",
        ] {
            assert_eq!(decoded.at(dropped), None, "{dropped}");
        }
        assert_eq!(
            decoded.values.len(),
            8,
            "one value per kept path the event has"
        );
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
            assert_eq!(decoded.at("properties.a.b"), None);
            assert_eq!(event.at("properties.a.b"), None);
        }
    }

    #[test]
    fn a_member_named_twice_reads_as_a_parse_does_the_last() {
        let definitions = [definition(
            json!({ "name": "n", "aggregation": "sum", "property": "properties.revenue" }),
        )];
        let projection = Projection::of(&definitions);
        for text in [
            r#"{"properties":{"revenue":1,"channel":"x"},"properties":{"channel":"y"}}"#,
            r#"{"properties":{"revenue":1},"properties":5}"#,
            r#"{"event":"A","event":"B","properties":{"revenue":1,"revenue":2}}"#,
        ] {
            let parsed: Value = serde_json::from_str(text).unwrap();
            let decoded = projection.decode(text.as_bytes()).unwrap();
            for path in ["event", "properties.revenue", "properties.channel"] {
                assert_eq!(decoded.at(path), parsed.at(path), "{text} {path}");
            }
        }
    }

    #[test]
    fn the_whole_projection_reads_everything() {
        let event = json!({ "a": { "b": [1, { "c": 2 }] }, "d": null });
        let decoded = Projection::whole()
            .decode(event.to_string().as_bytes())
            .unwrap();
        for path in ["a", "a.b", "d", "a.x", ""] {
            assert_eq!(decoded.at(path), event.at(path), "{path}");
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

    /// JSON over few member names, so that paths overlap and collide.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<i32>().prop_map(Value::from),
            "[a-c]{0,2}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::vec(("[a-c]", inner), 0..4)
                    .prop_map(|members| { Value::Object(members.into_iter().collect()) }),
            ]
        })
    }

    proptest! {
        /// Every path a definition reads, and any path under one, finds
        /// what it finds in the whole event.
        #[test]
        fn what_a_definition_reads_is_what_the_whole_event_holds(
            event in json_value(),
            paths in prop::collection::vec("[a-c](\\.[a-c]){0,2}", 1..4),
            deeper in "(\\.[a-c]){0,2}",
        ) {
            let definitions: Vec<ComputedTrait> = paths
                .iter()
                .map(|path| definition(json!({ "name": "n", "aggregation": "last", "property": path })))
                .collect();
            let decoded = Projection::of(&definitions)
                .decode(event.to_string().as_bytes())
                .unwrap();
            for path in &paths {
                prop_assert_eq!(decoded.at(path), event.at(path), "{}", path);
                let below = format!("{path}{deeper}");
                prop_assert_eq!(decoded.at(&below), event.at(&below), "{}", below);
            }
        }
    }
}
