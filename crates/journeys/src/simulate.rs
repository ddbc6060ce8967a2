//! Running journeys for one customer on a virtual clock: events in time
//! order, timers fired when the clock passes them, profile updates applied
//! to the profile and emitted events fed back in. Nothing is sent; each
//! action is kept for the caller to print or check. The same machine the
//! engine runs, so what a simulation shows is what production does.

use std::collections::BTreeSet;

use percorso_core::parse_timestamp_millis;
use serde_json::Value;

use crate::actions::Action;
use crate::catalog::Catalog;
use crate::machine::{EntryRefused, Machine};
use crate::policy::ContactPolicy;
use crate::state::CustomerJourneys;
use crate::view::StaticProfile;

/// Emitted events fed back per input, at most (an emit that triggers a
/// journey that emits... stops here).
const MAX_FEEDBACK: usize = 100;

#[derive(Debug)]
pub struct Simulation {
    pub catalog: Catalog,
    pub policy: ContactPolicy,
    pub profile: StaticProfile,
    pub state: CustomerJourneys,
    /// Armed timers: (due, journey, entry).
    pub timers: BTreeSet<(i64, String, u32)>,
    /// The virtual clock.
    pub now: i64,
    /// Every action so far, with the time it was taken.
    pub actions: Vec<(i64, Action)>,
}

#[derive(Debug, thiserror::Error)]
pub enum SimulationError {
    #[error("the event has no valid timestamp: {0}")]
    Timestamp(String),
    #[error(
        "the event is at {event}, before the simulation's clock ({now}): give events in time order"
    )]
    OutOfOrder { event: String, now: String },
}

impl Simulation {
    pub fn new(
        catalog: Catalog,
        policy: ContactPolicy,
        profile: StaticProfile,
        start: i64,
    ) -> Self {
        Simulation {
            catalog,
            policy,
            profile,
            state: CustomerJourneys::default(),
            timers: BTreeSet::new(),
            now: start,
            actions: Vec::new(),
        }
    }

    /// An event at its `timestamp`: timers due before it fire first.
    pub fn event(&mut self, event: Value) -> Result<(), SimulationError> {
        let stamp = event
            .get("timestamp")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let at = parse_timestamp_millis(stamp)
            .map_err(|e| SimulationError::Timestamp(format!("{stamp:?}: {e}")))?;
        if at < self.now {
            return Err(SimulationError::OutOfOrder {
                event: stamp.to_owned(),
                now: percorso_core::format_millis(self.now),
            });
        }
        self.advance_to(at);
        self.event_now(event);
        Ok(())
    }

    fn event_now(&mut self, event: Value) {
        let mut queue = vec![event];
        for _ in 0..MAX_FEEDBACK {
            let Some(event) = queue.pop() else { break };
            let machine = Machine {
                catalog: &self.catalog,
                policy: &self.policy,
            };
            let actions = machine.on_event(&mut self.state, &self.profile, &event, self.now);
            queue.extend(self.take(actions));
        }
    }

    /// Enters the customer by request, as the API would.
    pub fn enter(&mut self, journey: &str, context: Value) -> Result<(), EntryRefused> {
        let machine = Machine {
            catalog: &self.catalog,
            policy: &self.policy,
        };
        let actions = machine.enter(&mut self.state, &self.profile, journey, context, self.now)?;
        for event in self.take(actions) {
            self.event_now(event);
        }
        Ok(())
    }

    /// Moves the clock to `until`, firing every timer due by then in order.
    pub fn advance_to(&mut self, until: i64) {
        while let Some(first) = self.timers.first().filter(|t| t.0 <= until).cloned() {
            self.timers.remove(&first);
            let (due, journey, entry) = first;
            self.now = self.now.max(due);
            let machine = Machine {
                catalog: &self.catalog,
                policy: &self.policy,
            };
            let actions = machine.on_timer(
                &mut self.state,
                &self.profile,
                &journey,
                entry,
                due,
                self.now,
            );
            for event in self.take(actions) {
                self.event_now(event);
            }
        }
        self.now = self.now.max(until);
    }

    /// Fires timers until none is left or the next is after `limit`.
    pub fn run_out(&mut self, limit: i64) {
        self.advance_to(limit);
    }

    /// Keeps the actions, arms timers, applies trait updates; returns the
    /// events emitted, to be fed back.
    fn take(&mut self, actions: Vec<Action>) -> Vec<Value> {
        let mut emitted = Vec::new();
        for action in actions {
            match &action {
                Action::ArmTimer {
                    journey,
                    entry,
                    due,
                } => {
                    self.timers.insert((*due, journey.clone(), *entry));
                }
                Action::SetTraits { traits, .. } => {
                    for (k, v) in traits {
                        self.profile.traits.insert(k.clone(), v.clone());
                    }
                }
                Action::Emit {
                    message_id,
                    event,
                    properties,
                } => emitted.push(serde_json::json!({
                    "type": "track",
                    "event": event,
                    "messageId": message_id,
                    "properties": properties,
                    "timestamp": percorso_core::format_millis(self.now),
                })),
                Action::Record(_) | Action::Send(_) => {}
            }
            self.actions.push((self.now, action));
        }
        emitted
    }

    /// The messages that would have been sent, in order.
    pub fn messages(&self) -> Vec<&crate::actions::Message> {
        self.actions
            .iter()
            .filter_map(|(_, a)| match a {
                Action::Send(m) => Some(m),
                _ => None,
            })
            .collect()
    }
}
