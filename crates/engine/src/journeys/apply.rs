//! Records through the journey machine: customer events and segment
//! changes move journeys; the engine's journey records (timers fired,
//! entries requested, deliveries ended) move them or the outbox. The
//! machine's actions become path entries on the profile, armed timers and
//! outbox items.

use percorso_journeys::{Action, Catalog, CustomerJourneys, Machine, PathEntry, PathEvent, Status};
use serde_json::{json, Value};

use super::book::{DeadLetter, Effect, OutboxItem, PATH_KEPT};
use super::records::JourneyInput;
use super::view::EngineProfile;
use crate::book::ProfileBook;
use crate::input::Record;

/// Events whose time is this much older than their arrival are history
/// (an import, a replayed backlog): journeys do not act on them.
pub const HISTORY_MILLIS: i64 = 24 * 60 * 60 * 1000;

/// What a record asks of the machine.
enum Step<'a> {
    Event(&'a Value),
    Timer {
        journey: &'a str,
        entry: u32,
        due: i64,
    },
    Enter {
        journey: &'a str,
        context: &'a Value,
    },
}

impl ProfileBook {
    /// A customer event (or a segment change, as its event) of `profile`.
    pub(crate) fn journeys_on_event(&mut self, profile: &str, record: &Record, event: &Value) {
        if record.received_at - record.timestamp > HISTORY_MILLIS {
            return;
        }
        self.run_machine(profile, record, Step::Event(event));
    }

    /// An engine journey record read back.
    pub(crate) fn journeys_on_input(
        &mut self,
        profile: &str,
        record: &Record,
        input: &JourneyInput,
    ) {
        match input {
            JourneyInput::TimerFired {
                journey,
                entry,
                due,
                fire_at,
                timer_profile,
            } => {
                self.journeys
                    .disarm(timer_profile, journey, *entry, *fire_at);
                let step = Step::Timer {
                    journey,
                    entry: *entry,
                    due: *due,
                };
                self.run_machine(profile, record, step);
            }
            JourneyInput::EntryRequested { journey, context } => {
                self.run_machine(profile, record, Step::Enter { journey, context });
            }
            JourneyInput::MessageSent { key, journey, step } => {
                // A repeat (delivered again after a crash) counts once.
                if self.journeys.outbox.get(key.as_bytes()).is_some() {
                    self.journeys.outbox.delete(key.as_bytes());
                    self.journeys.step_counts(journey, step).delivered += 1;
                }
            }
            JourneyInput::MessageFailed {
                key,
                journey,
                step,
                reason,
                attempts,
            } => {
                if let Some(item) = self.journeys.outbox_item(key) {
                    self.journeys.outbox.delete(key.as_bytes());
                    self.journeys.step_counts(journey, step).dead_lettered += 1;
                    let letter = DeadLetter {
                        item,
                        reason: reason.clone(),
                        attempts: *attempts,
                    };
                    self.journeys.put_dead_letter(&letter);
                }
            }
            JourneyInput::RetryRequested { key } => {
                if let Some(letter) = self.journeys.dead_letter(key) {
                    self.journeys.dead_letters.delete(key.as_bytes());
                    self.journeys.put_outbox(letter.item, self.live);
                }
            }
        }
    }

    /// An event the engine appended for a journey is in the log: its
    /// outbox item is done.
    pub(crate) fn journey_event_recorded(&mut self, message_id: &str) {
        if !message_id.is_empty() && self.journeys.outbox.get(message_id.as_bytes()).is_some() {
            self.journeys.outbox.delete(message_id.as_bytes());
        }
    }

    fn run_machine(&mut self, profile: &str, record: &Record, step: Step<'_>) {
        let now = record.received_at;
        let timer = matches!(step, Step::Timer { .. });
        let partition = usize::from(record.location.partition);
        let catalog: &Catalog = self.journeys.catalogs.at(partition, record.location.offset);
        if catalog.iter().next().is_none() {
            return;
        }
        if let Step::Event(event) = step {
            // Most events start nothing and the person is in no journey:
            // spare them the state copy and the machine.
            let starts = catalog.iter().any(|(_, e)| {
                e.status == Status::Published && e.live_journey().trigger.fired_by(event)
            });
            let in_one = |s: &crate::profile::ProfileState| {
                s.journeys.journeys.values().any(|r| r.active.is_some())
            };
            if !starts
                && !self
                    .profiles
                    .get(profile, &self.definitions)
                    .is_some_and(in_one)
            {
                return;
            }
        }
        let Some(state) = self.profiles.get_mut(profile, &self.definitions) else {
            return;
        };
        let mut journeys = std::mem::take(&mut state.journeys);
        let before = waits(&journeys);
        let actions = {
            let view = EngineProfile {
                id: profile,
                state,
                definitions: &self.definitions,
                now,
            };
            let machine = Machine {
                catalog,
                policy: &self.journeys.policy,
            };
            match step {
                Step::Event(event) => machine.on_event(&mut journeys, &view, event, now),
                Step::Timer {
                    journey,
                    entry,
                    due,
                } => machine.on_timer(&mut journeys, &view, journey, entry, due, now),
                Step::Enter { journey, context } => {
                    match machine.enter(&mut journeys, &view, journey, context.clone(), now) {
                        Ok(actions) => actions,
                        Err(refused) => {
                            tracing::info!(profile, journey, %refused, "journey entry refused");
                            Vec::new()
                        }
                    }
                }
            }
        };
        let after = waits(&journeys);
        let addressee = (state.user_id.clone(), state.anonymous_id.clone());
        state.journeys = journeys;
        // A wait that ended before its timer: the timer is no longer needed.
        for (journey, (entry, due, step)) in &before {
            if after.get(journey) != Some(&(*entry, *due, step.clone())) {
                self.journeys.left_wait(journey, step);
                self.journeys.disarm(profile, journey, *entry, *due);
            }
        }
        let held: Vec<(String, u32, i64)> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Record(PathEntry {
                    journey,
                    entry,
                    what: PathEvent::Held,
                    ..
                }) => {
                    let due = after.get(journey).map_or(now, |w| w.1);
                    Some((journey.clone(), *entry, due))
                }
                _ => None,
            })
            .collect();
        self.take_actions(profile, actions, now, &addressee);
        // A paused journey holds its customers: a timer that came due
        // looks again in a minute (with the wait's own due time).
        for (journey, entry, due) in held.into_iter().filter(|_| timer) {
            self.journeys
                .arm(profile, &journey, entry, now + 60_000, due);
        }
    }

    fn take_actions(
        &mut self,
        profile: &str,
        actions: Vec<Action>,
        now: i64,
        addressee: &(Option<String>, Option<String>),
    ) {
        let live = self.live;
        let item = |key: String, effect: Effect| OutboxItem {
            key,
            profile: profile.to_owned(),
            user_id: addressee.0.clone(),
            anonymous_id: addressee.1.clone(),
            effect,
        };
        let mut path = Vec::new();
        for action in actions {
            match action {
                Action::Record(entry) => {
                    self.journeys.count(&entry);
                    path.push(entry);
                }
                Action::ArmTimer {
                    journey,
                    entry,
                    due,
                } => {
                    self.journeys.arm(profile, &journey, entry, due, due);
                }
                Action::Send(message) => {
                    let key = message.key.clone();
                    self.journeys
                        .put_outbox(item(key, Effect::Deliver(message)), live);
                }
                Action::SetTraits { message_id, traits } => {
                    let effect = Effect::Identify {
                        traits: Value::Object(traits),
                        at: now,
                    };
                    self.journeys.put_outbox(item(message_id, effect), live);
                }
                Action::Emit {
                    message_id,
                    event,
                    properties,
                } => {
                    let effect = Effect::Track {
                        event,
                        properties,
                        at: now,
                    };
                    self.journeys.put_outbox(item(message_id, effect), live);
                }
            }
        }
        if path.is_empty() {
            return;
        }
        if let Some(state) = self.profiles.get_mut(profile, &self.definitions) {
            state.journey_path.extend(path);
            let excess = state.journey_path.len().saturating_sub(PATH_KEPT);
            state.journey_path.drain(..excess);
        }
    }
}

/// Each waiting pass: journey → (entry, due, step).
fn waits(journeys: &CustomerJourneys) -> std::collections::BTreeMap<String, (u32, i64, String)> {
    journeys
        .journeys
        .iter()
        .filter_map(|(name, record)| {
            let inst = record.active.as_ref()?;
            let waiting = inst.waiting?;
            Some((name.clone(), (inst.entry, waiting.due, inst.step.clone())))
        })
        .collect()
}

/// A segment change as the event journeys see.
pub(crate) fn membership_as_event(segment: &str, entered: bool, at: i64) -> Value {
    let name = if entered {
        percorso_journeys::SEGMENT_ENTERED
    } else {
        percorso_journeys::SEGMENT_EXITED
    };
    json!({
        "type": "track",
        "event": name,
        "properties": { "segment": segment },
        "timestamp": percorso_core::format_millis(at),
    })
}

impl ProfileBook {
    /// Takes the journeys to run (at start), and what of an event they read.
    pub(crate) fn install_journeys(
        &mut self,
        catalogs: super::ledger::Catalogs,
        policy: percorso_journeys::ContactPolicy,
    ) {
        self.journeys.catalogs = catalogs;
        self.journeys.policy = policy;
        self.journey_paths_changed();
    }

    /// Makes the projection keep what the deployed journeys read.
    pub(crate) fn journey_paths_changed(&mut self) {
        let paths = self.journeys.catalogs.event_paths();
        if paths != self.definitions.journey_paths {
            self.definitions.journey_paths = paths;
            self.definitions.reindex();
        }
    }
}
