//! The deterministic core: records in, derived state updated, actions out.
//! No I/O and no clock — `now` comes with every call.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};

use percorso_collect::prehashed::Prehashed;
use percorso_collect::NormalizedEvent;

use percorso_profiles::{Subscription, TraitValue};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::backfill::backfilling_for;
use crate::buffered::{time_key, BufferedTable, Key};
use crate::checkpoint::{BackfillCursor, StateTables};
use crate::checkpoint_writer::CheckpointWriter;
use crate::definitions::Definitions;
use crate::derived::{membership_event, ENGINE_SOURCE};
use crate::input::Record;
use crate::journeys::apply::membership_as_event;
use crate::journeys::book::JourneyBook;
use crate::profile::Changed;
use crate::profile_table::ProfileTable;
use crate::sealed_rows::{open_row, seal_row, shred};
use crate::segments::{MembershipChange, SegmentMembers};

/// What the engine wants done outside itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Append this derived event (a Segment message, normalized) to the
    /// log, on `profile`.
    Emit {
        profile: String,
        event: NormalizedEvent,
    },
}

/// One entry of a profile's merge audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeRecord {
    /// The profile that was merged in (its id now leads here).
    pub merged_profile: String,
    /// The identifiers it brought.
    pub identifiers: Vec<String>,
    /// The event whose identifiers joined the two.
    pub message_id: String,
    pub source_id: String,
    /// Event time of that event.
    pub at: i64,
}

/// A profile as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileView {
    pub profile_id: String,
    pub traits: Map<String, Value>,
    pub trait_sources: Vec<(String, TraitValue)>,
    pub computed_traits: Map<String, Value>,
    pub subscriptions: Vec<(String, Subscription)>,
    pub segments: Vec<String>,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    pub events: u64,
}

/// Every profile's derived state.
#[derive(Debug, Default)]
pub struct ProfileBook {
    pub(crate) definitions: Definitions,
    pub(crate) profiles: ProfileTable,
    /// Merged-away profile → the profile it went into.
    pub(crate) forwarded: BufferedTable,
    /// Hashes of the ids in `forwarded`: most records name a live profile,
    /// and this answers "not forwarded" without reading the store.
    pub(crate) forwarded_ids: HashSet<u64, Prehashed>,
    pub(crate) members: SegmentMembers,
    /// Surviving profile → its merge audit trail (including that of the
    /// profiles merged into it).
    pub(crate) merges: BufferedTable,
    /// `due ‖ profile` of every armed window timer.
    pub(crate) timers: BufferedTable,
    /// No timer is due before this (`None`: not known, look). Checked
    /// before every look at the timers table, which costs a store scan.
    pub(crate) timers_floor: Option<i64>,
    /// Definitions being back-filled → per partition, the first offset
    /// applied live (earlier records come from the back-fill).
    pub(crate) cuts: HashMap<String, Vec<u64>>,
    /// False while replaying the log at start: membership is evaluated
    /// once, at the end, against what the log recorded.
    pub(crate) live: bool,
    /// Membership changes recorded since the runner last took them (live
    /// only), for subscribers such as journeys.
    pub(crate) recent: Vec<(String, MembershipChange)>,
    /// Per partition, the offset after the last record applied.
    pub(crate) applied: Vec<u64>,
    /// Whether every profile has been judged since the state was last
    /// built from the whole log; if so, going live judges only `touched`.
    pub(crate) settled: bool,
    /// Profiles the start-up replay changed (kept only when `settled`).
    pub(crate) touched: BTreeSet<String>,
    pub(crate) tables: Option<StateTables>,
    pub(crate) writer: Option<CheckpointWriter>,
    /// The running back-fills' positions, written with each checkpoint.
    pub(crate) backfills: Vec<BackfillCursor>,
    /// Journeys: their catalog in log order, timers, outbox, counters.
    pub(crate) journeys: JourneyBook,
}

impl ProfileBook {
    /// A book in memory (nothing stored, nothing dropped).
    pub fn new(definitions: Definitions) -> Self {
        Self {
            definitions,
            ..Self::default()
        }
    }

    pub fn definitions(&self) -> &Definitions {
        &self.definitions
    }

    /// The live profile an id stands for (following merges).
    pub fn canonical<'a>(&self, id: &'a str) -> Cow<'a, str> {
        let mut current = Cow::Borrowed(id);
        while self.forwarded_ids.contains(&id_hash(current.as_bytes())) {
            let Some(next) = self.forwarded.get(current.as_bytes()) else {
                break; // a hash shared with a forwarded id
            };
            match String::from_utf8(next) {
                Ok(next) => current = Cow::Owned(next),
                Err(_) => break,
            }
        }
        current
    }

    /// Applies one record of the log.
    pub fn apply(&mut self, record: &Record, now: i64) -> Vec<Action> {
        if record.profile.is_empty() {
            return Vec::new(); // no usable identifier: belongs to nobody
        }
        let partition = usize::from(record.location.partition);
        if self.applied.len() <= partition {
            self.applied.resize(partition + 1, 0);
        }
        self.applied[partition] = self.applied[partition].max(record.location.offset + 1);
        for merge in &record.stamp.merged {
            let audit = MergeRecord {
                merged_profile: merge.from.0.to_string(),
                identifiers: merge.identifiers.iter().map(ToString::to_string).collect(),
                message_id: record.message_id().to_owned(),
                source_id: record.source_id.to_string(),
                at: record.timestamp,
            };
            self.merge(&merge.from.0, &merge.into.0, audit);
        }
        let profile = self.canonical(&record.profile);
        if self.settled && !self.live {
            self.touched.insert(profile.to_string());
        }
        if let Some(change) = &record.stated {
            // The engine's own statement read back: it records membership
            // and is not a customer interaction (no trait, count or
            // last-seen time moves). Changes of a deleted segment, or of
            // an earlier segment of the same name, belong to nothing live.
            let current = self
                .definitions
                .segment_at(&change.segment)
                .filter(|(_, s)| change.generation.is_none_or(|g| g == s.generation));
            if let Some((position, _)) = current {
                let (entered, at) = (change.entered, record.timestamp);
                self.record_membership(&profile, position, &change.segment, entered, at);
                if !self.journeys.catalogs.is_empty() {
                    let event = membership_as_event(&change.segment, entered, at);
                    self.journeys_on_event(&profile, record, &event);
                }
            }
            return Vec::new();
        }
        if let Some(input) = &record.journey {
            // The engine's journey records are not interactions either;
            // one about a person since erased brings nothing back.
            if self.profiles.holds(&profile, &self.definitions) {
                self.journeys_on_input(&profile, record, input);
            }
            return Vec::new();
        }
        let cuts = &self.cuts;
        let include = |filler: &str| {
            cuts.get(filler).is_none_or(|cut| {
                let partition = usize::from(record.location.partition);
                cut.get(partition)
                    .is_none_or(|&c| record.location.offset >= c)
            })
        };
        let state = self.profiles.get_or_create(&profile, &self.definitions);
        let changed = state.apply(record, &self.definitions, include, now);
        let merged = !record.stamp.merged.is_empty();
        // Nothing a verdict or a window depends on changed: no settling.
        let actions = if changed.is_empty() && !merged {
            Vec::new()
        } else {
            // A merge can change anything; otherwise only the touched segments.
            let only = (!merged).then_some(&changed);
            self.settle_some(&profile, now, only)
        };
        if !self.journeys.catalogs.is_empty() {
            if record.source_id == ENGINE_SOURCE {
                self.journey_event_recorded(record.message_id());
            }
            let event = record.event.to_value();
            self.journeys_on_event(&profile, record, &event);
        }
        actions
    }

    /// A change read back from the log becomes the recorded membership.
    fn record_membership(
        &mut self,
        profile: &str,
        position: usize,
        segment: &str,
        entered: bool,
        at: i64,
    ) {
        let Some(state) = self.profiles.get_mut(profile, &self.definitions) else {
            return;
        };
        let membership = state.membership.entry(position);
        if membership.member == entered && membership.transitions > 0 {
            return; // a restatement already recorded
        }
        let was_member = membership.member;
        membership.member = entered;
        membership.since = at;
        membership.transitions += 1;
        if membership.pending == Some(entered) {
            membership.pending = None;
        }
        let change = MembershipChange {
            profile_id: profile.to_owned(),
            entered,
            at,
        };
        if self.live {
            self.recent.push((segment.to_owned(), change.clone()));
        }
        self.members.record(segment, change, was_member);
    }

    fn merge(&mut self, from: &str, into: &str, audit: MergeRecord) {
        if from == into || self.forwarded.get(from.as_bytes()).is_some() {
            return;
        }
        self.forwarded
            .put(Key::from_slice(from.as_bytes()), into.as_bytes().to_vec());
        self.forwarded_ids.insert(id_hash(from.as_bytes()));
        let survivor = self.canonical(into).into_owned();
        let mut trail = self.merge_trail(from);
        trail.push(audit);
        let mut merged = self.merge_trail(&survivor);
        merged.extend(trail);
        merged.sort_by(|a, b| (a.at, &a.message_id).cmp(&(b.at, &b.message_id)));
        self.members.forget(from);
        let state = self.profiles.remove(from, &self.definitions);
        let into = self.profiles.get_or_create(&survivor, &self.definitions);
        let renumbered = state.map(|state| into.merge(state)).unwrap_or_default();
        // The trail names identifiers: sealed with the survivor's key.
        let slot = into.key_slot;
        let encoded = rmp_serde::to_vec(&merged).unwrap_or_default();
        match seal_row(self.profiles.sealer(), slot, encoded) {
            Ok(row) => {
                self.merges.delete(from.as_bytes());
                self.merges.put(Key::from_slice(survivor.as_bytes()), row);
            }
            // The merged profile keeps its own trail meanwhile.
            Err(e) => tracing::error!(profile = survivor, error = %e, "merge trail not kept"),
        }
        for (journey, entry, due) in renumbered {
            self.journeys.arm(&survivor, &journey, entry, due, due);
        }
    }

    /// The merge audit trail kept for a live profile.
    pub(crate) fn merge_trail(&self, profile: &str) -> Vec<MergeRecord> {
        let sealer = self.profiles.sealer();
        self.merges
            .get(profile.as_bytes())
            .and_then(|row| open_row(sealer, &row).ok().flatten())
            .and_then(|bytes| rmp_serde::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Forgets everything derived about erased profiles (a privacy
    /// request): state, timers, merge trail, membership and its history.
    /// Nothing is emitted — the person no longer exists to leave a segment.
    /// `profiles` holds the live id and every id merged into it.
    pub fn erase(&mut self, profiles: &[String]) {
        // A checkpoint in flight may still seal the person's state: were
        // their slots shredded first, sealing would key them again.
        self.finish_checkpoint();
        self.journeys.erase(profiles);
        let mut key_slots = Vec::new();
        for profile in profiles {
            if let Some(state) = self.profiles.remove(profile, &self.definitions) {
                if let Some(due) = state.timer {
                    self.timers.delete(&timer_key(due, profile));
                }
                key_slots.extend(state.key_slots());
            }
            self.merges.delete(profile.as_bytes());
            self.forwarded.delete(profile.as_bytes());
            self.touched.remove(profile);
        }
        self.members.erase(profiles);
        self.recent
            .retain(|(_, change)| !profiles.contains(&change.profile_id));
        // Whatever of theirs the store still holds (older versions of the
        // rows deleted here) is unreadable from now on.
        if let Err(e) = shred(self.profiles.sealer(), &key_slots) {
            tracing::error!(error = %e, "erased profiles' keys not shredded");
        }
    }

    /// Erases those of `profiles` the book still holds anything of.
    pub fn erase_leftovers(&mut self, profiles: &[String]) {
        // Read once: the outbox and dead letters are scanned, not looked up.
        let in_journeys = self.journeys.profiles_held();
        let held: Vec<String> = profiles
            .iter()
            .filter(|id| {
                self.profiles.holds(id, &self.definitions)
                    || self.forwarded.get(id.as_bytes()).is_some()
                    || self.merges.get(id.as_bytes()).is_some()
                    || in_journeys.contains(id.as_str())
            })
            .cloned()
            .collect();
        if !held.is_empty() {
            self.erase(&held);
        }
    }

    /// Re-arms the profile's window timer and, once live, states every
    /// membership that differs from what the log recorded.
    pub(crate) fn settle(&mut self, profile: &str, now: i64) -> Vec<Action> {
        self.settle_some(profile, now, None)
    }

    /// [`ProfileBook::settle`], re-judging only the segments `only` touches
    /// (all when `None`).
    fn settle_some(&mut self, profile: &str, now: i64, only: Option<&Changed>) -> Vec<Action> {
        let Some(state) = self.profiles.get_mut(profile, &self.definitions) else {
            return Vec::new();
        };
        let due = state.expire(&self.definitions, now);
        // Most events leave the due time as it was: no timer to move.
        if state.timer != due {
            if let Some(old) = state.timer {
                self.timers.delete(&timer_key(old, profile));
            }
            if let Some(due) = due {
                self.timers.put(timer_key(due, profile), Vec::new());
                self.timers_floor = self.timers_floor.map(|floor| floor.min(due));
            }
            state.timer = due;
        }
        if !self.live {
            return Vec::new();
        }
        self.evaluate(profile, now, only)
    }

    fn evaluate(&mut self, profile: &str, now: i64, only: Option<&Changed>) -> Vec<Action> {
        let Some(state) = self.profiles.get_mut(profile, &self.definitions) else {
            return Vec::new();
        };
        let mut actions = Vec::new();
        for (index, segment) in self.definitions.segments.iter().enumerate() {
            if only.is_some_and(|changed| !changed.touches(segment)) {
                continue;
            }
            if backfilling_for(&self.cuts, segment) {
                continue; // still back-filling: no verdict yet
            }
            let qualifies = state.qualifies(&self.definitions, segment, now);
            let membership = state.membership_at(index);
            let expected = membership.pending.unwrap_or(membership.member);
            if qualifies == expected {
                continue;
            }
            let event = membership_event(
                profile,
                state,
                segment,
                qualifies,
                membership.transitions + 1,
                now,
            );
            state.membership.entry(index).pending = Some(qualifies);
            actions.push(Action::Emit {
                profile: profile.to_owned(),
                event,
            });
        }
        actions
    }

    /// Membership changes recorded since the last call.
    pub fn take_recent(&mut self) -> Vec<(String, MembershipChange)> {
        std::mem::take(&mut self.recent)
    }
}

/// The hash `forwarded_ids` holds of an id.
pub(crate) fn id_hash(id: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id)
}

/// The timers table's key: due time, then profile.
pub(crate) fn timer_key(due: i64, profile: &str) -> Key {
    let mut key = Key::from_slice(&time_key(due));
    key.extend_from_slice(profile.as_bytes());
    key
}
