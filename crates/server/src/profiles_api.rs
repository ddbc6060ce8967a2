//! The profiles API: a profile by id or by any identifier, its timeline,
//! identities, merge history and segments.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use percorso_core::format_millis;
use percorso_identity::{Identifier, ProfileId};
use serde_json::{json, Value};

use crate::admin::limit_param;
use crate::app::AppState;
use crate::auth::require_admin;
use crate::error::ApiError;

pub(crate) fn no_profile(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "profile_not_found",
        format!("no profile '{id}'"),
    )
}

/// The live profile an id stands for (a merged-away id leads to the
/// profile it was merged into), or 404.
pub(crate) async fn live_profile(state: &AppState, id: &str) -> Result<String, ApiError> {
    state
        .engine
        .canonical(id)
        .await?
        .ok_or_else(|| no_profile(id))
}

pub(crate) fn identities(state: &AppState, profile: &str) -> Result<Vec<Value>, ApiError> {
    let identifiers = state
        .collector
        .identity()
        .graph()
        .identifiers(&ProfileId::new(profile))?;
    Ok(identifiers
        .unwrap_or_default()
        .into_iter()
        .map(|i| json!({ "type": i.kind.as_str(), "value": i.value }))
        .collect())
}

pub(crate) async fn profile_body(state: &AppState, id: &str) -> Result<Value, ApiError> {
    let view = state
        .engine
        .profile(id)
        .await?
        .ok_or_else(|| no_profile(id))?;
    let mut body = serde_json::to_value(&view).unwrap_or_default();
    body["identities"] = Value::Array(identities(state, &view.profile_id)?);
    for key in ["first_seen", "last_seen"] {
        if let Some(millis) = body[key].as_i64() {
            body[key] = json!(format_millis(millis));
        }
    }
    Ok(body)
}

/// `GET /api/v1/profiles/{id}`
pub async fn get_profile(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    Ok(Json(profile_body(&state, &id).await?))
}

/// `GET /api/v1/profiles?email=…` (or `user_id`, `anonymous_id`, `phone`,
/// any identifier kind): the profile holding that identifier.
pub async fn lookup_profile(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let mut given = params.iter().filter(|(k, _)| k.as_str() != "limit");
    let (Some((kind, value)), None) = (given.next(), given.next()) else {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            "give exactly one identifier, e.g. ?email=ada@example.com, ?user_id=… or ?anonymous_id=…",
        ));
    };
    state.engine.sync().await?;
    let identifier = Identifier::new(kind, value);
    let found = state.collector.identity().graph().profile_of(&identifier)?;
    let profile = found.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "profile_not_found",
            format!("no profile has {kind} '{}'", identifier.value),
        )
    })?;
    Ok(Json(profile_body(&state, &profile.0).await?))
}

/// `GET /api/v1/profiles/{id}/events?limit=…`: the timeline, merged
/// profiles' events included, in time order.
pub async fn profile_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let limit = limit_param(&params, 100)?;
    let profile = live_profile(&state, &id).await?;
    let page = timeline(&state, &profile, limit).await?;
    Ok(Json(
        json!({ "profile_id": profile, "events": page.events, "total": page.total }),
    ))
}

/// The first `limit` events of a live profile's timeline.
pub(crate) async fn timeline(
    state: &AppState,
    profile: &str,
    limit: usize,
) -> Result<percorso_collect::EventPage, ApiError> {
    let collector = state.collector.clone();
    let wanted = profile.to_owned();
    tokio::task::spawn_blocking(move || collector.timeline(&wanted, limit))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))??
        .ok_or_else(|| no_profile(profile))
}

/// `GET /api/v1/profiles/{id}/identities`
pub async fn profile_identities(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let profile = live_profile(&state, &id).await?;
    let merged = merged_profiles(&state, &profile)?;
    Ok(Json(json!({
        "profile_id": profile,
        "identities": identities(&state, &profile)?,
        "merged_profiles": merged,
    })))
}

/// The profiles merged into a live profile, transitively.
pub(crate) fn merged_profiles(state: &AppState, profile: &str) -> Result<Vec<String>, ApiError> {
    let absorbed = state
        .collector
        .identity()
        .graph()
        .absorbed(&ProfileId::new(profile))?;
    Ok(absorbed.into_iter().map(ProfileId::into_string).collect())
}

/// `GET /api/v1/profiles/{id}/merges`: the merge audit trail.
pub async fn profile_merges(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let profile = live_profile(&state, &id).await?;
    let merges = merges(&state, &profile).await?;
    Ok(Json(json!({ "profile_id": profile, "merges": merges })))
}

/// A live profile's merge audit trail, oldest first.
pub(crate) async fn merges(state: &AppState, profile: &str) -> Result<Vec<Value>, ApiError> {
    Ok(state
        .engine
        .merges(profile)
        .await?
        .into_iter()
        .map(|m| {
            json!({
                "merged_profile": m.merged_profile,
                "identifiers": m.identifiers,
                "message_id": m.message_id,
                "source_id": m.source_id,
                "at": format_millis(m.at),
            })
        })
        .collect())
}

/// `GET /api/v1/profiles/{id}/segments`: recorded membership.
pub async fn profile_segments(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let profile = live_profile(&state, &id).await?;
    let segments = memberships(&state, &profile).await?;
    Ok(Json(json!({ "profile_id": profile, "segments": segments })))
}

/// A live profile's recorded segment membership.
pub(crate) async fn memberships(state: &AppState, profile: &str) -> Result<Vec<Value>, ApiError> {
    Ok(state
        .engine
        .memberships(profile)
        .await?
        .into_iter()
        .map(|(name, member, since)| json!({ "segment": name, "member": member, "since": format_millis(since) }))
        .collect())
}
