//! Identity resolution: which profile an event belongs to.
//!
//! Every event carries identifiers — `userId`, `anonymousId`, an email or
//! phone in its traits, `context.externalIds`, an alias's `previousId`. The
//! [`IdentityGraph`] joins identifiers seen together into one profile, the
//! way Segment Unify does: identifiers have a priority order and a per-kind
//! limit (one `user_id` per profile, so two different users never merge),
//! blocked values (`null`, `anonymous`, `0000`, ...) never join anything,
//! and when joining would break a limit the lowest-priority identifier is
//! dropped from the match instead.
//!
//! The graph is deterministic (no clock, no randomness), so replaying the
//! same events in the same order rebuilds the same profiles and ids.

mod extract;
mod graph;
mod identifier;
mod paged;
mod rows;
mod rules;
mod stamp;

pub use extract::{identifiers_of, ids_only, Extracted};
pub use graph::{IdentityGraph, Merge, ProfileId, Resolution};
pub use identifier::{IdKind, Identifier};
pub use paged::{GraphChanges, PagedGraph};
pub use rows::GraphRows;
pub use rules::{IdentityRules, RulesError, DEFAULT_BLOCKED};
pub use stamp::IdentityStamp;
