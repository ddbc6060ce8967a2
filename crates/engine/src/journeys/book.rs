//! The engine's journey state beside the profiles: the catalogs in log
//! order, armed timers, the outbox, dead letters and the counters.
//!
//! The outbox holds every effect decided and not yet known done: a
//! message to deliver until `Message Sent` (or `Message Failed`) is read
//! back, an event to append until the log holds it. It is derived state
//! like the rest: written with the checkpoint that holds the decision,
//! and rebuilt by replaying the log after it, so an effect whose
//! completion never reached the log is done again — with the same key.

use std::collections::{BTreeMap, HashMap};

use percorso_journeys::{ContactPolicy, Message, PathEntry, PathEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ledger::Catalogs;
use crate::buffered::{time_key, BufferedTable, Key};

/// An effect decided by a journey and not yet known done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    pub key: String,
    pub profile: String,
    /// The ids events about the profile are addressed with.
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub effect: Effect,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Effect {
    /// A message for the channels executor.
    Deliver(Message),
    /// A track event to append (an `emit` step).
    Track {
        event: String,
        properties: Value,
        at: i64,
    },
    /// An identify to append (an `update_profile` step).
    Identify { traits: Value, at: i64 },
}

/// A message given up on, kept to inspect and send again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub item: OutboxItem,
    pub reason: String,
    pub attempts: u32,
}

/// Per journey and step: how many customers did what.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepCounts {
    pub entered: u64,
    pub waiting: i64,
    pub exited: u64,
    pub converted: u64,
    /// Messages decided (the receiver may not have them yet).
    pub sent: u64,
    /// Messages the receiver accepted (`Message Sent` recorded).
    pub delivered: u64,
    /// Messages given up on after the last attempt.
    pub dead_lettered: u64,
    /// Messages that could not be made (a template failed).
    pub failed: u64,
    pub suppressed: u64,
    pub held_out: u64,
}

impl StepCounts {
    /// Adds another step's counts (a journey's totals).
    pub fn add(&mut self, other: &StepCounts) {
        let StepCounts {
            entered,
            waiting,
            exited,
            converted,
            sent,
            delivered,
            dead_lettered,
            failed,
            suppressed,
            held_out,
        } = other;
        self.entered += entered;
        self.waiting += waiting;
        self.exited += exited;
        self.converted += converted;
        self.sent += sent;
        self.delivered += delivered;
        self.dead_lettered += dead_lettered;
        self.failed += failed;
        self.suppressed += suppressed;
        self.held_out += held_out;
    }
}

/// `journey → step (or "" for the journey itself) → counts`.
pub type JourneyStats = BTreeMap<String, BTreeMap<String, StepCounts>>;

#[derive(Debug, Default)]
pub struct JourneyBook {
    pub catalogs: Catalogs,
    pub policy: ContactPolicy,
    /// `fire at ‖ profile ‖ 0 ‖ journey ‖ 0 ‖ entry` → due (the wait's own
    /// time, which a held timer fires later than).
    pub timers: BufferedTable,
    /// No timer fires before this (`None`: look).
    pub timers_floor: Option<i64>,
    /// Timers stated as fired and not yet read back, with when.
    pub stated_timers: HashMap<Key, i64>,
    /// When stated timers were last looked over for lost statements.
    pub last_restate_check: i64,
    /// Every timer row before this key is stated (`None`: scan from the
    /// start). Spares each tick a walk over the rows still being read back.
    pub scan_from: Option<Key>,
    /// Effect key → `OutboxItem` (MessagePack).
    pub outbox: BufferedTable,
    /// Message key → `DeadLetter` (MessagePack).
    pub dead_letters: BufferedTable,
    /// Effects decided live since the runner last took them.
    pub fresh: Vec<OutboxItem>,
    /// Per schedule-triggered journey, when its occurrences were last
    /// looked for (kept by checkpoints).
    pub schedule_swept: BTreeMap<String, i64>,
    pub stats: JourneyStats,
}

/// Path entries a profile keeps (its most recent).
pub const PATH_KEPT: usize = 200;

impl JourneyBook {
    pub fn timer_key(fire_at: i64, profile: &str, journey: &str, entry: u32) -> Key {
        let mut key = Key::from_slice(&time_key(fire_at));
        key.extend_from_slice(profile.as_bytes());
        key.push(0);
        key.extend_from_slice(journey.as_bytes());
        key.push(0);
        key.extend_from_slice(&entry.to_be_bytes());
        key
    }

    /// `(profile, journey, entry)` of a timer key.
    pub fn timer_parts(key: &[u8]) -> Option<(String, String, u32)> {
        let rest = key.get(8..)?;
        let (rest, entry) = rest.split_at(rest.len().checked_sub(4)?);
        let rest = rest.strip_suffix(&[0])?;
        let split = rest.iter().position(|&b| b == 0)?;
        let profile = std::str::from_utf8(&rest[..split]).ok()?;
        let journey = std::str::from_utf8(&rest[split + 1..]).ok()?;
        Some((
            profile.to_owned(),
            journey.to_owned(),
            u32::from_be_bytes(entry.try_into().ok()?),
        ))
    }

    pub fn arm(&mut self, profile: &str, journey: &str, entry: u32, fire_at: i64, due: i64) {
        let key = Self::timer_key(fire_at, profile, journey, entry);
        if self.scan_from.as_ref().is_some_and(|from| key < *from) {
            self.scan_from = None; // armed in the stated past: look again
        }
        self.timers.put(key, due.to_be_bytes().to_vec());
        self.timers_floor = self.timers_floor.map(|floor| floor.min(fire_at));
    }

    pub fn disarm(&mut self, profile: &str, journey: &str, entry: u32, fire_at: i64) {
        let key = Self::timer_key(fire_at, profile, journey, entry);
        self.stated_timers.remove(&key);
        self.timers.delete(&key);
    }

    pub fn put_outbox(&mut self, item: OutboxItem, live: bool) {
        let bytes = rmp_serde::to_vec_named(&item).unwrap_or_default();
        self.outbox.put(Key::from_slice(item.key.as_bytes()), bytes);
        if live {
            self.fresh.push(item);
        }
    }

    pub fn outbox_item(&self, key: &str) -> Option<OutboxItem> {
        decode(&self.outbox.get(key.as_bytes())?)
    }

    pub fn dead_letter(&self, key: &str) -> Option<DeadLetter> {
        decode(&self.dead_letters.get(key.as_bytes())?)
    }

    pub fn put_dead_letter(&mut self, letter: &DeadLetter) {
        let bytes = rmp_serde::to_vec_named(letter).unwrap_or_default();
        self.dead_letters
            .put(Key::from_slice(letter.item.key.as_bytes()), bytes);
    }

    /// Every item in the outbox, in key order.
    pub fn all_outbox(&self) -> Vec<OutboxItem> {
        scan_all(&self.outbox)
            .into_iter()
            .filter_map(|(_, v)| decode(&v))
            .collect()
    }

    /// The profiles an outbox item or dead letter is about.
    pub fn profiles_held(&self) -> std::collections::HashSet<String> {
        let outbox = self.all_outbox().into_iter().map(|i| i.profile);
        let letters = self.all_dead_letters().into_iter().map(|l| l.item.profile);
        outbox.chain(letters).collect()
    }

    /// Forgets everything journeys hold of erased people: timers, outbox
    /// items (rendered messages hold their address), dead letters, and
    /// effects not yet carried out.
    pub fn erase(&mut self, profiles: &[String]) {
        let erased = |profile: &str| profiles.iter().any(|p| p == profile);
        for (key, _) in scan_all(&self.timers) {
            if Self::timer_parts(&key).is_some_and(|(p, _, _)| erased(&p)) {
                self.stated_timers.remove(key.as_slice());
                self.timers.delete(&key);
            }
        }
        for item in self.all_outbox().into_iter().filter(|i| erased(&i.profile)) {
            self.outbox.delete(item.key.as_bytes());
        }
        for letter in self
            .all_dead_letters()
            .into_iter()
            .filter(|l| erased(&l.item.profile))
        {
            self.dead_letters.delete(letter.item.key.as_bytes());
        }
        self.fresh.retain(|item| !erased(&item.profile));
    }

    pub fn all_dead_letters(&self) -> Vec<DeadLetter> {
        scan_all(&self.dead_letters)
            .into_iter()
            .filter_map(|(_, v)| decode(&v))
            .collect()
    }

    pub fn step_counts(&mut self, journey: &str, step: &str) -> &mut StepCounts {
        self.stats
            .entry(journey.to_owned())
            .or_default()
            .entry(step.to_owned())
            .or_default()
    }

    /// Counts a path entry.
    pub fn count(&mut self, entry: &PathEntry) {
        let step = entry.step.clone().unwrap_or_default();
        let counts = self.step_counts(&entry.journey, &step);
        match &entry.what {
            PathEvent::Entered { control } => {
                counts.entered += 1;
                counts.held_out += u64::from(*control);
            }
            PathEvent::Waiting { .. } => counts.waiting += 1,
            PathEvent::Sent { .. } => counts.sent += 1,
            PathEvent::Suppressed { reason, .. } => {
                if *reason == percorso_journeys::Suppression::HeldOut {
                    counts.held_out += 1;
                } else {
                    counts.suppressed += 1;
                }
            }
            PathEvent::Failed { .. } => counts.failed += 1,
            PathEvent::Exited { reason } => {
                counts.exited += 1;
                counts.converted += u64::from(*reason == percorso_journeys::ExitReason::Converted);
            }
            PathEvent::Took { .. } | PathEvent::Held | PathEvent::Migrated { .. } => {}
        }
    }

    /// A customer left the wait at `step` of `journey`.
    pub fn left_wait(&mut self, journey: &str, step: &str) {
        if let Some(counts) = self.stats.get_mut(journey).and_then(|s| s.get_mut(step)) {
            counts.waiting -= 1;
        }
    }
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    rmp_serde::from_slice(bytes)
        .map_err(|e| tracing::error!(error = %e, "a journey row does not decode"))
        .ok()
}

fn scan_all(table: &BufferedTable) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut rows = Vec::new();
    let mut start = Vec::new();
    loop {
        let page = table.scan(b"", &start, 1024);
        let full = page.len() == 1024;
        if let Some((last, _)) = page.last() {
            start = last.clone();
            start.push(0);
        }
        rows.extend(page);
        if !full {
            return rows;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_keys_sort_by_time_and_give_back_their_parts() {
        let a = JourneyBook::timer_key(1_000, "prof_1", "cart", 2);
        let b = JourneyBook::timer_key(2_000, "prof_0", "a", 1);
        assert!(a < b);
        assert_eq!(
            JourneyBook::timer_parts(&a),
            Some(("prof_1".into(), "cart".into(), 2))
        );
    }
}
