//! Shared state and the router.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use percorso_collect::{Collector, SourceRegistry};
use percorso_engine::Engine;

use crate::error::ApiError;
use crate::{
    admin, analytics_api, journeys_api, ops, privacy_api, profiles_api, segments_api, tracking,
};

/// Request size limits of the tracking API (Segment's: 32 KB an event is
/// the collector's; 500 KB a batch is here).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_batch_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_batch_bytes: 500 * 1024,
        }
    }
}

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub collector: Arc<Collector>,
    pub engine: Arc<Engine>,
    pub sources: Arc<SourceRegistry>,
    pub admin_token: Arc<str>,
    pub limits: Limits,
    /// The columnar store the analytics API reads.
    pub analytics: Arc<percorso_analytics::ColumnarStore>,
}

macro_rules! single_route {
    ($name:ident, $kind:literal) => {
        async fn $name(
            State(state): State<AppState>,
            headers: HeaderMap,
            body: Body,
        ) -> Result<Response, ApiError> {
            tracking::single(&state, &headers, body, $kind).await
        }
    };
}

single_route!(track, "track");
single_route!(identify, "identify");
single_route!(page, "page");
single_route!(screen, "screen");
single_route!(group, "group");
single_route!(alias, "alias");

/// The whole HTTP API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/track", post(track))
        .route("/v1/identify", post(identify))
        .route("/v1/page", post(page))
        .route("/v1/screen", post(screen))
        .route("/v1/group", post(group))
        .route("/v1/alias", post(alias))
        .route("/v1/batch", post(tracking::batch))
        // analytics.js sends to /v1/t, /v1/i ... ; accept its short aliases too.
        .route("/v1/t", post(track))
        .route("/v1/i", post(identify))
        .route("/v1/p", post(page))
        .route("/v1/s", post(screen))
        .route("/v1/g", post(group))
        .route("/v1/a", post(alias))
        .route("/v1/b", post(tracking::batch))
        .route("/api/v1/events", get(admin::events))
        .route("/api/v1/quarantine", get(admin::quarantine))
        .route(
            "/api/v1/sources",
            get(admin::list_sources).post(admin::create_source),
        )
        .route("/api/v1/profiles", get(profiles_api::lookup_profile))
        .route(
            "/api/v1/profiles/{id}",
            get(profiles_api::get_profile).delete(privacy_api::erase_profile),
        )
        .route(
            "/api/v1/profiles/{id}/export",
            get(privacy_api::export_profile),
        )
        .route(
            "/api/v1/profiles/{id}/events",
            get(profiles_api::profile_events),
        )
        .route(
            "/api/v1/profiles/{id}/identities",
            get(profiles_api::profile_identities),
        )
        .route(
            "/api/v1/profiles/{id}/merges",
            get(profiles_api::profile_merges),
        )
        .route(
            "/api/v1/profiles/{id}/segments",
            get(profiles_api::profile_segments),
        )
        .route(
            "/api/v1/segments",
            get(segments_api::list_segments).post(segments_api::create_segment),
        )
        .route(
            "/api/v1/segments/validate",
            post(segments_api::validate_segment),
        )
        .route(
            "/api/v1/segments/{name}",
            get(segments_api::get_segment).delete(segments_api::delete_segment),
        )
        .route(
            "/api/v1/segments/{name}/members",
            get(segments_api::segment_members),
        )
        .route(
            "/api/v1/segments/{name}/history",
            get(segments_api::segment_history),
        )
        .route(
            "/api/v1/computed-traits",
            get(segments_api::list_traits).post(segments_api::create_trait),
        )
        .route(
            "/api/v1/computed-traits/{name}",
            delete(segments_api::delete_trait),
        )
        .route(
            "/api/v1/journeys",
            get(journeys_api::list_journeys).post(journeys_api::deploy_journey),
        )
        .route(
            "/api/v1/journeys/validate",
            post(journeys_api::validate_journey),
        )
        .route("/api/v1/journeys/{name}", get(journeys_api::get_journey))
        .route(
            "/api/v1/journeys/{name}/enter",
            post(journeys_api::enter_journey),
        )
        .route(
            "/api/v1/journeys/{name}/{action}",
            post(journeys_api::change_status),
        )
        .route(
            "/api/v1/profiles/{id}/journeys",
            get(journeys_api::profile_journeys),
        )
        .route("/api/v1/dead-letters", get(journeys_api::dead_letters))
        .route(
            "/api/v1/dead-letters/{key}/retry",
            post(journeys_api::retry_dead_letter),
        )
        .route("/api/v1/sql", post(analytics_api::sql))
        .route("/api/v1/analytics/funnel", post(analytics_api::funnel))
        .route("/api/v1/analytics/paths", post(analytics_api::paths))
        .route(
            "/api/v1/analytics/conformance",
            post(analytics_api::conformance),
        )
        .route("/api/v1/analytics/scores", post(analytics_api::scores))
        .route(
            "/api/v1/analytics/journey-map",
            post(analytics_api::journey_map),
        )
        .route(
            "/api/v1/analytics/retention",
            post(analytics_api::retention),
        )
        .route(
            "/api/v1/analytics/lifecycle",
            post(analytics_api::lifecycle),
        )
        .route("/api/v1/analytics/status", get(analytics_api::status))
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
    )
}
