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

/// A tree of the members to keep: one `whole` is kept whole in its slot
/// (what is under it needs no node of its own); `slots` spans the slots
/// at or under a node (numbered depth first, so they are contiguous).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Node {
    whole: bool,
    slot: u32,
    slots: Range<u32>,
    children: BTreeMap<String, Node>,
}

impl Node {
    fn add(&mut self, path: &str) {
        let node = path.split('.').fold(self, |node, key| {
            node.children.entry(key.to_owned()).or_default()
        });
        node.whole = true;
    }

    /// Numbers the nodes kept whole, recording each one's dotted path
    /// (`None` for the root: `""` is a member name like any other).
    fn number(&mut self, path: Option<&str>, paths: &mut Vec<Option<String>>) {
        let first = slot_number(paths.len());
        if self.whole {
            self.slot = first;
            self.children.clear();
            paths.push(path.map(str::to_owned));
        } else {
            for (key, child) in &mut self.children {
                let path = match path {
                    None => key.clone(),
                    Some(path) => format!("{path}.{key}"),
                };
                child.number(Some(&path), paths);
            }
        }
        self.slots = first..slot_number(paths.len());
    }
}

fn slot_number(n: usize) -> u32 {
    // One path per definition path: four billion is beyond any config.
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// What to keep of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    root: Node,
    /// The dotted path of each slot (`None`: the whole event).
    paths: Arc<[Option<String>]>,
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

    /// [`Projection::of`] the definitions, plus `extra` paths that other
    /// readers (journeys) need.
    pub fn with_paths<'a>(
        definitions: impl IntoIterator<Item = &'a ComputedTrait>,
        extra: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let mut projection = Self::of(definitions);
        let mut root = projection.root;
        let mut added = false;
        for path in extra.into_iter().filter(|p| !p.is_empty()) {
            root.add(path);
            added = true;
        }
        if added {
            projection = Self::numbered(root);
        } else {
            projection.root = root;
        }
        projection
    }

    /// Keeps everything (as a plain parse does): for checking that a
    /// projection drops nothing a definition reads.
    pub fn whole() -> Self {
        Self::numbered(Node {
            whole: true,
            ..Node::default()
        })
    }

    fn numbered(mut root: Node) -> Self {
        let mut paths = Vec::new();
        root.number(None, &mut paths);
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
    paths: Arc<[Option<String>]>,
    values: Vec<(u32, Value)>,
}

impl ProjectedEvent {
    /// The kept members as one JSON object, each at its path.
    pub fn to_value(&self) -> Value {
        let mut root = Value::Object(serde_json::Map::new());
        for (slot, value) in &self.values {
            match self.paths.get(*slot as usize) {
                Some(Some(path)) => insert_at(&mut root, path, value.clone()),
                Some(None) => return value.clone(),
                None => {}
            }
        }
        root
    }
}

/// Sets `value` at dotted `path` in `root`, making objects on the way.
fn insert_at(root: &mut Value, path: &str, value: Value) {
    let mut node = root;
    let mut keys = path.split('.').peekable();
    while let Some(key) = keys.next() {
        let Value::Object(object) = node else {
            return;
        };
        if keys.peek().is_none() {
            object.insert(key.to_owned(), value);
            return;
        }
        node = object
            .entry(key.to_owned())
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
    }
}

impl Fields for ProjectedEvent {
    fn at(&self, path: &str) -> Option<&Value> {
        self.values.iter().find_map(|(slot, value)| {
            let Some(kept) = self.paths.get(*slot as usize)? else {
                return lookup(value, path);
            };
            match path.strip_prefix(kept.as_str())? {
                "" => Some(value),
                rest => lookup(value, rest.strip_prefix('.')?),
            }
        })
    }
}

/// Deserialises the member at one node of the tree into `out`.
struct Projected<'a> {
    node: &'a Node,
    out: &'a mut Vec<(u32, Value)>,
}

impl<'de> DeserializeSeed<'de> for Projected<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        if self.node.whole {
            let slot = self.node.slot;
            let value: Value = serde::Deserialize::deserialize(deserializer)?;
            // A member named twice: the last wins, as in a parsed object.
            match self.out.iter_mut().find(|(s, _)| *s == slot) {
                Some(kept) => kept.1 = value,
                None => self.out.push((slot, value)),
            }
            return Ok(());
        }
        // A member named twice: the last wins, and what only the earlier
        // one held beneath it goes too.
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
#[path = "projection_tests.rs"]
mod tests;
