//! Appended records on their way into the engine, decoded on the thread
//! that appended them.
//!
//! The engine applies records on one thread, and parsing each event was a
//! fifth of that thread's work; the collector's threads have spare cores
//! while they wait for fsync. So the feed parses, and the engine applies.
//! A record parsed with other definitions' projection than the engine's at
//! the time it is applied (a definition came in between) is parsed again.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use percorso_collect::{AppendListener, AppendedRecord, Backlog};
use percorso_log::RecordLocation;
use percorso_profiles::Projection;

use crate::input::Record;
use crate::runner::Input;

/// An appended record and, when the feed got to it, its decoding.
#[derive(Debug)]
pub(crate) struct Arrived {
    pub appended: AppendedRecord,
    pub decoded: Option<Decoded>,
}

#[derive(Debug)]
pub(crate) struct Decoded {
    /// The projection it was decoded with.
    projection: Arc<Projection>,
    record: Result<Option<Record>, String>,
}

impl Arrived {
    /// A record read from the log by the engine itself (not decoded yet).
    pub fn read(location: RecordLocation, payload: Vec<u8>) -> Self {
        Self {
            appended: AppendedRecord { location, payload },
            decoded: None,
        }
    }

    pub fn location(&self) -> RecordLocation {
        self.appended.location
    }

    /// The record as `projection` reads it (`None` if erased), reusing the
    /// feed's decoding when it used the same projection.
    pub fn into_record(self, projection: &Arc<Projection>) -> Result<Option<Record>, String> {
        match self.decoded {
            Some(decoded) if Arc::ptr_eq(&decoded.projection, projection) => decoded.record,
            _ => Record::decode(self.appended.location, &self.appended.payload, projection),
        }
    }
}

/// The projection the feed decodes with: the engine's, as last published.
#[derive(Debug, Default)]
pub(crate) struct CurrentProjection(Mutex<Arc<Projection>>);

impl CurrentProjection {
    pub fn get(&self) -> Arc<Projection> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn publish(&self, projection: &Arc<Projection>) {
        let mut current = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !Arc::ptr_eq(&current, projection) {
            *current = projection.clone();
        }
    }
}

/// Feeds appended records, decoded, into the engine's queue.
#[derive(Debug)]
pub(crate) struct Feed {
    pub sender: mpsc::Sender<Input>,
    pub projection: Arc<CurrentProjection>,
    /// Records sent and not yet taken by the engine.
    pub backlog: Arc<Backlog>,
}

/// Ingestion waits while the engine has more records than this queued:
/// enough to keep it busy, few enough that memory stays bounded.
pub(crate) const MAX_QUEUED: usize = 20_000;

impl AppendListener for Feed {
    fn appended(&self, records: Vec<AppendedRecord>) {
        let projection = self.projection.get();
        let records_len = records.len();
        let arrived = records
            .into_iter()
            .map(|appended| {
                let record = Record::decode(appended.location, &appended.payload, &projection);
                Arrived {
                    appended,
                    decoded: Some(Decoded {
                        projection: projection.clone(),
                        record,
                    }),
                }
            })
            .collect();
        self.backlog.add(records_len);
        // A stopped engine takes no more input; the log still has it all.
        if self.sender.send(Input::Records(arrived)).is_err() {
            self.backlog.done(records_len);
        }
    }

    fn backlog(&self) -> Option<&Backlog> {
        Some(&self.backlog)
    }
}

#[cfg(test)]
mod tests {
    use percorso_collect::StoredEvent;
    use percorso_profiles::{ComputedTrait, Fields};
    use serde_json::json;

    use super::*;

    fn appended() -> AppendedRecord {
        let json = json!({ "type": "track", "event": "Order Completed", "userId": "u1",
            "properties": { "revenue": 12 } })
        .to_string();
        let payload = StoredEvent {
            received_at: 0,
            timestamp: 0,
            dedup_key: 1,
            source_id: "web",
            user_id: "u1",
            anonymous_id: "",
            profile_id: "prof_1",
            stamp: &[],
            json: json.as_bytes(),
        }
        .encode();
        AppendedRecord {
            location: RecordLocation {
                partition: 0,
                offset: 0,
                segment: 0,
                position: 0,
            },
            payload,
        }
    }

    fn revenue(record: &Record) -> Option<&serde_json::Value> {
        record.event.at("properties.revenue")
    }

    #[test]
    fn a_record_decoded_before_a_definition_came_is_decoded_again() {
        let (sender, receiver) = mpsc::channel();
        let current = Arc::new(CurrentProjection::default());
        let feed = Feed {
            sender,
            projection: current.clone(),
            backlog: Arc::new(Backlog::new(MAX_QUEUED)),
        };
        feed.appended(vec![appended(), appended()]);
        let Ok(Input::Records(mut arrived)) = receiver.try_recv() else {
            panic!("the feed sends what was appended");
        };
        // The feed's projection reads no `properties.revenue` ...
        let old = current.get();
        let second = arrived.pop().unwrap();
        let first = arrived.pop().unwrap();
        let record = first.into_record(&old).unwrap().unwrap();
        assert_eq!(revenue(&record), None);
        // ... and a trait reading it arrived before the record is applied.
        let spend: ComputedTrait = serde_json::from_value(json!({ "name": "spend",
            "aggregation": "sum", "property": "properties.revenue" }))
        .unwrap();
        let new = Arc::new(Projection::of([&spend]));
        let record = second.into_record(&new).unwrap().unwrap();
        assert_eq!(revenue(&record), Some(&json!(12)));
    }
}
