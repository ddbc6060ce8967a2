//! A baseline for benchmarks: the same HTTP stack and body reading as the
//! real batch route, but nothing parsed, stored or synced. The ratio of the
//! two shows what durability and processing cost on top of HTTP.

use axum::body::Body;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::body::{read_body, Limited};
use crate::error::ApiError;

async fn accept(headers: HeaderMap, body: Body) -> Result<Json<Value>, ApiError> {
    let bytes = read_body(&headers, body, 500 * 1024, Limited::Batch).await?;
    Ok(Json(json!({ "success": true, "bytes": bytes.len() })))
}

pub fn noop_router() -> Router {
    Router::new().route("/v1/batch", post(accept))
}
