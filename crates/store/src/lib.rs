//! The embedded state store: derived state that outgrows memory lives here,
//! in ordered tables on disk (an LSM tree, fjall), written in atomic
//! batches. A batch that holds state changes together with the log offsets
//! they reflect is what lets a restart replay only the log's tail.
//!
//! Writes are not synced one by one: the store is derived from the log,
//! and a batch lost in a crash is an older checkpoint to replay from, never
//! a half-applied one (batches are all or nothing).

mod offsets;
mod sealing;
mod table;

pub use offsets::{decode_offsets, encode_offsets};
pub use sealing::{KeyReader, Sealer};
pub use table::{Batch, Store, StoreError, Table};
