//! Schedule triggers: at each occurrence of a journey's cron, on a fixed
//! zone's clock or each customer's own, the members of its segment are
//! stated as entering (`Journey Entry Requested`, keyed by journey,
//! occurrence and profile, so a restatement after a crash is dropped as a
//! duplicate). The entry rules are applied when the record is read back.

use std::collections::HashMap;

use jiff::tz::{Offset, TimeZone};
use percorso_journeys::{Cron, Status, Trigger, ZoneChoice};
use serde_json::json;

use super::records::{stated_track, Addressee, ENTRY_REQUESTED};
use crate::book::{Action, ProfileBook};

const MINUTE: i64 = 60_000;
/// Members read per page of a segment.
const PAGE: usize = 1_000;

struct Schedule {
    journey: String,
    cron: Cron,
    zone: ZoneChoice,
    segment: String,
    /// For customers without a `timezone` trait.
    fallback: TimeZone,
}

impl ProfileBook {
    /// States the entries of every schedule that had an occurrence since
    /// it was last looked at (at most once a minute).
    pub fn fire_schedules(&mut self, now: i64) -> Vec<Action> {
        let mut actions = Vec::new();
        if !self.live {
            return actions;
        }
        for schedule in self.schedules() {
            let Some(&last) = self.journeys.schedule_swept.get(&schedule.journey) else {
                // Published just now: from here on, nothing retroactive.
                self.journeys
                    .schedule_swept
                    .insert(schedule.journey.clone(), now);
                continue;
            };
            if now.div_euclid(MINUTE) == last.div_euclid(MINUTE) {
                continue;
            }
            self.journeys
                .schedule_swept
                .insert(schedule.journey.clone(), now);
            let fixed = match &schedule.zone {
                ZoneChoice::Fixed(zone) => {
                    match schedule.cron.latest_between(last, now, &zone.zone) {
                        Some(occurrence) => Some(occurrence),
                        None => continue,
                    }
                }
                // Customers' clocks: skip unless some UTC offset has one.
                ZoneChoice::Customer if !any_offset_occurs(&schedule.cron, last, now) => continue,
                ZoneChoice::Customer => None,
            };
            actions.extend(self.enter_members(&schedule, fixed, last, now));
        }
        actions
    }

    fn schedules(&self) -> Vec<Schedule> {
        let default = self.journeys.policy.default_time_zone.clone();
        self.journeys
            .catalogs
            .latest()
            .iter()
            .filter(|(_, entry)| entry.status == Status::Published)
            .filter_map(|(name, entry)| {
                let journey = entry.live_journey();
                let Trigger::Schedule {
                    cron,
                    zone,
                    segment,
                } = &journey.trigger
                else {
                    return None;
                };
                Some(Schedule {
                    journey: name.clone(),
                    cron: cron.clone(),
                    zone: zone.clone(),
                    segment: segment.clone(),
                    fallback: journey
                        .time_zone
                        .as_ref()
                        .map_or(default.clone(), |z| z.zone.clone()),
                })
            })
            .collect()
    }

    /// Entries for the segment's members whose occurrence fell in
    /// `(last, now]`: `fixed` for all, else on each one's clock.
    fn enter_members(
        &mut self,
        schedule: &Schedule,
        fixed: Option<i64>,
        last: i64,
        now: i64,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        let mut zones: HashMap<String, Option<i64>> = HashMap::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.members.page(&schedule.segment, after.as_deref(), PAGE);
            for profile in &page {
                let Some(state) = self.profiles.get(profile, &self.definitions) else {
                    continue;
                };
                let occurrence = match fixed {
                    Some(at) => Some(at),
                    None => {
                        let name = state
                            .traits
                            .get("timezone")
                            .and_then(|t| t.value.as_str())
                            .unwrap_or_default()
                            .to_owned();
                        *zones.entry(name.clone()).or_insert_with(|| {
                            let zone =
                                TimeZone::get(&name).unwrap_or_else(|_| schedule.fallback.clone());
                            schedule.cron.latest_between(last, now, &zone)
                        })
                    }
                };
                let Some(occurrence) = occurrence else {
                    continue;
                };
                let to = Addressee {
                    profile,
                    user_id: state.user_id.as_deref(),
                    anonymous_id: state.anonymous_id.as_deref(),
                };
                let context = json!({
                    "type": "track",
                    "event": ENTRY_REQUESTED,
                    "userId": state.user_id,
                    "anonymousId": state.anonymous_id,
                    "properties": { "schedule": schedule.cron.source(), "occurrence": percorso_core::format_millis(occurrence) },
                });
                let message_id = format!("schedule:{}:{occurrence}:{profile}", schedule.journey);
                let properties = json!({ "journey": schedule.journey, "context": context });
                let event = stated_track(&to, ENTRY_REQUESTED, &message_id, properties, now);
                actions.push(Action::Emit {
                    profile: profile.clone(),
                    event,
                });
            }
            match page.last() {
                Some(last) if page.len() == PAGE => after = Some(last.clone()),
                _ => return actions,
            }
        }
    }
}

/// Whether the cron has an occurrence in `(last, now]` at any UTC offset
/// (-12:00 to +14:00 by quarter hours) — else no customer's clock has one.
fn any_offset_occurs(cron: &Cron, last: i64, now: i64) -> bool {
    (-48..=56).any(|quarters: i32| {
        Offset::from_seconds(quarters * 15 * 60)
            .map(|offset| {
                cron.latest_between(last, now, &TimeZone::fixed(offset))
                    .is_some()
            })
            .unwrap_or(false)
    })
}
