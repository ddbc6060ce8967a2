//! The journeys API: deploy journey files, change their status, enter
//! customers, read counters, a profile's journeys, and dead letters.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use percorso_identity::Identifier;
use percorso_journeys::{locate_line, parse_journey, Status};
use serde_json::{json, Value};

use crate::app::AppState;
use crate::auth::require_admin;
use crate::body::{parse_json, read_body, Limited};
use crate::error::ApiError;

const MAX_JOURNEY_BYTES: usize = 512 * 1024;

async fn journey_text(headers: &HeaderMap, body: Body) -> Result<String, ApiError> {
    let bytes = read_body(headers, body, MAX_JOURNEY_BYTES, Limited::Admin).await?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| ApiError::bad_request("invalid_journey", "the journey is not UTF-8 text"))
}

/// 400 `invalid_journey` listing every problem with its line and field.
fn checked(text: &str) -> Result<percorso_journeys::Journey, Box<Response>> {
    parse_journey(text).map_err(|problems| {
        let list: Vec<Value> = problems
            .0
            .iter()
            .map(|p| json!({ "path": p.path, "line": locate_line(text, &p.path), "message": p.message }))
            .collect();
        let message = format!("{} problem(s): {}", list.len(), problems.0.first().map(ToString::to_string).unwrap_or_default());
        let body = json!({ "code": "invalid_journey", "message": message, "type": "invalid_request_error", "problems": list });
        Box::new((StatusCode::BAD_REQUEST, Json(body)).into_response())
    })
}

/// `POST /api/v1/journeys/validate`: every problem, nothing deployed.
pub async fn validate_journey(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let text = journey_text(&headers, body).await?;
    Ok(match checked(&text) {
        Ok(journey) => {
            Json(json!({ "valid": true, "name": journey.name, "steps": journey.steps.len() }))
                .into_response()
        }
        Err(response) => *response,
    })
}

/// `POST /api/v1/journeys[?publish=false]` with the YAML (or JSON) as the
/// body: 201 and the new version, published unless `publish=false`.
pub async fn deploy_journey(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
    body: Body,
) -> Result<Response, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let text = journey_text(&headers, body).await?;
    if let Err(response) = checked(&text) {
        return Ok(*response);
    }
    let publish = match params.get("publish").map(String::as_str) {
        None | Some("true") => true,
        Some("false") => false,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                "publish must be true or false",
            ))
        }
    };
    let summary = state.engine.deploy_journey(&text, publish).await?;
    Ok((StatusCode::CREATED, Json(summary)).into_response())
}

/// `GET /api/v1/journeys`
pub async fn list_journeys(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    Ok(Json(json!({ "journeys": state.engine.journeys().await? })))
}

/// `GET /api/v1/journeys/{name}`: status, versions, source, history and
/// counters per step.
pub async fn get_journey(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    Ok(Json(
        serde_json::to_value(state.engine.journey(&name).await?).unwrap_or_default(),
    ))
}

/// `POST /api/v1/journeys/{name}/{publish|pause|resume|archive}`
pub async fn change_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((name, action)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let status = match action.as_str() {
        "publish" | "resume" => Status::Published,
        "pause" => Status::Paused,
        "archive" => Status::Archived,
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route",
            ))
        }
    };
    Ok(Json(
        serde_json::to_value(state.engine.set_journey_status(&name, status).await?)
            .unwrap_or_default(),
    ))
}

/// `POST /api/v1/journeys/{name}/enter` with `{"profile_id" | "user_id" |
/// "email" | "anonymous_id" | any identifier kind: "…", "context": {…}}`:
/// 202 once the entry is recorded (the journey's answer is on the profile).
pub async fn enter_journey(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let bytes = read_body(&headers, body, MAX_JOURNEY_BYTES, Limited::Admin).await?;
    let request: serde_json::Map<String, Value> = parse_json(&bytes)?;
    let context = request.get("context").cloned().unwrap_or(json!({}));
    if !context.is_object() {
        return Err(ApiError::bad_request(
            "invalid_field",
            "context must be an object",
        ));
    }
    let mut ids = request.iter().filter(|(k, _)| k.as_str() != "context");
    let (Some((kind, Value::String(value))), None) = (ids.next(), ids.next()) else {
        return Err(ApiError::bad_request(
            "invalid_body",
            "give exactly one identifier as text, e.g. {\"email\": \"ada@example.com\", \"context\": {…}}",
        ));
    };
    state.engine.sync().await?;
    let profile = if kind == "profile_id" {
        value.clone()
    } else {
        let identifier = Identifier::new(kind, value);
        let found = state.collector.identity().graph().profile_of(&identifier)?;
        found.map(|p| p.0.to_string()).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "profile_not_found",
                format!("no profile has {kind} '{}'", identifier.value),
            )
        })?
    };
    let message_id = state.engine.enter_journey(&profile, &name, context).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "journey": name, "profile_id": profile, "message_id": message_id })),
    )
        .into_response())
}

/// `GET /api/v1/profiles/{id}/journeys`: passes, entries, the recent path.
pub async fn profile_journeys(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    let found = state.engine.profile_journeys(&id).await?;
    let journeys = found.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "profile_not_found",
            format!("no profile '{id}'"),
        )
    })?;
    Ok(Json(serde_json::to_value(journeys).unwrap_or_default()))
}

/// `GET /api/v1/dead-letters`
pub async fn dead_letters(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    Ok(Json(
        json!({ "dead_letters": state.engine.dead_letters().await? }),
    ))
}

/// `POST /api/v1/dead-letters/{key}/retry`: deliver the message again.
pub async fn retry_dead_letter(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&headers, &state.admin_token)?;
    state.engine.retry_dead_letter(&key).await?;
    Ok(Json(json!({ "retrying": key })))
}
