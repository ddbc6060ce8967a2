//! Journeys inside the profile engine: the catalog of journeys in log
//! order, the machine run on every record of a profile that has any, the
//! timers it arms, the outbox of its effects, and the records the engine
//! states so that replaying the log always lands in the same place.

pub(crate) mod api;
pub(crate) mod apply;
pub(crate) mod book;
pub(crate) mod effects;
pub(crate) mod ledger;
pub(crate) mod records;
pub(crate) mod schedules;
pub(crate) mod timers;
pub(crate) mod view;
