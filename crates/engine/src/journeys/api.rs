//! What the API asks of journeys: deploy and change status (through the
//! engine thread, in log order), enter a customer (a stated record), read
//! journeys, counters, a profile's passes and path, dead letters; and the
//! delivery side's report of each message's end.

use std::sync::Arc;

use percorso_journeys::{parse_journey, CustomerJourneys, Message, PathEntry, Problems, Status};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::book::{DeadLetter, StepCounts};
use super::effects::status_change;
use super::ledger::{LedgerChange, LedgerEntry};
use super::records::{
    stated_track, Addressee, ENTRY_REQUESTED, MESSAGE_FAILED, MESSAGE_SENT, RETRY_REQUESTED,
};
use crate::book::Action;
use crate::runner::{Deliveries, Engine, EngineError, Input};

/// A journey as listed.
#[derive(Debug, Clone, Serialize)]
pub struct JourneySummary {
    pub name: String,
    pub description: Option<String>,
    pub status: &'static str,
    /// The version new entrants get.
    pub live_version: u32,
    pub versions: Vec<u32>,
    /// Totals over all steps.
    pub totals: StepCounts,
}

/// A journey in full: its versions' sources, its history and its counters
/// per step.
#[derive(Debug, Clone, Serialize)]
pub struct JourneyDetail {
    #[serde(flatten)]
    pub summary: JourneySummary,
    pub source: String,
    pub steps: std::collections::BTreeMap<String, StepCounts>,
    pub history: Vec<LedgerEntry>,
}

/// A profile's journeys: passes, entries and the recent path.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileJourneys {
    pub profile_id: String,
    pub journeys: CustomerJourneys,
    pub path: Vec<PathEntry>,
}

/// How a message's delivery ended, as the delivery side reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageEnd {
    Sent { attempts: u32 },
    Failed { attempts: u32, reason: String },
}

impl Engine {
    /// Where messages are delivered from now on (and those decided before).
    pub fn set_deliveries(&self, sink: Arc<dyn Deliveries>) {
        let mut state = self
            .shared
            .deliveries
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for message in state.waiting.drain(..) {
            sink.deliver(message);
        }
        state.sink = Some(sink);
    }

    /// Deploys a journey from its YAML as the next version; published at
    /// once, or a draft.
    pub async fn deploy_journey(
        &self,
        source: &str,
        publish: bool,
    ) -> Result<JourneySummary, EngineError> {
        let journey = parse_journey(source).map_err(|p| EngineError::Invalid(problems_text(&p)))?;
        let status = if publish {
            Status::Published
        } else {
            Status::Draft
        };
        let entry = LedgerEntry {
            name: journey.name.clone(),
            change: LedgerChange::Deploy {
                version: 0,
                source: source.to_owned(),
                status,
            },
            cut: Vec::new(),
            at: 0,
        };
        self.journey_change(entry).await?;
        self.journey(&journey.name).await.map(|d| d.summary)
    }

    /// Publishes, pauses, resumes (publishes) or archives a journey.
    pub async fn set_journey_status(
        &self,
        name: &str,
        status: Status,
    ) -> Result<JourneySummary, EngineError> {
        self.journey_change(status_change(name, status)).await?;
        self.journey(name).await.map(|d| d.summary)
    }

    async fn journey_change(&self, entry: LedgerEntry) -> Result<(), EngineError> {
        let (reply, wait) = oneshot::channel();
        self.send(Input::Journey(Box::new(entry), reply))?;
        wait.await.map_err(|_| EngineError::Stopped)?
    }

    pub async fn journeys(&self) -> Result<Vec<JourneySummary>, EngineError> {
        self.settle().await?;
        let book = self.shared.book();
        let latest = book.journeys.catalogs.latest();
        Ok(latest
            .iter()
            .map(|(name, _)| summary(&book, name))
            .collect::<Option<_>>()
            .unwrap_or_default())
    }

    pub async fn journey(&self, name: &str) -> Result<JourneyDetail, EngineError> {
        self.settle().await?;
        let book = self.shared.book();
        let summary = summary(&book, name)
            .ok_or_else(|| EngineError::NotFound(format!("no journey named '{name}'")))?;
        let history: Vec<LedgerEntry> = book
            .journeys
            .catalogs
            .entries()
            .iter()
            .filter(|e| e.name == name)
            .cloned()
            .collect();
        let source = history
            .iter()
            .rev()
            .find_map(|e| match &e.change {
                LedgerChange::Deploy { source, .. } => Some(source.clone()),
                LedgerChange::Status { .. } => None,
            })
            .unwrap_or_default();
        let steps = book.journeys.stats.get(name).cloned().unwrap_or_default();
        Ok(JourneyDetail {
            summary,
            source,
            steps,
            history,
        })
    }

    /// Enters a profile (any id it had) into a published journey, with
    /// `context` as the triggering event's properties. The entry is stated
    /// in the log and taken when read back; returns its `messageId`.
    pub async fn enter_journey(
        &self,
        profile: &str,
        journey: &str,
        context: Value,
    ) -> Result<String, EngineError> {
        self.settle().await?;
        let (profile, user, anonymous) = {
            let mut book = self.shared.book();
            match book.journeys.catalogs.latest().get(journey) {
                None => {
                    return Err(EngineError::NotFound(format!(
                        "no journey named '{journey}'"
                    )))
                }
                Some(entry) if entry.status != Status::Published => {
                    return Err(EngineError::InUse(format!(
                        "journey '{journey}' is {}, not published",
                        entry.status.name()
                    )))
                }
                Some(_) => {}
            }
            let profile = book.canonical(profile).into_owned();
            let book = &mut *book;
            let definitions = &book.definitions;
            let state = book
                .profiles
                .get(&profile, definitions)
                .ok_or_else(|| EngineError::NotFound(format!("no profile '{profile}'")))?
                .clone();
            // The rules decided now, on a copy, so a refusal is answered
            // (the stated entry is judged again when read back).
            let now = self.now();
            let view = super::view::EngineProfile {
                id: &profile,
                state: &state,
                definitions,
                now,
            };
            let machine = percorso_journeys::Machine {
                catalog: book.journeys.catalogs.latest(),
                policy: &book.journeys.policy,
            };
            machine
                .enter(
                    &mut state.journeys.clone(),
                    &view,
                    journey,
                    json!({ "properties": context }),
                    now,
                )
                .map_err(|refused| {
                    EngineError::InUse(format!("{profile} cannot enter '{journey}': {refused}"))
                })?;
            (
                profile.clone(),
                state.user_id.clone(),
                state.anonymous_id.clone(),
            )
        };
        let message_id = format!("journey-enter:{}", uuid::Uuid::new_v4());
        let to = Addressee {
            profile: &profile,
            user_id: user.as_deref(),
            anonymous_id: anonymous.as_deref(),
        };
        // What templates see as `event`: the request, addressed like an event.
        let trigger = json!({
            "type": "track",
            "event": ENTRY_REQUESTED,
            "userId": user,
            "anonymousId": anonymous,
            "properties": context,
        });
        let properties = json!({ "journey": journey, "context": trigger });
        let event = stated_track(&to, ENTRY_REQUESTED, &message_id, properties, self.now());
        self.sink.emit(vec![Action::Emit { profile, event }]);
        self.settle().await?;
        Ok(message_id)
    }

    /// A profile's journeys and recent path (`None`: no such profile).
    pub async fn profile_journeys(&self, id: &str) -> Result<Option<ProfileJourneys>, EngineError> {
        self.settle().await?;
        let mut guard = self.shared.book();
        let profile = guard.canonical(id).into_owned();
        let book = &mut *guard;
        Ok(book
            .profiles
            .get(&profile, &book.definitions)
            .map(|state| ProfileJourneys {
                profile_id: profile.clone(),
                journeys: state.journeys.clone(),
                path: state.journey_path.clone(),
            }))
    }

    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, EngineError> {
        self.settle().await?;
        Ok(self.shared.book().journeys.all_dead_letters())
    }

    /// Sends a dead-lettered message again (stated, then taken when read back).
    pub async fn retry_dead_letter(&self, key: &str) -> Result<(), EngineError> {
        self.settle().await?;
        let letter = self
            .shared
            .book()
            .journeys
            .dead_letter(key)
            .ok_or_else(|| EngineError::NotFound(format!("no dead letter '{key}'")))?;
        let message_id = format!("retry:{key}:{}", uuid::Uuid::new_v4());
        self.state_on(
            &letter.item.profile,
            RETRY_REQUESTED,
            &message_id,
            json!({ "key": key }),
        );
        self.settle().await
    }

    /// Every journey's counters per step, as they stand (no waiting).
    pub fn journey_stats(&self) -> super::book::JourneyStats {
        self.shared.book().journeys.stats.clone()
    }

    /// Messages decided and not yet known delivered or dead-lettered.
    pub async fn outbox_len(&self) -> Result<usize, EngineError> {
        self.settle().await?;
        Ok(self.shared.book().journeys.all_outbox().len())
    }

    /// Records how a message's delivery ended (from the delivery side).
    pub fn message_ended(&self, message: &Message, end: MessageEnd) {
        let channel = message.channel().name();
        let (event, message_id, properties) = match end {
            MessageEnd::Sent { attempts } => (
                MESSAGE_SENT,
                format!("sent:{}", message.key),
                json!({ "key": message.key, "journey": message.journey, "step": message.step, "channel": channel, "attempts": attempts }),
            ),
            MessageEnd::Failed { attempts, reason } => (
                MESSAGE_FAILED,
                format!("failed:{}:{}", message.key, uuid::Uuid::new_v4()),
                json!({ "key": message.key, "journey": message.journey, "step": message.step, "channel": channel, "attempts": attempts, "reason": reason }),
            ),
        };
        self.state_on(&message.profile, event, &message_id, properties);
    }

    fn state_on(&self, profile: &str, event: &str, message_id: &str, properties: Value) {
        let to = Addressee {
            profile,
            user_id: None,
            anonymous_id: None,
        };
        let event = stated_track(&to, event, message_id, properties, self.now());
        self.sink.emit(vec![Action::Emit {
            profile: profile.to_owned(),
            event,
        }]);
    }
}

fn problems_text(problems: &Problems) -> String {
    problems
        .0
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn summary(book: &crate::book::ProfileBook, name: &str) -> Option<JourneySummary> {
    let entry = book.journeys.catalogs.latest().get(name)?;
    let journey = entry.live_journey();
    let mut totals = StepCounts::default();
    for counts in book
        .journeys
        .stats
        .get(name)
        .into_iter()
        .flat_map(|s| s.values())
    {
        totals.add(counts);
    }
    Some(JourneySummary {
        name: name.to_owned(),
        description: journey.description.clone(),
        status: entry.status.name(),
        live_version: entry.live,
        versions: entry.versions.keys().copied().collect(),
        totals,
    })
}
