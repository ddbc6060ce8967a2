//! Journey timers coming due: each is stated as a `Journey Timer Fired`
//! record on its profile, and the customer moves when that record is read
//! back (in log order with their events). A timer stays armed until then,
//! so one whose record was lost in a crash is stated again at the next
//! start — under the same `messageId`, which the log deduplicates.

use serde_json::json;

use super::book::JourneyBook;
use super::records::{stated_track, Addressee, TIMER_FIRED};
use crate::book::{Action, ProfileBook};
use crate::buffered::time_of_key;

/// Timers read per scan of the table.
const PAGE: usize = 512;
/// Timers stated per tick at most: a crowd coming due at once is stated
/// over several ticks, with records and other inputs served in between.
const MAX_PER_TICK: usize = 10_000;
/// A stated timer not read back within this long is stated again (its
/// append failed): the same `messageId`, so a late original is dropped.
const RESTATE_AFTER: i64 = 120_000;

impl ProfileBook {
    /// Forgets statements not read back in time, at most every 10 s, so
    /// the next scan states them again.
    fn restate_lost_timers(&mut self, now: i64) {
        let journeys = &mut self.journeys;
        if now - journeys.last_restate_check < 10_000 || journeys.stated_timers.is_empty() {
            return;
        }
        journeys.last_restate_check = now;
        let before = journeys.stated_timers.len();
        journeys
            .stated_timers
            .retain(|_, at| now - *at < RESTATE_AFTER);
        if journeys.stated_timers.len() < before {
            tracing::warn!(
                lost = before - journeys.stated_timers.len(),
                "timer statements not read back: stating them again"
            );
            journeys.scan_from = None;
            journeys.timers_floor = None;
        }
    }

    /// States every journey timer due by `now` that is not stated yet.
    pub fn fire_journey_timers(&mut self, now: i64) -> Vec<Action> {
        let mut actions = Vec::new();
        if !self.live {
            return actions;
        }
        self.restate_lost_timers(now);
        if self.journeys.timers_floor.is_some_and(|floor| floor > now) {
            return actions;
        }
        let mut start = self
            .journeys
            .scan_from
            .clone()
            .map(|k| k.to_vec())
            .unwrap_or_default();
        let mut floor = i64::MAX;
        'pages: loop {
            let page = self.journeys.timers.scan(b"", &start, PAGE);
            for (key, value) in &page {
                if actions.len() >= MAX_PER_TICK {
                    floor = i64::MIN; // more are due: the next tick goes on
                    break 'pages;
                }
                let fire_at = time_of_key(key).unwrap_or(i64::MIN);
                if fire_at > now {
                    floor = fire_at;
                    break 'pages;
                }
                if self.journeys.stated_timers.contains_key(key.as_slice()) {
                    continue;
                }
                let Some((key_profile, journey, entry)) = JourneyBook::timer_parts(key) else {
                    continue;
                };
                let due = value
                    .as_slice()
                    .try_into()
                    .map(i64::from_be_bytes)
                    .unwrap_or(fire_at);
                let profile = self.canonical(&key_profile).into_owned();
                let (user, anonymous) = self
                    .profiles
                    .get(&profile, &self.definitions)
                    .map(|s| (s.user_id.clone(), s.anonymous_id.clone()))
                    .unwrap_or_default();
                let to = Addressee {
                    profile: &profile,
                    user_id: user.as_deref(),
                    anonymous_id: anonymous.as_deref(),
                };
                let message_id = format!("journey-timer:{journey}:{entry}:{fire_at}:{key_profile}");
                let properties = json!({ "journey": journey, "entry": entry, "due": due, "fire_at": fire_at, "timer_profile": key_profile });
                let event = stated_track(&to, TIMER_FIRED, &message_id, properties, now);
                actions.push(Action::Emit {
                    profile: profile.clone(),
                    event,
                });
                self.journeys
                    .stated_timers
                    .insert(key.as_slice().into(), now);
                let mut next = crate::buffered::Key::from_slice(key);
                next.push(0);
                self.journeys.scan_from = Some(next);
            }
            match page.last() {
                Some((last, _)) if page.len() == PAGE => {
                    start = last.clone();
                    start.push(0);
                }
                _ => break,
            }
        }
        self.journeys.timers_floor = Some(floor);
        actions
    }
}
