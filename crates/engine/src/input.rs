//! A log record as the engine reads it.

use compact_str::CompactString;
use percorso_collect::StoredEvent;
use percorso_identity::IdentityStamp;
use percorso_log::RecordLocation;
use percorso_profiles::{Fields, ProjectedEvent, Projection};
use serde_json::Value;

use crate::derived::{stated_change, StatedChange, ENGINE_SOURCE};
use crate::journeys::records::{stated_journey, JourneyInput};

/// One stored event, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub location: RecordLocation,
    /// The profile identity resolution stamped; empty when it had no
    /// usable identifier (such events belong to no profile).
    pub profile: CompactString,
    /// Event time, after clock-skew correction.
    pub timestamp: i64,
    /// When the collector received it: the time journeys act at.
    pub received_at: i64,
    pub source_id: CompactString,
    pub stamp: IdentityStamp,
    /// The event; empty when it is a change the engine stated (`stated`).
    pub event: ProjectedEvent,
    /// The membership change this record states, when the engine stated it.
    pub stated: Option<StatedChange>,
    /// The journey record this is, when the engine stated one.
    pub journey: Option<Box<JourneyInput>>,
}

impl Record {
    /// `None` for a record erased by a privacy request. The event keeps
    /// only what `projection` names (see [`Projection`]).
    pub fn decode(
        location: RecordLocation,
        payload: &[u8],
        projection: &Projection,
    ) -> Result<Option<Self>, String> {
        if payload.is_empty() {
            return Ok(None);
        }
        let stored = StoredEvent::decode(payload)?;
        let engine = stored.source_id == ENGINE_SOURCE;
        let stated = engine.then(|| stated_change(stored.json)).flatten();
        let journey = (engine && stated.is_none())
            .then(|| stated_journey(stored.json))
            .flatten()
            .map(Box::new);
        let event = match (&stated, &journey) {
            (None, None) => projection.decode(stored.json).map_err(|e| e.to_string())?,
            _ => ProjectedEvent::default(),
        };
        Ok(Some(Self {
            location,
            profile: stored.profile_id.into(),
            timestamp: stored.timestamp,
            received_at: stored.received_at,
            source_id: stored.source_id.into(),
            stamp: IdentityStamp::decode(stored.stamp)?,
            event,
            stated,
            journey,
        }))
    }

    pub fn message_id(&self) -> &str {
        self.event
            .at("messageId")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}
