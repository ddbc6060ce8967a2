//! The deterministic core: records in, derived state updated, actions out.
//! No I/O and no clock — `now` comes with every call.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

use percorso_profiles::{Subscription, TraitValue};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::backfill::backfilling_for;
use crate::definitions::Definitions;
use crate::derived::{as_membership_change, membership_event};
use crate::input::Record;
use crate::profile::{Changed, ProfileState};
use crate::segments::{MembershipChange, SegmentMembers};

/// What the engine wants done outside itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Append this derived event (a Segment message as JSON text) to the
    /// log, on `profile`.
    Emit { profile: String, event: String },
}

/// One entry of a profile's merge audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    pub(crate) profiles: HashMap<String, ProfileState>,
    /// Merged-away profile → the profile it went into.
    forwarded: HashMap<String, String>,
    pub(crate) members: SegmentMembers,
    /// Surviving profile → its merge audit trail (including that of the
    /// profiles merged into it).
    merges: HashMap<String, Vec<MergeRecord>>,
    timers: BTreeSet<(i64, String)>,
    timer_of: HashMap<String, i64>,
    /// Definitions being back-filled → per partition, the first offset
    /// applied live (earlier records come from the back-fill).
    pub(crate) cuts: HashMap<String, Vec<u64>>,
    /// False while replaying the log at start: membership is evaluated
    /// once, at the end, against what the log recorded.
    live: bool,
    /// Membership changes recorded since the runner last took them (live
    /// only), for subscribers such as journeys.
    pub(crate) recent: Vec<(String, MembershipChange)>,
}

impl ProfileBook {
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
    pub fn canonical<'a>(&'a self, id: &'a str) -> &'a str {
        let mut current = id;
        while let Some(next) = self.forwarded.get(current) {
            current = next;
        }
        current
    }

    /// Applies one record of the log.
    pub fn apply(&mut self, record: &Record, now: i64) -> Vec<Action> {
        if record.profile.is_empty() {
            return Vec::new(); // no usable identifier: belongs to nobody
        }
        for merge in &record.stamp.merged {
            let audit = MergeRecord {
                merged_profile: merge.from.0.clone(),
                identifiers: merge.identifiers.iter().map(ToString::to_string).collect(),
                message_id: record.message_id().to_owned(),
                source_id: record.source_id.clone(),
                at: record.timestamp,
            };
            self.merge(&merge.from.0, &merge.into.0, audit);
        }
        // Most records name a live profile: no copy of the id then.
        let profile: Cow<'_, str> = if self.forwarded.contains_key(&record.profile) {
            Cow::Owned(self.canonical(&record.profile).to_owned())
        } else {
            Cow::Borrowed(&record.profile)
        };
        if let Some(change) = as_membership_change(record) {
            // The engine's own statement read back: it records membership
            // and is not a customer interaction (no trait, count or
            // last-seen time moves). Changes of a deleted segment, or of
            // an earlier segment of the same name, belong to nothing live.
            let current = self
                .definitions
                .segment_at(change.segment)
                .filter(|(_, s)| change.generation.is_none_or(|g| g == s.generation));
            if let Some((position, _)) = current {
                let (entered, at) = (change.entered, record.timestamp);
                self.record_membership(&profile, position, change.segment, entered, at);
            }
            return Vec::new();
        }
        let cuts = &self.cuts;
        let include = |name: &str| {
            cuts.get(name).is_none_or(|cut| {
                let partition = usize::from(record.location.partition);
                cut.get(partition)
                    .is_none_or(|&c| record.location.offset >= c)
            })
        };
        if !self.profiles.contains_key(&*profile) {
            self.profiles
                .insert(profile.to_string(), ProfileState::default());
        }
        let Some(state) = self.profiles.get_mut(&*profile) else {
            return Vec::new();
        };
        let changed = state.apply(record, &self.definitions, include, now);
        let merged = !record.stamp.merged.is_empty();
        if changed.is_empty() && !merged {
            return Vec::new(); // nothing a verdict or a window depends on
        }
        // A merge can change anything; otherwise only the touched segments.
        let only = (!merged).then_some(&changed);
        self.settle_some(&profile, now, only)
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
        let Some(state) = self.profiles.get_mut(profile) else {
            return;
        };
        let membership = state.membership.entry(position);
        if membership.member == entered && membership.transitions > 0 {
            return; // a restatement already recorded
        }
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
        self.members.record(segment, change);
    }

    fn merge(&mut self, from: &str, into: &str, audit: MergeRecord) {
        if from == into || self.forwarded.contains_key(from) {
            return;
        }
        self.forwarded.insert(from.to_owned(), into.to_owned());
        let survivor = self.canonical(into).to_owned();
        let mut trail = self.merges.remove(from).unwrap_or_default();
        trail.push(audit);
        let merged = self.merges.entry(survivor.clone()).or_default();
        merged.extend(trail);
        merged.sort_by(|a, b| (a.at, &a.message_id).cmp(&(b.at, &b.message_id)));
        self.members.forget(from);
        self.timer_of.remove(from);
        if let Some(state) = self.profiles.remove(from) {
            self.profiles.entry(survivor).or_default().merge(state);
        }
    }

    /// Forgets everything derived about erased profiles (a privacy
    /// request): state, timers, merge trail, membership and its history.
    /// Nothing is emitted — the person no longer exists to leave a segment.
    pub fn erase(&mut self, profiles: &[String]) {
        for profile in profiles {
            self.profiles.remove(profile);
            self.merges.remove(profile);
            if let Some(due) = self.timer_of.remove(profile) {
                self.timers.remove(&(due, profile.clone()));
            }
        }
        self.forwarded
            .retain(|from, into| !profiles.contains(from) && !profiles.contains(into));
        self.members.erase(profiles);
        self.recent
            .retain(|(_, change)| !profiles.contains(&change.profile_id));
    }

    /// Re-arms the profile's window timer and, once live, states every
    /// membership that differs from what the log recorded.
    pub(crate) fn settle(&mut self, profile: &str, now: i64) -> Vec<Action> {
        self.settle_some(profile, now, None)
    }

    /// [`ProfileBook::settle`], re-judging only the segments `only` touches
    /// (all when `None`).
    fn settle_some(&mut self, profile: &str, now: i64, only: Option<&Changed>) -> Vec<Action> {
        let Some(state) = self.profiles.get_mut(profile) else {
            return Vec::new();
        };
        let due = state.expire(&self.definitions, now);
        // Most events leave the due time as it was: no timer to move.
        if self.timer_of.get(profile).copied() != due {
            if let Some(old) = self.timer_of.remove(profile) {
                self.timers.remove(&(old, profile.to_owned()));
            }
            if let Some(due) = due {
                self.timers.insert((due, profile.to_owned()));
                self.timer_of.insert(profile.to_owned(), due);
            }
        }
        if !self.live {
            return Vec::new();
        }
        self.evaluate(profile, now, only)
    }

    fn evaluate(&mut self, profile: &str, now: i64, only: Option<&Changed>) -> Vec<Action> {
        let Some(state) = self.profiles.get_mut(profile) else {
            return Vec::new();
        };
        let mut actions = Vec::new();
        for (index, segment) in self.definitions.segments.iter().enumerate() {
            if only.is_some_and(|changed| !changed.touches(index, segment)) {
                continue;
            }
            if backfilling_for(&self.cuts, segment) {
                continue; // still back-filling: no verdict yet
            }
            let qualifies = state.qualifies(&self.definitions, index, segment, now);
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

    /// After the start-up replay: evaluates everyone once and goes live.
    pub fn go_live(&mut self, now: i64) -> Vec<Action> {
        self.live = true;
        self.settle_everyone(now)
    }

    /// Settles every profile, in id order so the actions come out the same
    /// way each time.
    pub(crate) fn settle_everyone(&mut self, now: i64) -> Vec<Action> {
        let mut ids: Vec<String> = self.profiles.keys().cloned().collect();
        ids.sort();
        ids.iter().flat_map(|id| self.settle(id, now)).collect()
    }

    /// Membership changes recorded since the last call.
    pub fn take_recent(&mut self) -> Vec<(String, MembershipChange)> {
        std::mem::take(&mut self.recent)
    }

    /// When the next window timer is due.
    pub fn next_timer(&self) -> Option<i64> {
        self.timers.first().map(|(due, _)| *due)
    }

    /// Fires every timer due by `now`: windows slide, memberships follow.
    pub fn fire_timers(&mut self, now: i64) -> Vec<Action> {
        let mut actions = Vec::new();
        while let Some((due, profile)) = self.timers.first().cloned() {
            if due > now {
                break;
            }
            self.timers.remove(&(due, profile.clone()));
            self.timer_of.remove(&profile);
            actions.extend(self.settle(&profile, now));
        }
        actions
    }

    /// A profile as of `now`, by any id it has had.
    pub fn view(&self, id: &str, now: i64) -> Option<ProfileView> {
        let profile_id = self.canonical(id);
        let state = self.profiles.get(profile_id)?;
        let computed_traits = self
            .definitions
            .computed
            .iter()
            .enumerate()
            .map(|(i, d)| {
                (
                    d.name.clone(),
                    state.computed_value_at(&self.definitions, i, now),
                )
            })
            .collect();
        let mut segments: Vec<String> = state
            .membership
            .iter()
            .filter(|(_, m)| m.member)
            .filter_map(|(i, _)| Some(self.definitions.segments.get(i)?.name.clone()))
            .collect();
        segments.sort();
        Some(ProfileView {
            profile_id: profile_id.to_owned(),
            traits: state.traits.values(),
            trait_sources: state
                .traits
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            computed_traits,
            subscriptions: state
                .subscriptions
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            segments,
            first_seen: state.first_seen,
            last_seen: state.last_seen,
            events: state.events,
        })
    }

    /// The merge audit trail of a profile, oldest first.
    pub fn merges(&self, id: &str) -> &[MergeRecord] {
        self.merges
            .get(self.canonical(id))
            .map_or(&[], Vec::as_slice)
    }

    /// Recorded membership of a profile: `(segment, member, since)`.
    pub fn memberships(&self, id: &str) -> Vec<(String, bool, i64)> {
        self.profiles
            .get(self.canonical(id))
            .map(|state| {
                let mut recorded: Vec<(String, bool, i64)> = state
                    .membership
                    .iter()
                    .filter(|(_, m)| m.transitions > 0)
                    .filter_map(|(i, m)| {
                        let name = self.definitions.segments.get(i)?.name.clone();
                        Some((name, m.member, m.since))
                    })
                    .collect();
                recorded.sort();
                recorded
            })
            .unwrap_or_default()
    }

    pub fn members(&self) -> &SegmentMembers {
        &self.members
    }

    pub fn profile_count(&self) -> usize {
        self.profiles.len()
    }

    /// Every profile's state, for comparing a rebuild with the live book.
    pub fn states(&self) -> &HashMap<String, ProfileState> {
        &self.profiles
    }
}
