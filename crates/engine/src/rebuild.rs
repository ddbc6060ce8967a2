//! Rebuilding derived state from the log alone, and a canonical digest of
//! it, so a rebuild can be compared with the live state.

use std::collections::BTreeMap;

use percorso_log::EventLog;
use serde_json::{json, Value};

use crate::book::ProfileBook;
use crate::definitions::Definitions;
use crate::input::Record;
use crate::runner::{Engine, EngineError};

/// Replays every record of `log`, reading the partitions in `order`, into
/// a fresh book. Nothing is emitted: membership is what the log recorded.
pub fn rebuild(
    log: &EventLog,
    definitions: Definitions,
    order: &[u16],
    now: i64,
) -> Result<ProfileBook, EngineError> {
    let projection = definitions.projection.clone();
    let mut book = ProfileBook::new(definitions);
    for &partition in order {
        for item in log.reader(partition, 0).map_err(EngineError::storage)? {
            let (record, location) = item.map_err(EngineError::storage)?;
            let record = Record::decode(location, &record.payload, &projection)
                .map_err(|reason| EngineError::Storage(format!("{location:?}: {reason}")))?;
            if let Some(record) = record {
                book.apply(&record, now);
            }
        }
    }
    Ok(book)
}

impl ProfileBook {
    /// Everything derived about each profile as of `now`, as JSON: traits
    /// with provenance, consent, computed trait values, each segment's
    /// verdict and recorded membership, activity. Internal layout (window
    /// days already freed, timers) is left out, so two books that answer
    /// every question alike have equal digests.
    pub fn digest(&mut self, now: i64) -> BTreeMap<String, Value> {
        let definitions = self.definitions().clone();
        let definitions = &definitions;
        let mut digest = BTreeMap::new();
        self.for_each_state(|id, state| {
            let computed: BTreeMap<&str, Value> = definitions
                    .computed
                    .iter()
                    .enumerate()
                    .map(|(i, d)| (d.name.as_str(), state.computed_value_at(definitions, i, now)))
                    .collect();
                let segments: BTreeMap<&str, Value> = definitions
                    .segments
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let m = state.membership_at(i);
                        let recorded = (m.transitions > 0).then_some((m.member, m.transitions));
                        (s.name.as_str(), json!({ "qualifies": state.qualifies(definitions, s, now), "recorded": recorded }))
                    })
                    .collect();
            let entry = json!({
                "traits": state.traits,
                "subscriptions": state.subscriptions,
                "computed": computed,
                "segments": segments,
                "first_seen": state.first_seen,
                "last_seen": state.last_seen,
                "events": state.events,
            });
            digest.insert(id.to_owned(), entry);
        });
        digest
    }
}

impl Engine {
    /// The live book's digest, once everything appended is applied.
    pub async fn digest(&self) -> Result<BTreeMap<String, Value>, EngineError> {
        self.settle().await?;
        Ok(self.shared.book().digest(self.now()))
    }

    pub fn definitions(&self) -> Definitions {
        self.shared.book().definitions().clone()
    }
}
