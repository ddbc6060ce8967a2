//! The durable, partitioned event log: the truth every other part of
//! Percorso derives from.
//!
//! * Each partition is a directory of segment files holding framed records
//!   (`len | crc32c | offset | payload`); the checksum covers the length, the
//!   offset and the payload, so a torn or corrupted record is never returned.
//! * One writer thread per partition group-commits: it takes every append
//!   request that queued while the previous `fdatasync` ran, writes them
//!   with one `write`, syncs once, and only then answers each request.
//! * On open, the tail segment is scanned and truncated at the first record
//!   that fails validation; everything before it is kept.
//! * Records can be erased in place for privacy requests (see `erasure`):
//!   they keep their offset and read back with an empty payload.
//! * Records are routed to partitions by a key (the profile key); readers
//!   replay a partition from any offset.

mod erasure;
mod error;
mod event_log;
mod frame;
mod partition;
mod reader;
mod recovery;
mod segment;

pub use error::LogError;
pub use event_log::{EventLog, LogOptions, OpenMode, PartitionRecovery, RecoveryReport};
pub use frame::{Record, MAX_PAYLOAD_BYTES};
pub use partition::{AppendReceipt, RecordLocation};
pub use reader::PartitionReader;
