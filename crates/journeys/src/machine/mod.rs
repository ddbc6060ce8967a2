//! The deterministic core: `on_event`, `on_timer` and `enter` change one
//! customer's [`CustomerJourneys`] and return the [`Action`]s that follow.
//! No I/O, no clock (time is `now`, given), no dice (splits and holdouts
//! hash the customer and journey), so replaying the same inputs gives the
//! same state and the same actions, idempotency keys included.

mod run;
mod send;

use std::sync::Arc;

use serde_json::Value;
use xxhash_rust::xxh3::xxh3_64;

use crate::actions::{Action, ExitReason, PathEntry, PathEvent};
use crate::catalog::{Catalog, CatalogEntry, Status};
use crate::definition::{Journey, ReEntry};
use crate::policy::ContactPolicy;
use crate::state::{CustomerJourneys, Instance};
use crate::view::ProfileView;

pub use run::MAX_MOVES_PER_INPUT;

#[derive(Debug, Clone, Copy)]
pub struct Machine<'a> {
    pub catalog: &'a Catalog,
    pub policy: &'a ContactPolicy,
}

/// Why a customer did not enter a journey.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryRefused {
    #[error("no journey named {0:?}")]
    Unknown(String),
    #[error("the journey is {0}, not published")]
    NotPublished(&'static str),
    #[error("already in the journey")]
    AlreadyIn,
    #[error("re-entry is once: already entered before")]
    OnceOnly,
    #[error("re-entry cool-down: entered too recently")]
    CoolingDown,
    #[error("does not meet the entry condition")]
    Condition,
}

/// Whether `key` falls in a share of `basis_points` out of 10,000: the
/// same answer for the same key every time.
pub fn in_share(key: &str, basis_points: u32) -> bool {
    basis_points > 0 && xxh3_64(key.as_bytes()) % 10_000 < u64::from(basis_points)
}

impl Machine<'_> {
    /// An event of this customer's: goals, exit criteria and waits of the
    /// passes in progress, then the journeys it triggers.
    pub fn on_event(
        &self,
        state: &mut CustomerJourneys,
        profile: &dyn ProfileView,
        event: &Value,
        now: i64,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        let active: Vec<String> = state
            .journeys
            .iter()
            .filter(|(_, r)| r.active.is_some())
            .map(|(n, _)| n.clone())
            .collect();
        for name in active {
            // A paused journey holds its customers: their events move nothing.
            if self
                .catalog
                .get(&name)
                .is_some_and(|e| e.status == Status::Paused)
            {
                continue;
            }
            self.in_pass(
                state,
                &name,
                now,
                &mut actions,
                |machine, inst, journey, out| {
                    if journey.goal.as_ref().is_some_and(|g| g.matches(event)) {
                        return run::Flow::Exit(ExitReason::Converted);
                    }
                    if journey.exit_when.iter().any(|c| c.met_by(event)) {
                        return run::Flow::Exit(ExitReason::ExitCriterion);
                    }
                    match machine.event_continuation(inst, journey, event) {
                        Some(to) => machine.run(out, journey, inst, profile, to, now),
                        None => run::Flow::Stay,
                    }
                },
            );
        }
        for (name, entry) in self.catalog.iter() {
            if entry.status == Status::Published && entry.live_journey().trigger.fired_by(event) {
                // A refusal here is the journey's rules working, not an error.
                let _ = self.try_enter(state, profile, name, event.clone(), now, &mut actions);
            }
        }
        actions
    }

    /// A timer armed by [`Action::ArmTimer`] has come due. A timer that no
    /// longer matches the customer's wait (they moved on) does nothing.
    pub fn on_timer(
        &self,
        state: &mut CustomerJourneys,
        profile: &dyn ProfileView,
        journey: &str,
        entry: u32,
        due: i64,
        now: i64,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        let current = state
            .active(journey)
            .and_then(|i| i.waiting.map(|w| (i.entry, w.due)));
        // Early (a re-check of a held customer before their wait is over)
        // or stale (they moved on): nothing to do.
        if current != Some((entry, due)) || now < due {
            return actions;
        }
        self.in_pass(
            state,
            journey,
            now,
            &mut actions,
            |machine, inst, journey, out| {
                let to = machine.timer_continuation(inst, journey);
                machine.run(out, journey, inst, profile, to, now)
            },
        );
        actions
    }

    /// Enters a customer by request (the API trigger, or any published
    /// journey), with `context` as the triggering event.
    pub fn enter(
        &self,
        state: &mut CustomerJourneys,
        profile: &dyn ProfileView,
        journey: &str,
        context: Value,
        now: i64,
    ) -> Result<Vec<Action>, EntryRefused> {
        let mut actions = Vec::new();
        self.try_enter(state, profile, journey, context, now, &mut actions)?;
        Ok(actions)
    }

    fn try_enter(
        &self,
        state: &mut CustomerJourneys,
        profile: &dyn ProfileView,
        name: &str,
        trigger: Value,
        now: i64,
        actions: &mut Vec<Action>,
    ) -> Result<(), EntryRefused> {
        let entry = self
            .catalog
            .get(name)
            .ok_or_else(|| EntryRefused::Unknown(name.to_owned()))?;
        if entry.status != Status::Published {
            return Err(EntryRefused::NotPublished(entry.status.name()));
        }
        let journey = entry.live_journey();
        let record = state.journeys.get(name);
        let entries = record.map_or(0, |r| r.entries);
        if record.is_some_and(|r| r.active.is_some()) {
            return Err(EntryRefused::AlreadyIn);
        }
        match (journey.re_entry, record.and_then(|r| r.last_entered)) {
            (ReEntry::Once, Some(_)) => return Err(EntryRefused::OnceOnly),
            (ReEntry::After(wait), Some(last)) if now - last < wait => {
                return Err(EntryRefused::CoolingDown)
            }
            _ => {}
        }
        if let Some(condition) = &journey.entry_when {
            if !condition.holds(profile, &trigger) {
                return Err(EntryRefused::Condition);
            }
        }
        let id = profile.profile_id();
        let control = in_share(
            &format!("global-holdout:{id}"),
            self.policy.global_holdout_basis_points,
        ) || in_share(
            &format!("holdout:{name}:{id}"),
            journey.holdout_basis_points,
        );
        let mut inst = Instance {
            version: entry.live,
            entry: entries + 1,
            step: journey.steps[journey.start].name.clone(),
            entered_at: now,
            control,
            moves: 0,
            trigger,
            waiting: None,
        };
        actions.push(record_entry(
            name,
            &inst,
            None,
            now,
            PathEvent::Entered { control },
        ));
        let record = state.journeys.entry(name.to_owned()).or_default();
        record.entries = inst.entry;
        record.last_entered = Some(now);
        let flow = self.run(
            &mut run::Out {
                actions,
                sent: &mut state.sent,
            },
            journey,
            &mut inst,
            profile,
            journey.start,
            now,
        );
        self.settle(state, name, inst, flow, now, actions);
        Ok(())
    }

    /// Takes the pass in progress through `name` out of `state`, lets
    /// `step` move it on its journey version, and puts it back or ends it.
    fn in_pass(
        &self,
        state: &mut CustomerJourneys,
        name: &str,
        now: i64,
        actions: &mut Vec<Action>,
        step: impl FnOnce(&Self, &mut Instance, &Journey, &mut run::Out<'_>) -> run::Flow,
    ) {
        let Some(mut inst) = state.journeys.get_mut(name).and_then(|r| r.active.take()) else {
            return;
        };
        let flow = match self.catalog.get(name) {
            None => run::Flow::Exit(ExitReason::Archived),
            Some(entry) if entry.status == Status::Archived => {
                run::Flow::Exit(ExitReason::Archived)
            }
            Some(entry) if entry.status == Status::Paused => {
                actions.push(record_entry(
                    name,
                    &inst,
                    Some(&inst.step),
                    now,
                    PathEvent::Held,
                ));
                run::Flow::Stay
            }
            Some(entry) => match self.pinned(entry, &mut inst, now, actions) {
                Some(journey) => step(
                    self,
                    &mut inst,
                    &journey,
                    &mut run::Out {
                        actions,
                        sent: &mut state.sent,
                    },
                ),
                None => run::Flow::Exit(ExitReason::Archived),
            },
        };
        self.settle(state, name, inst, flow, now, actions);
    }

    /// The version a pass runs on: the one it entered, unless a newer
    /// version migrates running customers and has their current step.
    fn pinned(
        &self,
        entry: &CatalogEntry,
        inst: &mut Instance,
        now: i64,
        actions: &mut Vec<Action>,
    ) -> Option<Arc<Journey>> {
        let live = entry.live_journey();
        if inst.version < entry.live
            && live.migrate_running
            && live.step_named(&inst.step).is_some()
        {
            let name = &live.name;
            actions.push(record_entry(
                name,
                inst,
                Some(&inst.step),
                now,
                PathEvent::Migrated {
                    to_version: entry.live,
                },
            ));
            inst.version = entry.live;
        }
        entry.versions.get(&inst.version).cloned()
    }

    /// Puts a pass that goes on back into `state`, or records its end.
    fn settle(
        &self,
        state: &mut CustomerJourneys,
        name: &str,
        inst: Instance,
        flow: run::Flow,
        now: i64,
        actions: &mut Vec<Action>,
    ) {
        self.forget_old_sends(state, now);
        let record = state.journeys.entry(name.to_owned()).or_default();
        match flow {
            run::Flow::Stay => record.active = Some(inst),
            run::Flow::Exit(reason) => {
                actions.push(record_entry(
                    name,
                    &inst,
                    Some(&inst.step),
                    now,
                    PathEvent::Exited { reason },
                ));
            }
        }
    }

    /// Drops sends older than the longest frequency cap looks back.
    fn forget_old_sends(&self, state: &mut CustomerJourneys, now: i64) {
        let longest = self
            .policy
            .caps
            .iter()
            .map(|c| c.per_millis)
            .max()
            .unwrap_or(0);
        state.sent.retain(|(at, _)| *at > now - longest);
    }
}

/// A path entry for `inst` in journey `name`.
pub(crate) fn record_entry(
    name: &str,
    inst: &Instance,
    step: Option<&str>,
    at: i64,
    what: PathEvent,
) -> Action {
    Action::Record(PathEntry {
        journey: name.to_owned(),
        version: inst.version,
        entry: inst.entry,
        step: step.map(str::to_owned),
        at,
        what,
    })
}
