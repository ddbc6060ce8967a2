//! Moving a pass from step to step until it waits or leaves.

use serde_json::{json, Value};

use super::{in_share, record_entry, Machine};
use crate::actions::{Action, ExitReason, PathEvent};
use crate::definition::{Channel, Journey, StepId, StepKind, ZoneChoice};
use crate::policy::next_time_of_day;
use crate::state::{Instance, WaitKind, Waiting};
use crate::view::ProfileView;

/// Steps one input may move a customer through. Checked journeys cannot
/// loop without waiting, so this only stops a journey that could.
pub const MAX_MOVES_PER_INPUT: usize = 1_000;

pub enum Flow {
    /// The pass goes on (it waits).
    Stay,
    Exit(ExitReason),
}

/// Where a step's effects go.
pub struct Out<'a> {
    pub actions: &'a mut Vec<Action>,
    /// The customer's recent sends, for frequency caps.
    pub sent: &'a mut Vec<(i64, Channel)>,
}

impl Out<'_> {
    /// A path entry at the customer's current step.
    pub fn record(&mut self, journey: &Journey, inst: &Instance, now: i64, what: PathEvent) {
        let entry = record_entry(&journey.name, inst, Some(&inst.step), now, what);
        self.actions.push(entry);
    }
}

impl Machine<'_> {
    /// Arrives at `at` and moves on until a wait or an exit.
    pub(super) fn run(
        &self,
        out: &mut Out<'_>,
        journey: &Journey,
        inst: &mut Instance,
        profile: &dyn ProfileView,
        mut at: StepId,
        now: i64,
    ) -> Flow {
        for _ in 0..MAX_MOVES_PER_INPUT {
            let step = &journey.steps[at];
            inst.moves += 1;
            inst.step.clone_from(&step.name);
            inst.waiting = None;
            let took = |out: &mut Out<'_>, inst: &Instance, detail: String| {
                out.record(journey, inst, now, PathEvent::Took { detail });
            };
            at = match &step.kind {
                StepKind::Wait { millis, .. } => {
                    return wait(out, journey, inst, now + millis, WaitKind::Timer, now)
                }
                StepKind::WaitUntil { time, zone, next } => {
                    let zone = self.zone(journey, zone, profile);
                    let due = next_time_of_day(now, *time, &zone);
                    if due <= now {
                        *next
                    } else {
                        return wait(out, journey, inst, due, WaitKind::Timer, now);
                    }
                }
                StepKind::WaitFor { timeout, .. } => {
                    return wait(
                        out,
                        journey,
                        inst,
                        now + timeout,
                        WaitKind::EventOrTimeout,
                        now,
                    )
                }
                StepKind::Branch { arms, otherwise } => {
                    let chosen = arms
                        .iter()
                        .position(|(c, _)| c.holds(profile, &inst.trigger));
                    let (detail, to) = match chosen {
                        Some(i) => (format!("branch {}", i + 1), arms[i].1),
                        None => ("otherwise".to_owned(), *otherwise),
                    };
                    took(out, inst, detail);
                    to
                }
                StepKind::Split { arms } => {
                    let total: u64 = arms.iter().map(|a| u64::from(a.weight)).sum();
                    let key = format!(
                        "split:{}:{}:{}",
                        journey.name,
                        step.name,
                        profile.profile_id()
                    );
                    let mut ticket = xxhash_rust::xxh3::xxh3_64(key.as_bytes()) % total;
                    let arm = arms
                        .iter()
                        .find(|a| {
                            let inside = ticket < u64::from(a.weight);
                            ticket = ticket.saturating_sub(u64::from(a.weight));
                            inside
                        })
                        .unwrap_or(&arms[0]);
                    took(out, inst, format!("variant {}", arm.variant));
                    arm.next
                }
                StepKind::Holdout { basis_points, next } => {
                    let key = format!(
                        "holdout:{}:{}:{}",
                        journey.name,
                        step.name,
                        profile.profile_id()
                    );
                    inst.control = inst.control || in_share(&key, *basis_points);
                    let group = if inst.control { "control" } else { "treatment" };
                    took(out, inst, group.to_owned());
                    *next
                }
                StepKind::Send {
                    channel,
                    template,
                    next,
                } => match self.send(out, journey, inst, profile, *channel, template, now) {
                    Some(due) => return wait(out, journey, inst, due, WaitKind::QuietHours, now),
                    None => *next,
                },
                StepKind::UpdateProfile { set, next } => {
                    let globals = globals(journey, inst, profile);
                    let mut traits = serde_json::Map::new();
                    for (name, value) in set {
                        match value.render(&globals) {
                            Ok(v) => {
                                traits.insert(name.clone(), v);
                            }
                            Err(reason) => failed(out, journey, inst, now, reason),
                        }
                    }
                    let names: Vec<&str> = traits.keys().map(String::as_str).collect();
                    took(out, inst, format!("set {}", names.join(", ")));
                    out.actions.push(Action::SetTraits {
                        message_id: effect_key(journey, inst, profile),
                        traits,
                    });
                    *next
                }
                StepKind::Emit {
                    event,
                    properties,
                    next,
                } => {
                    match properties.render(&globals(journey, inst, profile)) {
                        Ok(properties) => {
                            took(out, inst, format!("emitted {event}"));
                            out.actions.push(Action::Emit {
                                message_id: effect_key(journey, inst, profile),
                                event: event.clone(),
                                properties,
                            });
                        }
                        Err(reason) => failed(out, journey, inst, now, reason),
                    }
                    *next
                }
                StepKind::Exit => return Flow::Exit(ExitReason::Completed),
            };
        }
        Flow::Exit(ExitReason::Stuck)
    }

    /// Where a matching event takes a customer waiting for it, if anywhere.
    pub(super) fn event_continuation(
        &self,
        inst: &Instance,
        journey: &Journey,
        event: &Value,
    ) -> Option<StepId> {
        let waiting = inst.waiting?;
        let step = journey.step_named(&inst.step)?;
        match &journey.steps[step].kind {
            StepKind::WaitFor {
                event: wanted,
                on_event,
                ..
            } if waiting.kind == WaitKind::EventOrTimeout && wanted.matches(event) => {
                Some(*on_event)
            }
            _ => None,
        }
    }

    /// Where a due timer takes the customer. A migration may have put them
    /// on a step of another kind: then they arrive at it afresh.
    pub(super) fn timer_continuation(&self, inst: &Instance, journey: &Journey) -> StepId {
        let Some(current) = journey.step_named(&inst.step) else {
            return journey.start;
        };
        let kind = inst.waiting.map(|w| w.kind);
        match (kind, &journey.steps[current].kind) {
            (
                Some(WaitKind::Timer),
                StepKind::Wait { next, .. } | StepKind::WaitUntil { next, .. },
            ) => *next,
            (Some(WaitKind::EventOrTimeout), StepKind::WaitFor { on_timeout, .. }) => *on_timeout,
            _ => current,
        }
    }

    /// The customer's time zone: their `timezone` trait, else the
    /// journey's, else the policy's default.
    pub(super) fn zone(
        &self,
        journey: &Journey,
        choice: &ZoneChoice,
        profile: &dyn ProfileView,
    ) -> jiff::tz::TimeZone {
        if let ZoneChoice::Fixed(fixed) = choice {
            return fixed.zone.clone();
        }
        let own = profile.trait_value("timezone");
        own.as_ref()
            .and_then(Value::as_str)
            .and_then(|name| jiff::tz::TimeZone::get(name).ok())
            .or_else(|| journey.time_zone.as_ref().map(|z| z.zone.clone()))
            .unwrap_or_else(|| self.policy.default_time_zone.clone())
    }
}

fn wait(
    out: &mut Out<'_>,
    journey: &Journey,
    inst: &mut Instance,
    due: i64,
    kind: WaitKind,
    now: i64,
) -> Flow {
    inst.waiting = Some(Waiting { due, kind });
    out.record(journey, inst, now, PathEvent::Waiting { until: due });
    out.actions.push(Action::ArmTimer {
        journey: journey.name.clone(),
        entry: inst.entry,
        due,
    });
    Flow::Stay
}

pub(super) fn failed(
    out: &mut Out<'_>,
    journey: &Journey,
    inst: &Instance,
    now: i64,
    reason: String,
) {
    out.record(journey, inst, now, PathEvent::Failed { reason });
}

/// The key of the effect made at the current move: the same for the same
/// customer, pass and move on every replay.
pub(super) fn effect_key(journey: &Journey, inst: &Instance, profile: &dyn ProfileView) -> String {
    format!(
        "{}.{}.{}.{}.{}",
        journey.name,
        inst.version,
        inst.entry,
        inst.moves,
        profile.profile_id()
    )
}

/// What templates see: `profile`, `event`, `journey`.
pub(super) fn globals(journey: &Journey, inst: &Instance, profile: &dyn ProfileView) -> Value {
    let mut traits = profile.traits();
    traits.insert("id".into(), Value::String(profile.profile_id().to_owned()));
    json!({
        "profile": traits,
        "event": inst.trigger,
        "journey": { "name": journey.name, "version": inst.version, "step": inst.step, "entry": inst.entry },
    })
}
