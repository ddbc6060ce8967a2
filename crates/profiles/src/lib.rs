//! Profile state derived from events: traits with provenance, consent per
//! channel, computed traits and segments.
//!
//! Computed traits: count, sum, min, max, average, first, last and distinct count of
//! an event property, with event and property filters, over all time or a
//! sliding window of days — kept incrementally per event.
//!
//! A windowed trait keeps one partial aggregate per day; as time passes the
//! oldest day leaves the window, which a timer due at
//! [`TraitState::next_expiry`] applies without rescanning any event. The
//! value depends only on the events and the time asked about, so a full
//! replay gives the same values.

mod aggregate;
mod consent;
mod definition;
mod filter;
mod projection;
pub mod segment;
mod state;
mod traits;

pub use consent::{Subscription, Subscriptions, CHANNELS};
pub use definition::{Aggregation, ComputedTrait, DefinitionError};
pub use filter::{Comparison, Fields, PropertyFilter};
pub use projection::{ProjectedEvent, Projection};
pub use state::TraitState;
pub use traits::{ProfileTraits, TraitValue};

/// Milliseconds in a day: windows are counted in whole UTC days.
pub const DAY_MILLIS: i64 = 86_400_000;
