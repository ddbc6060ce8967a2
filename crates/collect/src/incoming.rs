//! What arrives to be collected, and what became of it.

use serde::Serialize;
use serde_json::Value;

use crate::rejection::Rejection;

/// Where an item sat in what was sent, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The whole body of a single-event request.
    Request,
    /// Position (from 0) in a `batch` array.
    BatchItem(usize),
    /// Line (from 1) of an imported file.
    Line(u64),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Request => write!(f, "request"),
            Origin::BatchItem(i) => write!(f, "batch item {i}"),
            Origin::Line(n) => write!(f, "line {n}"),
        }
    }
}

/// One event to collect.
#[derive(Debug, Clone)]
pub struct IncomingItem {
    pub origin: Origin,
    pub body: ItemBody,
    /// Set for events Percorso derives about a known profile (`Segment
    /// Entered`, ...): stored on that profile without identity resolution.
    pub profile: Option<String>,
}

#[derive(Debug, Clone)]
pub enum ItemBody {
    /// The message as sent: JSON text that should hold an object.
    Json {
        text: String,
        /// The `messageId` to use when the message has none.
        fallback_message_id: Option<String>,
    },
    /// An event Percorso states itself, already in its stored form (what
    /// `normalize` would make of it): it is trusted as is, not parsed or
    /// checked again (debug builds check that normalizing it changes
    /// nothing). Never for what a client sent.
    Normalized(crate::NormalizedEvent),
    /// Something that is already known to be bad, kept for the quarantine.
    Refused { raw: Value, rejection: Rejection },
}

impl IncomingItem {
    pub fn json(origin: Origin, text: String) -> Self {
        Self {
            origin,
            body: ItemBody::Json {
                text,
                fallback_message_id: None,
            },
            profile: None,
        }
    }

    /// An event Percorso itself states about `profile`, normalized.
    pub fn derived(profile: String, event: crate::NormalizedEvent) -> Self {
        Self {
            origin: Origin::Request,
            body: ItemBody::Normalized(event),
            profile: Some(profile),
        }
    }

    /// Like [`IncomingItem::json`], with the `messageId` to use if the
    /// message has none.
    pub fn json_with_fallback_id(origin: Origin, text: String, message_id: String) -> Self {
        Self {
            origin,
            body: ItemBody::Json {
                text,
                fallback_message_id: Some(message_id),
            },
            profile: None,
        }
    }

    pub fn refused(origin: Origin, raw: Value, rejection: Rejection) -> Self {
        Self {
            origin,
            body: ItemBody::Refused { raw, rejection },
            profile: None,
        }
    }
}

/// A refused item, as reported back to the sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedItem {
    #[serde(skip)]
    pub origin: Origin,
    /// Index in the batch, when the item came in a batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// Line of the file, when the item came from an import.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub code: &'static str,
    pub message: String,
}

impl RejectedItem {
    pub fn new(origin: Origin, rejection: Rejection) -> Self {
        let (index, line) = match origin {
            Origin::Request => (None, None),
            Origin::BatchItem(i) => (Some(i), None),
            Origin::Line(n) => (None, Some(n)),
        };
        Self {
            origin,
            index,
            line,
            code: rejection.code,
            message: rejection.message,
        }
    }
}

/// What happened to each item of one `ingest` call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestOutcome {
    pub received: usize,
    pub stored: usize,
    pub duplicates: usize,
    pub rejected: Vec<RejectedItem>,
}
