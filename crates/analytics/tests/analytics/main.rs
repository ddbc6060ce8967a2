//! The analytics crate's integration tests: one binary.

mod compaction;
mod conformance;
mod discovery;
mod fixtures;
mod funnel_golden;
mod funnel_reference;
mod paths;
mod retention;
mod scores;
mod segments;
mod sql_reports;
