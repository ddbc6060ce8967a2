//! The collection layer: everything between "an event was sent" and "it is
//! durably in the log" — Segment spec normalisation, sources and write
//! keys, `messageId` deduplication, quarantine of refused events, routing
//! by profile key, and reading events back.

mod atomic_file;
mod backlog;
mod collector;
mod coverage;
mod data_dir;
mod dedup;
mod dedup_rows;
mod erasure;
mod error;
mod event_index;
mod filing;
mod identity_stage;
mod incoming;
mod index;
mod key_filter;
mod normalize;
pub mod prehashed;
mod quarantine;
mod quarantine_erasure;
mod raw_object;
mod reading;
mod rejection;
mod routing;
mod sources;
mod store_writer;
mod stored;
mod stored_index;
mod storing;

pub use atomic_file::atomic_write;
pub use backlog::Backlog;
pub use collector::{CollectConfig, Collector};
pub use data_dir::{DataDir, DataDirLock};
pub use dedup::{dedup_key, DedupIndex};
pub use dedup_rows::DedupRows;
pub use erasure::ErasureReport;
pub use error::CollectError;
pub use identity_stage::{IdentityStage, Resolved};
pub use incoming::{IncomingItem, IngestOutcome, ItemBody, Origin, RejectedItem};
pub use index::IdKind;
pub use normalize::{normalize, BatchDefaults, NormalizedEvent, MAX_ID_BYTES, MESSAGE_TYPES};
pub use quarantine::{QuarantineEntry, QuarantinePage, QuarantinedEvent};
pub use raw_object::RawObject;
pub use reading::{EventPage, EventQuery, RebuildStats};
pub use rejection::Rejection;
pub use routing::{ProfileKeyResolver, UserOrAnonymousId};
pub use sources::{Source, SourceRegistry};
pub use store_writer::StoreWriter;
pub use stored::StoredEvent;
pub use storing::{AppendListener, AppendedRecord};
