//! The Segment HTTP Tracking API: `/v1/{track,identify,page,screen,group,alias,batch}`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use percorso_collect::{
    BatchDefaults, IncomingItem, IngestOutcome, Origin, RawObject, Rejection, Source,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use crate::app::AppState;
use crate::auth::{authenticate_source, write_key_from_headers};
use crate::body::{parse_json, read_body, Limited};
use crate::error::ApiError;

/// The sender, when it authenticated with a header: checked before the body
/// is read, so a wrong key costs no parsing.
fn source_from_headers(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Arc<Source>>, ApiError> {
    write_key_from_headers(headers)?
        .map(|key| authenticate_source(&state.sources, Some(key), None))
        .transpose()
}

/// Handles a single-message route; `route_type` is the message type it implies.
pub async fn single(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    route_type: &'static str,
) -> Result<Response, ApiError> {
    let early = source_from_headers(state, headers)?;
    let max_event = state.collector.config().max_event_bytes;
    let bytes = read_body(headers, body, max_event, Limited::Event).await?;
    let (text, body_key) = match single_message(&bytes) {
        Ok(parsed) => parsed,
        Err(error) => {
            return Err(quarantine_unreadable(state, early.as_deref(), &bytes, error).await)
        }
    };
    let source = match early {
        Some(source) => source,
        None => authenticate_source(&state.sources, None, body_key.as_deref())?,
    };
    let item = IncomingItem::json(Origin::Request, text.to_owned());
    let outcome = ingest_to_completion(
        state,
        source,
        Some(route_type),
        BatchDefaults::default(),
        vec![item],
    )
    .await?;
    if let Some(rejected) = outcome.rejected.first() {
        return Err(ApiError::bad_request(
            rejected.code,
            rejected.message.clone(),
        ));
    }
    Ok(Json(json!({ "success": true, "duplicate": outcome.duplicates > 0 })).into_response())
}

#[derive(Deserialize)]
struct BatchBody<'a> {
    #[serde(borrow)]
    batch: Vec<&'a RawValue>,
    #[serde(default)]
    context: Option<Map<String, Value>>,
    #[serde(default)]
    integrations: Option<Map<String, Value>>,
    #[serde(default, rename = "sentAt")]
    sent_at: Option<Value>,
    #[serde(default, rename = "writeKey")]
    write_key: Option<String>,
    /// Percorso's extension for importers: the items are history, so their
    /// `timestamp` is kept rather than corrected for clock skew.
    #[serde(default)]
    historical: bool,
}

/// `POST /v1/batch`: valid items are stored, invalid ones quarantined, and
/// the answer says which were refused and why.
pub async fn batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let early = source_from_headers(&state, &headers)?;
    let bytes = read_body(&headers, body, state.limits.max_batch_bytes, Limited::Batch).await?;
    let parsed: BatchBody<'_> = match parse_json(&bytes) {
        Ok(parsed) => parsed,
        Err(error) => {
            return Err(quarantine_unreadable(&state, early.as_deref(), &bytes, error).await)
        }
    };
    let source = match early {
        Some(source) => source,
        None => authenticate_source(&state.sources, None, parsed.write_key.as_deref())?,
    };
    let defaults = BatchDefaults {
        context: parsed.context,
        integrations: parsed.integrations,
        sent_at: parsed.sent_at,
        historical: parsed.historical,
    };
    let items = parsed
        .batch
        .iter()
        .enumerate()
        .map(|(i, raw)| batch_item(i, raw))
        .collect();
    let outcome = ingest_to_completion(&state, source, None, defaults, items).await?;
    Ok(batch_response(&outcome))
}

/// Runs an ingest on its own task. If the client hangs up, hyper drops the
/// handler; an ingest dropped half-way would leave events durable but not
/// indexed, and dedup claims unsettled. On its own task it always finishes.
async fn ingest_to_completion(
    state: &AppState,
    source: Arc<Source>,
    route_type: Option<&'static str>,
    defaults: BatchDefaults,
    items: Vec<IncomingItem>,
) -> Result<IngestOutcome, ApiError> {
    let collector = state.collector.clone();
    let task = tokio::spawn(async move {
        collector
            .ingest(&source, route_type, &defaults, items)
            .await
    });
    match task.await {
        Ok(outcome) => Ok(outcome?),
        Err(e) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("ingest task failed: {e}"),
        )),
    }
}

fn batch_item(index: usize, raw: &RawValue) -> IncomingItem {
    IncomingItem::json(Origin::BatchItem(index), raw.get().to_owned())
}

/// Checks that a single-message body is a JSON object and finds the write
/// key it may carry; the message itself is normalised later, as text.
fn single_message(bytes: &[u8]) -> Result<(&str, Option<String>), ApiError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ApiError::bad_request("invalid_json", format!("request body is not UTF-8: {e}"))
    })?;
    let not_an_object = Rejection::new("invalid_body", "must be a JSON object");
    let object = RawObject::parse_message(text, not_an_object)
        .map_err(|r| ApiError::bad_request(r.code, format!("request body: {}", r.message)))?;
    let write_key = object
        .present("writeKey")
        .and_then(|raw| serde_json::from_str::<String>(raw).ok());
    Ok((text, write_key))
}

fn batch_response(outcome: &IngestOutcome) -> Response {
    let mut body = json!({
        "success": outcome.rejected.is_empty(),
        "received": outcome.received,
        "stored": outcome.stored,
        "duplicates": outcome.duplicates,
        "rejected": outcome.rejected.len(),
        "errors": outcome.rejected,
    });
    let nothing_accepted = outcome.stored + outcome.duplicates == 0;
    if nothing_accepted && !outcome.rejected.is_empty() {
        let first = &outcome.rejected[0];
        body["code"] = json!("invalid_batch");
        body["type"] = json!("invalid_request");
        body["message"] = json!(format!(
            "all {} items were rejected and quarantined; first: batch item {}: {}",
            outcome.rejected.len(),
            first.index.unwrap_or(0),
            first.message
        ));
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    Json(body).into_response()
}

/// A body that cannot be read is refused; when the sender is known it is
/// also kept in the quarantine, so a broken integration can be debugged
/// from what it actually sent.
async fn quarantine_unreadable(
    state: &AppState,
    source: Option<&Source>,
    bytes: &[u8],
    error: ApiError,
) -> ApiError {
    let Some(source) = source else {
        return error;
    };
    let rejection = Rejection::new(error.code, error.message.clone());
    match state
        .collector
        .quarantine_unreadable(source, Origin::Request, bytes, rejection)
        .await
    {
        Ok(()) => error,
        Err(storage) => storage.into(),
    }
}
