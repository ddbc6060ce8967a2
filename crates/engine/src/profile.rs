//! One profile's derived state, and how two profiles' states merge.

use percorso_profiles::segment::Facts;
use percorso_profiles::{Fields, ProfileTraits, Subscriptions, TraitState};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::definitions::{Definitions, SegmentEntry};
use crate::input::Record;
use crate::slots::Slots;

/// Membership of one segment as recorded in the log (by the `Segment
/// Entered` / `Segment Exited` events), plus a change already stated but
/// not yet read back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub member: bool,
    /// Event time of the last recorded change.
    pub since: i64,
    /// Recorded changes so far: numbers the next change's `messageId`.
    pub transitions: u32,
    /// In flight, not stored: after a restart, the log's tail says whether
    /// the change was recorded, and the profile is judged again.
    #[serde(skip)]
    pub pending: Option<bool>,
}

/// Everything derived about one profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProfileState {
    pub traits: ProfileTraits,
    pub subscriptions: Subscriptions,
    /// By computed trait position in the definitions.
    pub computed: Slots<TraitState>,
    /// By segment position: the states of the segment's implied traits
    /// (empty until an event matches one).
    pub implied: Slots<Vec<TraitState>>,
    /// By segment position.
    pub membership: Slots<Membership>,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    pub events: u64,
    /// Latest ids seen, to address derived events to the person.
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    /// When the profile's window timer is due, if one is armed.
    pub timer: Option<i64>,
    /// The definitions' layout the slots follow (see `removal.rs`).
    pub layout: u32,
    /// The key slot the state is sealed with in the store, and those of
    /// the states merged into it (see `sealed_rows`).
    pub key_slot: u64,
    pub absorbed_key_slots: Vec<u64>,
}

/// What one event changed on a profile: which segments may need a new
/// verdict.
#[derive(Debug, Default)]
pub struct Changed {
    /// Profile traits whose value changed.
    pub traits: Vec<String>,
    /// Computed traits (by position) whose state changed.
    pub computed: Vec<usize>,
    /// Segments (by position) one of whose implied traits changed.
    pub segments: Vec<usize>,
}

impl Changed {
    pub fn touches(&self, index: usize, segment: &SegmentEntry) -> bool {
        self.segments.contains(&index)
            || segment
                .computed_reads
                .iter()
                .any(|position| self.computed.contains(position))
            || (!self.traits.is_empty()
                && segment
                    .trait_names
                    .iter()
                    .any(|name| self.traits.contains(name)))
    }

    pub fn is_empty(&self) -> bool {
        self.traits.is_empty() && self.computed.is_empty() && self.segments.is_empty()
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
            ..Changed::default()
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
                .at(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                *field = Some(id.to_owned());
            }
        }
        for (index, definition) in definitions.computed.iter().enumerate() {
            if !definition.matches(event) || !include(&definition.name) {
                continue;
            }
            let state = self.computed.entry(index);
            if state.apply_matched(definition, event, timestamp, now) {
                changed.computed.push(index);
            }
        }
        for (index, segment) in definitions.segments.iter().enumerate() {
            if include(&segment.name) && self.apply_implied(index, segment, record, now) {
                changed.segments.push(index);
            }
        }
        changed
    }

    /// Applies one event to the implied traits of the segment at
    /// `position` only (back-fill). Returns whether any of them changed.
    pub fn apply_implied(
        &mut self,
        position: usize,
        segment: &SegmentEntry,
        record: &Record,
        now: i64,
    ) -> bool {
        let implied = &segment.compiled.implied;
        if !implied.iter().any(|d| d.matches(&record.event)) {
            return false;
        }
        let states = self.implied.entry(position);
        if states.is_empty() {
            states.reserve_exact(implied.len());
            states.resize_with(implied.len(), TraitState::default);
        }
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
        self.computed.merge_with(other.computed, TraitState::merge);
        self.implied.merge_with(other.implied, |mine, theirs| {
            if mine.is_empty() {
                *mine = theirs;
            } else {
                for (a, b) in mine.iter_mut().zip(theirs) {
                    a.merge(b);
                }
            }
        });
        self.first_seen = min_some(self.first_seen, other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
        self.events += other.events;
        self.user_id = self.user_id.take().or(other.user_id);
        self.anonymous_id = self.anonymous_id.take().or(other.anonymous_id);
        self.absorbed_key_slots.push(other.key_slot);
        self.absorbed_key_slots.extend(other.absorbed_key_slots);
    }

    /// Every key slot that sealed anything of this person.
    pub fn key_slots(&self) -> impl Iterator<Item = u64> + '_ {
        std::iter::once(self.key_slot).chain(self.absorbed_key_slots.iter().copied())
    }

    /// Frees the window days that no longer count, then says when the
    /// next one leaves a window (the time to re-evaluate).
    pub fn expire(&mut self, definitions: &Definitions, now: i64) -> Option<i64> {
        let mut next: Option<i64> = None;
        let mut keep = |due: Option<i64>| next = min_some(next, due);
        for (index, definition) in definitions.computed.iter().enumerate() {
            if definition.window_days.is_none() {
                continue;
            }
            if let Some(state) = self.computed.get_mut(index) {
                state.expire(definition, now);
                keep(state.next_expiry(definition));
            }
        }
        for (index, segment) in definitions.segments.iter().enumerate() {
            if !segment.has_windows {
                continue;
            }
            if let Some(states) = self.implied.get_mut(index) {
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
        let (position, _) = definitions.computed_at(name)?;
        Some(self.computed_value_at(definitions, position, now))
    }

    /// The value of the computed trait at `position` at `now`.
    pub fn computed_value_at(&self, definitions: &Definitions, position: usize, now: i64) -> Value {
        let definition = &definitions.computed[position];
        self.computed.get(position).map_or_else(
            || TraitState::default().value(definition, now),
            |s| s.value(definition, now),
        )
    }

    /// Whether a membership change was stated and not yet read back.
    pub fn has_pending(&self) -> bool {
        self.membership.iter().any(|(_, m)| m.pending.is_some())
    }

    /// Recorded membership of the segment at `position`.
    pub fn membership_at(&self, position: usize) -> Membership {
        self.membership.get(position).copied().unwrap_or_default()
    }

    /// Whether the profile meets `segment`'s rule at `now`.
    pub fn qualifies(
        &self,
        definitions: &Definitions,
        position: usize,
        segment: &SegmentEntry,
        now: i64,
    ) -> bool {
        segment.compiled.evaluate(&ProfileFacts {
            state: self,
            definitions,
            position,
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
    /// The segment's position.
    position: usize,
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
            .get(self.position)
            .and_then(|states| states.get(index))
            .map_or_else(
                || TraitState::default().value(definition, self.now),
                |s| s.value(definition, self.now),
            )
    }
}
