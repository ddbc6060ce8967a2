//! The HTTP behaviour of `percorso-server`, end to end in process: each test
//! builds the real router over a temporary data directory and a manual
//! clock, sends requests with `oneshot` (no socket), and checks what the
//! API answers and what is then readable through the admin API.
//!
//! A crate root looks for modules beside itself, hence the `path`s: the
//! helpers live in `tests/http/` so cargo does not take each for a binary.

#[path = "http/harness.rs"]
mod harness;

#[path = "http/admin.rs"]
mod admin;
#[path = "http/auth.rs"]
mod auth;
#[path = "http/dedup.rs"]
mod dedup;
#[path = "http/errors.rs"]
mod errors;
#[path = "http/journeys.rs"]
mod journeys;
#[path = "http/limits.rs"]
mod limits;
#[path = "http/ops.rs"]
mod ops;
#[path = "http/privacy.rs"]
mod privacy;
#[path = "http/profiles.rs"]
mod profiles;
#[path = "http/routes.rs"]
mod routes;
#[path = "http/segments.rs"]
mod segments;
#[path = "http/time.rs"]
mod time;
