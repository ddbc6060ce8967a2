//! The admin API: reading events and the quarantine back, managing sources.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use percorso_collect::{CollectError, Collector, EventPage, EventQuery, IdKind, QuarantinePage};
use percorso_core::format_millis;
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;
use crate::auth::require_admin;
use crate::body::{parse_json, read_body, Limited};
use crate::error::ApiError;

const MAX_LIMIT: usize = 10_000;

pub(crate) fn limit_param(
    params: &HashMap<String, String>,
    default: usize,
) -> Result<usize, ApiError> {
    match params.get("limit") {
        None => Ok(default),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(
                "invalid_parameter",
                format!("limit must be a whole number from 1 to {MAX_LIMIT}, got '{text}'"),
            )),
        },
    }
}

/// The `offset` query parameter (default 0).
pub(crate) fn offset_param(params: &HashMap<String, String>) -> Result<u64, ApiError> {
    match params.get("offset") {
        None => Ok(0),
        Some(text) => text.parse::<u64>().map_err(|_| {
            ApiError::bad_request(
                "invalid_parameter",
                format!("offset must be a whole number, got '{text}'"),
            )
        }),
    }
}

/// Runs a read of the log off the async workers: it does file I/O.
async fn read_log<T: Send + 'static>(
    state: &AppState,
    read: impl FnOnce(&Collector) -> Result<T, CollectError> + Send + 'static,
) -> Result<T, ApiError> {
    let collector = state.collector.clone();
    tokio::task::spawn_blocking(move || read(&collector))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
        .map_err(ApiError::from)
}

/// `GET /api/v1/events?user_id=…|anonymous_id=…&limit=…`
pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<EventPage>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let non_empty = |key: &str| params.get(key).filter(|v| !v.is_empty());
    let (kind, id) = match (non_empty("user_id"), non_empty("anonymous_id")) {
        (Some(id), None) => (IdKind::UserId, id.clone()),
        (None, Some(id)) => (IdKind::AnonymousId, id.clone()),
        _ => {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                "give exactly one non-empty user_id or anonymous_id",
            ))
        }
    };
    let query = EventQuery {
        kind,
        id,
        limit: limit_param(&params, 100)?,
    };
    let page = read_log(&state, move |collector| collector.events(&query)).await?;
    Ok(Json(page))
}

/// `GET /api/v1/quarantine?offset=…&limit=…`
pub async fn quarantine(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<QuarantinePage>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let offset = offset_param(&params)?;
    let limit = limit_param(&params, 100)?;
    let page = read_log(&state, move |collector| {
        collector.quarantined(offset, limit)
    })
    .await?;
    Ok(Json(page))
}

/// `GET /api/v1/sources`
pub async fn list_sources(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let sources = state.sources.list()?;
    let list: Vec<_> = sources.iter().map(|s| s.as_ref()).collect();
    Ok(Json(json!({ "sources": list })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSource {
    name: String,
}

/// `POST /api/v1/sources {"name": "…"}` → 201 with the new write key.
pub async fn create_source(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let bytes = read_body(&headers, body, 64 * 1024, Limited::Admin).await?;
    let new: NewSource = parse_json(&bytes)?;
    let now = format_millis(state.collector.clock().now_millis());
    let source = state.sources.create(&new.name, now)?;
    Ok((StatusCode::CREATED, Json(source.as_ref().clone())).into_response())
}
