//! Journeys as code: a YAML (or JSON) file describes a journey as a graph
//! of named steps — waits, branches, splits, holdouts, sends, profile
//! updates, emitted events, exits — started by a trigger, ended early by
//! goals and exit criteria. `parse_journey` checks a file and names every
//! problem with its place; the state machine in [`machine`] moves a
//! customer through a checked journey deterministically: time arrives in
//! its inputs and every effect leaves it as an [`Action`], so the engine
//! can record effects in an outbox and replay the log to the same result.

mod actions;
mod catalog;
mod condition;
mod cron;
mod definition;
mod graph;
pub mod machine;
mod parse;
mod policy;
mod problems;
mod reads;
pub mod simulate;
mod state;
mod template;
mod view;

pub use actions::{Action, Content, ExitReason, Message, PathEntry, PathEvent, Suppression};
pub use catalog::{Catalog, CatalogEntry, CatalogError, Status};
pub use condition::Condition;
pub use cron::Cron;
pub use definition::{
    Channel, EventMatch, ExitCriterion, Journey, ReEntry, SplitArm, Step, StepId, StepKind,
    TimeZoneName, Trigger, ZoneChoice, SEGMENT_ENTERED, SEGMENT_EXITED,
};
pub use machine::{in_share, EntryRefused, Machine, MAX_MOVES_PER_INPUT};
pub use parse::parse_journey;
pub use policy::{next_time_of_day, ContactPolicy, FrequencyCap, QuietAction, QuietHours};
pub use problems::{locate_line, Problem, Problems};
pub use simulate::{Simulation, SimulationError};
pub use state::{CustomerJourneys, Instance, JourneyRecord, WaitKind, Waiting};
pub use template::{MessageTemplate, Text, ValueTemplate};
pub use view::{ProfileView, StaticProfile};
