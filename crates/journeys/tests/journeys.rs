//! Journeys through the public API: the file format and its problems, and
//! the state machine driven by a virtual clock (no sleeping).

mod journeys {
    pub mod examples;
    pub mod harness;
    pub mod policy;
    pub mod schema;
    pub mod steps;
    pub mod validate;
}
