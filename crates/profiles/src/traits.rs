//! Profile traits from `identify` and `group` messages: merged trait by
//! trait, the value of the latest event winning, each with where and when
//! it came from.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

/// A trait's current value and its provenance.
#[derive(Debug, Clone, PartialEq, Serialize)]
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

/// All traits of one profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProfileTraits {
    traits: BTreeMap<String, TraitValue>,
}

impl ProfileTraits {
    /// Merges the traits a message carries: an identify's `traits` as they
    /// are, a group's as `group.<groupId>.<trait>`. Returns the names of
    /// traits whose value changed.
    pub fn apply(&mut self, event: &Value, source: &str, timestamp: i64) -> Vec<String> {
        let Some(Value::Object(traits)) = event.get("traits") else {
            return Vec::new();
        };
        let prefix = match event.get("type").and_then(Value::as_str) {
            Some("identify") => String::new(),
            Some("group") => match event.get("groupId") {
                Some(Value::String(id)) => format!("group.{id}."),
                Some(Value::Number(id)) => format!("group.{id}."),
                _ => return Vec::new(),
            },
            _ => return Vec::new(),
        };
        let message_id = event
            .get("messageId")
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
        match self.traits.get_mut(&name) {
            Some(current) if !candidate.is_newer_than(current) => false,
            Some(current) => {
                let changed = current.value != candidate.value;
                *current = candidate;
                changed
            }
            None => {
                self.traits.insert(name, candidate);
                true
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&TraitValue> {
        self.traits.get(name)
    }

    /// `{trait: value}` as a JSON object.
    pub fn values(&self) -> Map<String, Value> {
        self.traits
            .iter()
            .map(|(name, t)| (name.clone(), t.value.clone()))
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &TraitValue)> {
        self.traits.iter()
    }
}
