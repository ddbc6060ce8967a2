//! One profile's derived state, and how two profiles' states merge.

use std::borrow::Cow;

use percorso_journeys::{CustomerJourneys, PathEntry};
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
    /// By computation position in the definitions (see `computations.rs`).
    pub computations: Slots<TraitState>,
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
    /// Journeys entered and the passes in progress.
    #[serde(default)]
    pub journeys: CustomerJourneys,
    /// The most recent steps of the profile's journeys.
    #[serde(default)]
    pub journey_path: Vec<PathEntry>,
}

/// What one event changed on a profile: which segments may need a new
/// verdict.
#[derive(Debug, Default)]
pub struct Changed {
    /// Profile traits whose value changed.
    pub traits: Vec<String>,
    /// Computations (by position) whose state changed.
    pub computations: Vec<usize>,
}

impl Changed {
    pub fn touches(&self, segment: &SegmentEntry) -> bool {
        let reads = |slot: &usize| self.computations.contains(slot);
        segment.slots.iter().any(reads)
            || segment.computed_reads.iter().any(|(_, slot)| reads(slot))
            || (!self.traits.is_empty()
                && segment
                    .trait_names
                    .iter()
                    .any(|name| self.traits.contains(name)))
    }

    pub fn is_empty(&self) -> bool {
        self.traits.is_empty() && self.computations.is_empty()
    }
}

impl ProfileState {
    /// Applies one event to every computation; `include` says whether a
    /// computation still back-filled by the named definition takes it (only
    /// events after its cut do).
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
        for (index, computation) in definitions.computations.iter().enumerate() {
            let definition = &computation.definition;
            if !definition.matches(event) || !computation.filler.as_deref().is_none_or(&include) {
                continue;
            }
            let state = self.computations.entry(index);
            if state.apply_matched(definition, event, timestamp, now) {
                changed.computations.push(index);
            }
        }
        changed
    }

    /// Folds in the state of a profile merged into this one. Its recorded
    /// segment membership is not carried over: this profile's own is
    /// re-evaluated and recorded afresh.
    ///
    /// Returns the journey passes taken over under a new number (their
    /// timers must be armed again under it): `(journey, entry, due)`.
    pub fn merge(&mut self, other: ProfileState) -> Vec<(String, u32, i64)> {
        self.traits.merge(other.traits);
        self.subscriptions.merge(other.subscriptions);
        self.computations
            .merge_with(other.computations, TraitState::merge);
        self.first_seen = min_some(self.first_seen, other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
        self.events += other.events;
        self.user_id = self.user_id.take().or(other.user_id);
        self.anonymous_id = self.anonymous_id.take().or(other.anonymous_id);
        self.absorbed_key_slots.push(other.key_slot);
        self.absorbed_key_slots.extend(other.absorbed_key_slots);
        // Journeys the survivor has not entered come with the merged
        // profile; where both have, the survivor's pass goes on — or the
        // merged one's, when only it is in progress. Entries count the
        // more of the two, so re-entry rules still hold.
        let mut renumbered = Vec::new();
        for (name, record) in other.journeys.journeys {
            let mine = self.journeys.journeys.entry(name.clone()).or_default();
            if let (None, Some(mut pass)) = (&mine.active, record.active) {
                // Message keys number passes: a number the survivor already
                // used would repeat its keys, and receivers would drop the
                // new messages as repeats.
                if pass.entry <= mine.entries {
                    pass.entry = mine.entries + 1;
                    if let Some(waiting) = pass.waiting {
                        renumbered.push((name, pass.entry, waiting.due));
                    }
                }
                mine.entries = mine.entries.max(pass.entry);
                mine.active = Some(pass);
            }
            mine.entries = mine.entries.max(record.entries);
            mine.last_entered = mine.last_entered.max(record.last_entered);
        }
        self.journeys.sent.extend(other.journeys.sent);
        self.journeys.sent.sort_by_key(|(at, _)| *at);
        self.journey_path.extend(other.journey_path);
        self.journey_path.sort_by_key(|e| e.at);
        let excess = self
            .journey_path
            .len()
            .saturating_sub(crate::journeys::book::PATH_KEPT);
        self.journey_path.drain(..excess);
        renumbered
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
        for (index, computation) in definitions.computations.iter().enumerate() {
            let definition = &computation.definition;
            if definition.window_days.is_none() {
                continue;
            }
            if let Some(state) = self.computations.get_mut(index) {
                state.expire(definition, now);
                keep(state.next_expiry(definition));
            }
        }
        next
    }

    /// The value of the computed trait at `position` at `now`.
    pub fn computed_value_at(&self, definitions: &Definitions, position: usize, now: i64) -> Value {
        self.computation_value(definitions, definitions.computed_slots[position], now)
    }

    /// The value of the computation at `slot` at `now`.
    fn computation_value(&self, definitions: &Definitions, slot: usize, now: i64) -> Value {
        let definition = &definitions.computations[slot].definition;
        self.computations.get(slot).map_or_else(
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
    fn trait_value(&self, name: &str) -> Option<Cow<'_, Value>> {
        // The segment's own reads: a name looked up among all computed
        // traits, and a profile trait's value copied, on every verdict
        // cost the engine more than the rule itself.
        let computed = self.segment.computed_reads.iter().find(|(n, _)| n == name);
        if let Some(&(_, slot)) = computed {
            let value = self
                .state
                .computation_value(self.definitions, slot, self.now);
            return Some(Cow::Owned(value));
        }
        self.state.traits.get(name).map(|t| Cow::Borrowed(&t.value))
    }

    fn implied_value(&self, index: usize) -> Value {
        let slot = self.segment.slots[index];
        self.state
            .computation_value(self.definitions, slot, self.now)
    }
}

#[cfg(test)]
mod tests {
    use percorso_journeys::{Instance, JourneyRecord, WaitKind, Waiting};
    use serde_json::Value;

    use super::*;

    fn record(entries: u32, active: Option<u32>) -> JourneyRecord {
        JourneyRecord {
            entries,
            last_entered: Some(0),
            active: active.map(|entry| Instance {
                version: 1,
                entry,
                step: "wait".into(),
                entered_at: 0,
                control: false,
                moves: 1,
                trigger: Value::Null,
                waiting: Some(Waiting {
                    due: 5_000,
                    kind: WaitKind::Timer,
                }),
            }),
        }
    }

    fn with(journey: JourneyRecord) -> ProfileState {
        let mut state = ProfileState::default();
        state.journeys.journeys.insert("j".into(), journey);
        state
    }

    /// Regression (review): a merged pass in progress was dropped when the
    /// survivor had finished the journey; keeping it under its own number
    /// would repeat the survivor's message keys.
    #[test]
    fn a_merged_pass_in_progress_goes_on_under_a_fresh_number() {
        let mut survivor = with(record(2, None));
        let rearm = survivor.merge(with(record(1, Some(1))));
        let merged = &survivor.journeys.journeys["j"];
        assert_eq!(merged.active.as_ref().map(|p| p.entry), Some(3));
        assert_eq!(merged.entries, 3);
        assert_eq!(rearm, [("j".to_owned(), 3, 5_000)]);

        let mut fresh = ProfileState::default();
        assert!(
            fresh.merge(with(record(1, Some(1)))).is_empty(),
            "no number to avoid"
        );
        assert_eq!(
            fresh.journeys.journeys["j"]
                .active
                .as_ref()
                .map(|p| p.entry),
            Some(1)
        );

        let mut busy = with(record(1, Some(1)));
        busy.merge(with(record(4, Some(4))));
        assert_eq!(
            busy.journeys.journeys["j"].active.as_ref().map(|p| p.entry),
            Some(1),
            "the survivor's pass goes on"
        );
        assert_eq!(busy.journeys.journeys["j"].entries, 4);
    }
}
