//! The engine thread's side of journeys: ledger changes made in log order,
//! and effects carried out once decided live (events appended through the
//! sink, messages handed to the delivery sink).

use percorso_journeys::{CatalogError, Status};

use super::book::{Effect, OutboxItem};
use super::ledger::{LedgerChange, LedgerEntry};
use super::records::{stated_identify, stated_track, Addressee};
use crate::book::Action;
use crate::runner::{end_offsets, EngineError};
use crate::worker::Worker;

impl Worker {
    /// Checks a deployment or status change against the journeys running
    /// now, gives it its cut (the log's end) and saves the ledger.
    pub(crate) fn journey_change(&mut self, mut entry: LedgerEntry) -> Result<(), EngineError> {
        let mut book = self.shared.book();
        let latest = book.journeys.catalogs.latest();
        match &mut entry.change {
            LedgerChange::Deploy { version, .. } => *version = latest.next_version(&entry.name),
            LedgerChange::Status { status } => {
                latest
                    .check_status(&entry.name, *status)
                    .map_err(|e| match e {
                        CatalogError::Unknown(_) => EngineError::NotFound(e.to_string()),
                        CatalogError::Transition { .. } => EngineError::InUse(e.to_string()),
                    })?;
            }
        }
        entry.cut = end_offsets(&self.collector)?;
        entry.at = self.now();
        let mut entries = book.journeys.catalogs.entries().to_vec();
        entries.push(entry.clone());
        self.journey_store.save(&entries)?;
        book.journeys.catalogs.push(entry);
        book.journey_paths_changed();
        Ok(())
    }

    /// Carries out the effects decided since the last call.
    pub(crate) fn run_effects(&self) {
        let fresh = std::mem::take(&mut self.shared.book().journeys.fresh);
        self.carry_out(fresh);
    }

    /// Carries out effects already taken from the book (by a caller that
    /// held its lock anyway).
    pub(crate) fn carry_out(&self, fresh: Vec<OutboxItem>) {
        if fresh.is_empty() {
            return;
        }
        let mut appends = Vec::new();
        let mut deliveries = self
            .shared
            .deliveries
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for item in fresh {
            match item.effect {
                Effect::Deliver(message) => match &deliveries.sink {
                    Some(sink) => sink.deliver(message),
                    None => deliveries.waiting.push(message),
                },
                ref effect => appends.push(append(&item, effect)),
            }
        }
        drop(deliveries);
        self.emit(appends);
    }
}

/// The event an append effect states.
fn append(item: &OutboxItem, effect: &Effect) -> Action {
    let to = Addressee {
        profile: &item.profile,
        user_id: item.user_id.as_deref(),
        anonymous_id: item.anonymous_id.as_deref(),
    };
    let event = match effect {
        Effect::Track {
            event,
            properties,
            at,
        } => stated_track(&to, event, &item.key, properties.clone(), *at),
        Effect::Identify { traits, at } => stated_identify(&to, &item.key, traits.clone(), *at),
        Effect::Deliver(_) => unreachable!("deliveries are not appended"),
    };
    Action::Emit {
        profile: item.profile.clone(),
        event,
    }
}

/// A status change for the ledger.
pub(crate) fn status_change(name: &str, status: Status) -> LedgerEntry {
    LedgerEntry {
        name: name.to_owned(),
        change: LedgerChange::Status { status },
        cut: Vec::new(),
        at: 0,
    }
}
