//! The segments and computed traits API.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use percorso_core::format_millis;
use percorso_engine::SegmentSummary;
use percorso_profiles::ComputedTrait;
use serde_json::{json, Value};

use crate::admin::{limit_param, offset_param};
use crate::app::AppState;
use crate::auth::require_admin;
use crate::body::{parse_json, read_body, Limited};
use crate::error::ApiError;

const MAX_DEFINITION_BYTES: usize = 256 * 1024;

async fn definition_text(headers: &HeaderMap, body: Body) -> Result<String, ApiError> {
    let bytes = read_body(headers, body, MAX_DEFINITION_BYTES, Limited::Admin).await?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| ApiError::bad_request("invalid_segment", "the definition is not UTF-8 text"))
}

fn summary_json(summary: &SegmentSummary) -> Value {
    let mut body = serde_json::to_value(summary).unwrap_or_default();
    body["created_at"] = json!(format_millis(summary.created_at));
    body["backfill"] = match summary.backfill {
        None => json!({ "done": true }),
        Some(p) => json!({ "done": false, "read": p.read, "total": p.total }),
    };
    body
}

/// `POST /api/v1/segments` with the definition (YAML or JSON) as the body:
/// 201 and the segment, which is then back-filled.
pub async fn create_segment(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let text = definition_text(&headers, body).await?;
    let summary = state.engine.create_segment(&text).await?;
    Ok((StatusCode::CREATED, Json(summary_json(&summary))).into_response())
}

/// `POST /api/v1/segments/validate`: checks a definition, creates nothing.
pub async fn validate_segment(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let text = definition_text(&headers, body).await?;
    let entry = state.engine.validate_segment(&text)?;
    Ok(Json(json!({ "valid": true, "name": entry.name })))
}

/// `GET /api/v1/segments`
pub async fn list_segments(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let segments: Vec<Value> = state
        .engine
        .segments()
        .await?
        .iter()
        .map(summary_json)
        .collect();
    Ok(Json(json!({ "segments": segments })))
}

/// `GET /api/v1/segments/{name}`: definition, member count, back-fill.
pub async fn get_segment(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    Ok(Json(summary_json(&state.engine.segment(&name).await?)))
}

/// `DELETE /api/v1/segments/{name}`: the segment, its membership and
/// history go; members leave silently.
pub async fn delete_segment(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    state.engine.delete_segment(&name).await?;
    Ok(Json(json!({ "deleted": name })))
}

/// `GET /api/v1/segments/{name}/members?after=…&limit=…`: members in
/// profile-id order; pass the last id of a page as `after` for the next.
pub async fn segment_members(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let limit = limit_param(&params, 100)?;
    let after = params.get("after").map(String::as_str);
    let (members, total) = state.engine.members(&name, after, limit).await?;
    let next = (members.len() == limit)
        .then(|| members.last().cloned())
        .flatten();
    Ok(Json(
        json!({ "segment": name, "members": members, "total": total, "next_after": next }),
    ))
}

/// `GET /api/v1/segments/{name}/history?offset=…&limit=…`: every recorded
/// entry and exit.
pub async fn segment_history(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let limit = limit_param(&params, 100)?;
    let offset = usize::try_from(offset_param(&params)?).unwrap_or(usize::MAX);
    let (changes, total) = state.engine.history(&name, offset, limit).await?;
    let changes: Vec<Value> = changes
        .into_iter()
        .map(|c| json!({ "profile_id": c.profile_id, "change": if c.entered { "entered" } else { "exited" }, "at": format_millis(c.at) }))
        .collect();
    Ok(Json(
        json!({ "segment": name, "changes": changes, "total": total }),
    ))
}

/// `POST /api/v1/computed-traits` with a computed trait as JSON.
pub async fn create_trait(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let bytes = read_body(&headers, body, MAX_DEFINITION_BYTES, Limited::Admin).await?;
    let definition: ComputedTrait = parse_json(&bytes)?;
    state.engine.create_trait(definition.clone()).await?;
    Ok((StatusCode::CREATED, Json(definition)).into_response())
}

/// `GET /api/v1/computed-traits`
pub async fn list_traits(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    Ok(Json(
        json!({ "computed_traits": state.engine.traits().await? }),
    ))
}

/// `DELETE /api/v1/computed-traits/{name}`: refused (409) while a segment
/// reads the trait or the configuration file declares it.
pub async fn delete_trait(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    state.engine.delete_trait(&name).await?;
    Ok(Json(json!({ "deleted": name })))
}
