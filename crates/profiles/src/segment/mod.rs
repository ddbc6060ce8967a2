//! Segments: named rules over profile traits, computed traits and event
//! history, combined with `all` / `any` / `not`. A definition is parsed
//! from YAML or JSON with errors that point at the offending part
//! (`rule.all[1].event.within_days: ...`), then compiled: every event
//! condition becomes an implied computed trait (a windowed count), so
//! membership is kept incrementally and moves with time through the same
//! expiry timers as computed traits.

mod compile;
mod definition;
mod parse;

pub use compile::{CompiledSegment, Facts};
pub use definition::{Condition, CountTest, SegmentDefinition, SegmentError, Test};
pub use parse::{one_kind, parse_filter, parse_segment, parse_test};
