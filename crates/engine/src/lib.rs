//! The profile engine: the partition processor of the architecture, for
//! profiles. It reads every record of the event log — at start by replaying
//! the log, then as the collector appends — and derives per profile: traits
//! with provenance, consent, computed traits, and segment membership.
//!
//! [`ProfileBook`] is the deterministic core: `apply(record, now) ->
//! actions`, no I/O and no clock. Its only actions are derived events
//! (`Segment Entered` / `Segment Exited`) which the runner appends to the
//! log; membership as *recorded* is read back from those events, so a
//! crash between deciding and appending is healed at the next start (the
//! book compares computed with recorded membership and states the
//! difference again, under the same `messageId`, which deduplicates).
//!
//! State is order-independent: traits are latest-event-wins, aggregates
//! merge, merges fold whole states — so replaying the partitions in any
//! interleaving gives the live state (`percorso rebuild` checks this).

mod backfill;
mod book;
mod buffered;
mod catch_up;
mod checkpoint;
mod checkpoint_writer;
mod computations;
mod config_sync;
mod definitions;
mod derived;
mod feed;
mod input;
mod jobs;
mod journeys;
mod privacy;
mod profile;
mod profile_table;
mod queries;
mod rebuild;
mod removal;
mod runner;
mod sealed_rows;
mod segments;
mod sequencer;
mod settling;
mod sink;
mod slots;
mod views;
mod worker;

pub use book::{Action, MergeRecord, ProfileBook, ProfileView};
pub use checkpoint::{BackfillCursor, StateTables};
pub use config_sync::ConfigSyncReport;
pub use definitions::{
    BackfillProgress, DefinitionStore, Definitions, SegmentEntry, SegmentSummary,
};
pub use derived::{ENGINE_SOURCE, SEGMENT_ENTERED, SEGMENT_EXITED};
pub use input::Record;
pub use journeys::api::{JourneyDetail, JourneySummary, MessageEnd, ProfileJourneys};
pub use journeys::book::{DeadLetter, Effect, JourneyStats, OutboxItem, StepCounts};
pub use journeys::ledger::{LedgerChange, LedgerEntry};
pub use profile::ProfileState;
pub use rebuild::rebuild;
pub use removal::DefinitionKind;
pub use runner::{open_state, ActionSink, Deliveries, Engine, EngineError, EngineOptions};
pub use segments::{MembershipChange, SegmentMembers};
pub use sink::CollectorSink;
pub use slots::Slots;
