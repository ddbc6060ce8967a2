//! Privacy requests: erase a person (`DELETE /api/v1/profiles/{id}`) and
//! export everything held about them (`GET /api/v1/profiles/{id}/export`).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use percorso_core::format_millis;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::auth::require_admin;
use crate::error::ApiError;
use crate::profiles_api::{
    identities, live_profile, memberships, merged_profiles, merges, no_profile, profile_body,
    timeline,
};

/// `DELETE /api/v1/profiles/{id}`: erases the profile, every profile merged
/// into it, their identifiers and their events, from the log and from
/// everything derived from it. The answer says what was erased.
pub async fn erase_profile(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let report = state
        .engine
        .erase_profile(&id)
        .await?
        .ok_or_else(|| no_profile(&id))?;
    Ok(Json(json!({
        "erased": true,
        "profile_id": report.profile_id,
        "profiles": report.profiles,
        "identifiers": report.identifiers,
        "events": report.events,
        "quarantined": report.quarantined,
    })))
}

/// `GET /api/v1/profiles/{id}/export`: the profile (traits with their
/// sources, computed traits, consent, segments), its identities, merge
/// trail, segment membership and every event held, in one document.
pub async fn export_profile(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let profile = live_profile(&state, &id).await?;
    let body = profile_body(&state, &profile).await?;
    let page = timeline(&state, &profile, usize::MAX).await?;
    Ok(Json(json!({
        "exported_at": format_millis(state.collector.clock().now_millis()),
        "profile_id": profile,
        "profile": body,
        "identities": identities(&state, &profile)?,
        "merged_profiles": merged_profiles(&state, &profile)?,
        "merges": merges(&state, &profile).await?,
        "segments": memberships(&state, &profile).await?,
        "events": page.events,
    })))
}
