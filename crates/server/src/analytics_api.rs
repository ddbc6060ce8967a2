//! The analytics API: SQL over the columnar store, and journey reports.
//!
//! Every answer says how fresh it is: `fresh_to` is the arrival time of the
//! newest event in the snapshot the query read.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use percorso_analytics::sql::{encode, run_sql, session, ResultFormat, SessionSources};
use percorso_analytics::sql_profiles::{ProfileRow, ProfileRows};
use percorso_analytics::sql_segments::DefinedSegment;
use percorso_analytics::{
    AnalyticsError, ConformanceQuery, DiscoveryQuery, FunnelQuery, LifecycleQuery, PathsQuery,
    RetentionQuery, ScoresQuery, Snapshot,
};
use percorso_engine::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::auth::require_admin;
use crate::body::{parse_json, read_body, Limited};
use crate::error::ApiError;

const MAX_QUERY_BYTES: usize = 256 * 1024;

impl From<AnalyticsError> for ApiError {
    fn from(error: AnalyticsError) -> Self {
        match error {
            AnalyticsError::Invalid(message) => ApiError::bad_request("invalid_query", message),
            AnalyticsError::Sql(message) => ApiError::bad_request("sql_error", message),
            other => {
                tracing::error!(error = %other, "analytics error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "analytics_unavailable",
                    "the analytics store could not be read; see the server log",
                )
            }
        }
    }
}

fn fresh_to(snapshot: &Snapshot) -> Value {
    match snapshot.manifest.fresh_to {
        0 => Value::Null,
        ms => Value::String(percorso_core::format_millis(ms)),
    }
}

async fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
) -> Result<T, ApiError> {
    let bytes = read_body(headers, body, MAX_QUERY_BYTES, Limited::Admin).await?;
    parse_json(&bytes)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlRequest {
    pub sql: String,
    #[serde(default)]
    pub format: ResultFormat,
}

/// The `profiles` table's rows: the engine's profiles once it has applied
/// everything stored before the query.
fn engine_profiles(engine: std::sync::Arc<Engine>) -> ProfileRows {
    std::sync::Arc::new(move || {
        let engine = engine.clone();
        Box::pin(async move {
            let views = engine.all_profiles().await.map_err(|e| e.to_string())?;
            Ok(views
                .into_iter()
                .map(|v| ProfileRow {
                    traits: Value::Object(v.traits).to_string(),
                    computed_traits: Value::Object(v.computed_traits).to_string(),
                    segments: json!(v.segments).to_string(),
                    first_seen: v.first_seen,
                    last_seen: v.last_seen,
                    events: v.events,
                    profile_id: v.profile_id,
                })
                .collect())
        })
    })
}

/// The segments the engine has now.
fn engine_segments(engine: &Engine) -> Vec<DefinedSegment> {
    engine
        .definitions()
        .segments
        .iter()
        .map(|s| DefinedSegment {
            name: s.name.clone(),
            definition: s.text.clone(),
            created_at: s.created_at,
            generation: i64::try_from(s.generation).unwrap_or(i64::MAX),
        })
        .collect()
}

/// `POST /api/v1/sql` with `{"sql": "...", "format": "json|csv|parquet"}`.
pub async fn sql(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let request: SqlRequest = json_body(&headers, body).await?;
    let format = request.format;
    let snapshot = state.analytics.snapshot();
    let dir = state.analytics.dir().to_owned();
    let sources = SessionSources {
        profiles: Some(engine_profiles(state.engine.clone())),
        segments: engine_segments(&state.engine),
    };
    let reading = snapshot.clone();
    // On a blocking thread: the report functions scan the store while the
    // statement is planned, and must not hold up the server's async threads.
    let runtime = tokio::runtime::Handle::current();
    let batches = tokio::task::spawn_blocking(move || {
        runtime.block_on(async {
            let ctx = session(reading, &dir, sources).await?;
            run_sql(&ctx, &request.sql).await
        })
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))??;
    let fresh = fresh_to(&snapshot);
    match format {
        ResultFormat::Json => {
            let bytes = encode(&batches, ResultFormat::Json)?;
            let rows: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Array(Vec::new()));
            let count = rows.as_array().map_or(0, Vec::len);
            Ok(
                Json(json!({ "rows": rows, "row_count": count, "fresh_to": fresh }))
                    .into_response(),
            )
        }
        format => {
            let bytes = encode(&batches, format)?;
            let mut response = bytes.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            );
            if let Some(Ok(value)) = fresh.as_str().map(HeaderValue::from_str) {
                headers.insert("x-percorso-fresh-to", value);
            }
            Ok(response)
        }
    }
}

/// Runs a report query off the async threads and answers its JSON with
/// how fresh the data was.
async fn report<Q, R>(
    state: AppState,
    headers: HeaderMap,
    body: Body,
    run: fn(&Q, &Snapshot) -> Result<R, AnalyticsError>,
) -> Result<Response, ApiError>
where
    Q: serde::de::DeserializeOwned + Send + 'static,
    R: serde::Serialize + Send + 'static,
{
    require_admin(&headers, &state.admin_token)?;
    let query: Q = json_body(&headers, body).await?;
    let snapshot = state.analytics.snapshot();
    let report = {
        let snapshot = snapshot.clone();
        tokio::task::spawn_blocking(move || run(&query, &snapshot))
            .await
            .map_err(|e| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            })??
    };
    let mut body = serde_json::to_value(report).unwrap_or_default();
    body["fresh_to"] = fresh_to(&snapshot);
    Ok(Json(body).into_response())
}

macro_rules! report_route {
    ($name:ident, $query:ty, $path:literal) => {
        #[doc = concat!("`POST /api/v1/analytics/", $path, "`.")]
        pub async fn $name(
            State(state): State<AppState>,
            headers: HeaderMap,
            body: Body,
        ) -> Result<Response, ApiError> {
            report(state, headers, body, <$query>::run).await
        }
    };
}

report_route!(funnel, FunnelQuery, "funnel");
report_route!(paths, PathsQuery, "paths");
report_route!(conformance, ConformanceQuery, "conformance");
report_route!(scores, ScoresQuery, "scores");
report_route!(journey_map, DiscoveryQuery, "journey-map");
report_route!(retention, RetentionQuery, "retention");
report_route!(lifecycle, LifecycleQuery, "lifecycle");

/// `GET /api/v1/analytics/status`: what the columnar store holds.
pub async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let snapshot = state.analytics.snapshot();
    let manifest = &snapshot.manifest;
    Ok(Json(json!({
        "files": manifest.files.len(),
        "events": manifest.rows(),
        "fresh_to": fresh_to(&snapshot),
        "built_at": (manifest.built_at != 0).then(|| percorso_core::format_millis(manifest.built_at)),
        "pending_merges": manifest.pending_moves.len(),
        "pending_erasures": manifest.pending_erased.len(),
    }))
    .into_response())
}
