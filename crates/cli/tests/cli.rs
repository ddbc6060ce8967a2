//! End-to-end tests of the `percorso` binary: real processes, real sockets,
//! real SDK clients, real `kill -9`.

mod cli {
    pub mod analytics;
    pub mod commands;
    pub mod crash;
    pub mod definitions;
    pub mod import;
    pub mod journeys;
    pub mod profiles;
    pub mod sdk;
    pub mod state_crash;
    pub mod support;
}
