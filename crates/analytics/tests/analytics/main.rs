//! The analytics crate's integration tests: one binary.

mod compaction;
mod fixtures;
mod funnel_golden;
mod funnel_reference;
