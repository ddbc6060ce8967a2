//! The HTTP edge of Percorso: the Segment-compatible tracking API, the admin
//! API, health and Prometheus metrics. Handlers are thin: they authenticate,
//! read and parse, and hand events to the collection layer.

mod admin;
mod analytics_api;
mod app;
mod auth;
mod body;
mod error;
mod journeys_api;
mod noop;
mod ops;
mod privacy_api;
mod profiles_api;
mod segments_api;
mod tracking;

pub use app::{router, AppState, Limits};
pub use error::ApiError;
pub use noop::noop_router;
pub use ops::install_metrics;
