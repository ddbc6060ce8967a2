//! Profile traits from `identify` and `group` messages: merged trait by
//! trait, the value of the latest event winning, each with where and when
//! it came from.

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::filter::Fields;

/// A trait's current value and its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraitValue {
    pub value: Value,
    /// Event time of the message that set it.
    pub updated_at: i64,
    pub source: String,
    pub message_id: String,
}

impl TraitValue {
    /// Which of two values is newer: later event time, then (for messages
    /// of the same millisecond) the greater messageId, so the outcome does
    /// not depend on the order messages are applied in.
    fn is_newer_than(&self, other: &TraitValue) -> bool {
        (self.updated_at, &self.message_id) > (other.updated_at, &other.message_id)
    }
}

/// All traits of one profile, sorted by name. A sorted list rather than a
/// `BTreeMap`: a profile holds a handful of traits, and a map's first node
/// alone reserves room for eleven (heaptrack: over 1 KB per profile).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileTraits {
    traits: Vec<(String, TraitValue)>,
}

impl Serialize for ProfileTraits {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.traits.len()))?;
        for (name, value) in &self.traits {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ProfileTraits {
    /// The map [`Serialize`] writes, back into the sorted list.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<String, TraitValue>::deserialize(deserializer)?;
        Ok(Self {
            traits: map.into_iter().collect(),
        })
    }
}

impl ProfileTraits {
    /// Merges the traits a message carries: an identify's `traits` as they
    /// are, a group's as `group.<groupId>.<trait>`. Returns the names of
    /// traits whose value changed.
    pub fn apply(&mut self, event: &impl Fields, source: &str, timestamp: i64) -> Vec<String> {
        let Some(Value::Object(traits)) = event.at("traits") else {
            return Vec::new();
        };
        let prefix = match event.at("type").and_then(Value::as_str) {
            Some("identify") => String::new(),
            Some("group") => match event.at("groupId") {
                Some(Value::String(id)) => format!("group.{id}."),
                Some(Value::Number(id)) => format!("group.{id}."),
                _ => return Vec::new(),
            },
            _ => return Vec::new(),
        };
        let message_id = event
            .at("messageId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut changed = Vec::new();
        for (name, value) in traits {
            let candidate = TraitValue {
                value: value.clone(),
                updated_at: timestamp,
                source: source.to_owned(),
                message_id: message_id.to_owned(),
            };
            if self.offer(format!("{prefix}{name}"), candidate) {
                changed.push(format!("{prefix}{name}"));
            }
        }
        changed
    }

    /// Folds another profile's traits in (after an identity merge).
    pub fn merge(&mut self, other: ProfileTraits) {
        for (name, value) in other.traits {
            self.offer(name, value);
        }
    }

    /// Keeps `candidate` if it is newer; returns whether the value changed.
    fn offer(&mut self, name: String, candidate: TraitValue) -> bool {
        match self.position(&name) {
            Ok(at) => {
                let current = &mut self.traits[at].1;
                if !candidate.is_newer_than(current) {
                    return false;
                }
                let changed = current.value != candidate.value;
                *current = candidate;
                changed
            }
            Err(at) => {
                self.traits.reserve_exact(1);
                self.traits.insert(at, (name, candidate));
                true
            }
        }
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.traits.binary_search_by(|(n, _)| n.as_str().cmp(name))
    }

    pub fn get(&self, name: &str) -> Option<&TraitValue> {
        self.position(name).ok().map(|at| &self.traits[at].1)
    }

    /// `{trait: value}` as a JSON object.
    pub fn values(&self) -> Map<String, Value> {
        self.traits
            .iter()
            .map(|(name, t)| (name.clone(), t.value.clone()))
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &TraitValue)> {
        self.traits.iter().map(|(name, value)| (name, value))
    }
}
