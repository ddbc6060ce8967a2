//! One profile's derived state, and how two profiles' states merge.

use std::collections::BTreeMap;

use percorso_profiles::segment::Facts;
use percorso_profiles::{ProfileTraits, Subscriptions, TraitState};
use serde_json::Value;

use crate::definitions::{Definitions, SegmentEntry};
use crate::input::Record;

/// Membership of one segment as recorded in the log (by the `Segment
/// Entered` / `Segment Exited` events), plus a change already stated but
/// not yet read back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Membership {
    pub member: bool,
    /// Event time of the last recorded change.
    pub since: i64,
    /// Recorded changes so far: numbers the next change's `messageId`.
    pub transitions: u32,
    pub pending: Option<bool>,
}

/// Everything derived about one profile.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileState {
    pub traits: ProfileTraits,
    pub subscriptions: Subscriptions,
    /// By computed trait name.
    pub computed: BTreeMap<String, TraitState>,
    /// By segment name: the states of the segment's implied traits.
    pub implied: BTreeMap<String, Vec<TraitState>>,
    pub membership: BTreeMap<String, Membership>,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    pub events: u64,
    /// Latest ids seen, to address derived events to the person.
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
}

/// What one event changed on a profile: which segments may need a new
/// verdict.
#[derive(Debug, Default)]
pub struct Changed {
    /// Profile traits and computed traits whose state changed.
    pub traits: Vec<String>,
    /// Segments (by index) one of whose implied traits changed.
    pub segments: Vec<usize>,
}

impl Changed {
    pub fn touches(&self, index: usize, segment: &SegmentEntry) -> bool {
        self.segments.contains(&index)
            || segment
                .trait_names
                .iter()
                .any(|name| self.traits.contains(name))
    }

    pub fn is_empty(&self) -> bool {
        self.traits.is_empty() && self.segments.is_empty()
    }
}

impl ProfileState {
    /// Applies one event to every definition `include` accepts (a
    /// definition still back-filling takes only events after its cut).
    pub fn apply(
        &mut self,
        record: &Record,
        definitions: &Definitions,
        include: impl Fn(&str) -> bool,
        now: i64,
    ) -> Changed {
        let event = &record.event;
        let timestamp = record.timestamp;
        let mut changed = Changed {
            traits: self.traits.apply(event, &record.source_id, timestamp),
            segments: Vec::new(),
        };
        self.subscriptions.apply(event, timestamp);
        self.first_seen = Some(self.first_seen.map_or(timestamp, |t| t.min(timestamp)));
        self.last_seen = Some(self.last_seen.map_or(timestamp, |t| t.max(timestamp)));
        self.events += 1;
        for (field, key) in [
            (&mut self.user_id, "userId"),
            (&mut self.anonymous_id, "anonymousId"),
        ] {
            if let Some(id) = event
                .get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                *field = Some(id.to_owned());
            }
        }
        for definition in definitions.computed.iter().filter(|d| include(&d.name)) {
            if !definition.matches(event) {
                continue;
            }
            let state = match self.computed.get_mut(&definition.name) {
                Some(state) => state,
                None => self.computed.entry(definition.name.clone()).or_default(),
            };
            if state.apply(definition, event, timestamp, now) {
                changed.traits.push(definition.name.clone());
            }
        }
        for (index, segment) in definitions.segments.iter().enumerate() {
            if include(&segment.name) && self.apply_implied(segment, record, now) {
                changed.segments.push(index);
            }
        }
        changed
    }

    /// Applies one event to one segment's implied traits only (back-fill).
    /// Returns whether any of them changed.
    pub fn apply_implied(&mut self, segment: &SegmentEntry, record: &Record, now: i64) -> bool {
        let implied = &segment.compiled.implied;
        if !implied.iter().any(|d| d.matches(&record.event)) {
            return false;
        }
        let states = match self.implied.get_mut(&segment.name) {
            Some(states) => states,
            None => self
                .implied
                .entry(segment.name.clone())
                .or_insert_with(|| vec![TraitState::default(); implied.len()]),
        };
        let mut changed = false;
        for (definition, state) in implied.iter().zip(states.iter_mut()) {
            changed |= state.apply(definition, &record.event, record.timestamp, now);
        }
        changed
    }

    /// Folds in the state of a profile merged into this one. Its recorded
    /// segment membership is not carried over: this profile's own is
    /// re-evaluated and recorded afresh.
    pub fn merge(&mut self, other: ProfileState) {
        self.traits.merge(other.traits);
        self.subscriptions.merge(other.subscriptions);
        for (name, state) in other.computed {
            self.computed.entry(name).or_default().merge(state);
        }
        for (name, states) in other.implied {
            match self.implied.get_mut(&name) {
                Some(mine) => {
                    for (a, b) in mine.iter_mut().zip(states) {
                        a.merge(b);
                    }
                }
                None => {
                    self.implied.insert(name, states);
                }
            }
        }
        self.first_seen = min_some(self.first_seen, other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
        self.events += other.events;
        self.user_id = self.user_id.take().or(other.user_id);
        self.anonymous_id = self.anonymous_id.take().or(other.anonymous_id);
    }

    /// Frees the window days that no longer count, then says when the
    /// next one leaves a window (the time to re-evaluate).
    pub fn expire(&mut self, definitions: &Definitions, now: i64) -> Option<i64> {
        let mut next: Option<i64> = None;
        let mut keep = |due: Option<i64>| next = min_some(next, due);
        for definition in definitions
            .computed
            .iter()
            .filter(|d| d.window_days.is_some())
        {
            if let Some(state) = self.computed.get_mut(&definition.name) {
                state.expire(definition, now);
                keep(state.next_expiry(definition));
            }
        }
        for segment in definitions.segments.iter().filter(|s| s.has_windows) {
            if let Some(states) = self.implied.get_mut(&segment.name) {
                for (definition, state) in segment.compiled.implied.iter().zip(states.iter_mut()) {
                    state.expire(definition, now);
                    keep(state.next_expiry(definition));
                }
            }
        }
        next
    }

    /// The value of computed trait `name` at `now`.
    pub fn computed_value(&self, definitions: &Definitions, name: &str, now: i64) -> Option<Value> {
        let definition = definitions.computed.iter().find(|d| d.name == name)?;
        Some(self.computed.get(name).map_or_else(
            || TraitState::default().value(definition, now),
            |s| s.value(definition, now),
        ))
    }

    /// Whether the profile meets `segment`'s rule at `now`.
    pub fn qualifies(&self, definitions: &Definitions, segment: &SegmentEntry, now: i64) -> bool {
        segment.compiled.evaluate(&ProfileFacts {
            state: self,
            definitions,
            segment,
            now,
        })
    }
}

fn min_some(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

struct ProfileFacts<'a> {
    state: &'a ProfileState,
    definitions: &'a Definitions,
    segment: &'a SegmentEntry,
    now: i64,
}

impl Facts for ProfileFacts<'_> {
    fn trait_value(&self, name: &str) -> Option<Value> {
        if let Some(value) = self.state.computed_value(self.definitions, name, self.now) {
            return Some(value);
        }
        self.state.traits.get(name).map(|t| t.value.clone())
    }

    fn implied_value(&self, index: usize) -> Value {
        let definition = &self.segment.compiled.implied[index];
        self.state
            .implied
            .get(&self.segment.name)
            .and_then(|states| states.get(index))
            .map_or_else(
                || TraitState::default().value(definition, self.now),
                |s| s.value(definition, self.now),
            )
    }
}
