//! The one error type of the HTTP edge. Every failure answers with a JSON
//! body `{"code", "message", "type"}`; codes are stable, messages are for
//! people, internal details go to the log only.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use percorso_collect::CollectError;
use serde_json::json;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn too_large(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, code, message)
    }

    /// The broad class of the error, as in the `type` field.
    fn kind(&self) -> &'static str {
        match self.status.as_u16() {
            401 | 403 => "auth",
            400..=499 => "invalid_request",
            _ => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "code": self.code, "message": self.message, "type": self.kind() });
        (self.status, Json(body)).into_response()
    }
}

impl From<CollectError> for ApiError {
    fn from(error: CollectError) -> Self {
        match error {
            CollectError::BadSourceName(_) => {
                ApiError::bad_request("invalid_source_name", error.to_string())
            }
            CollectError::SourceExists(_) => {
                ApiError::new(StatusCode::CONFLICT, "source_exists", error.to_string())
            }
            other => {
                tracing::error!(error = %other, "storage error");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "events could not be stored durably; nothing from this request was acknowledged, retry later",
                )
            }
        }
    }
}

/// A state store read behind the API (the identity graph's rows).
impl From<percorso_store::StoreError> for ApiError {
    fn from(error: percorso_store::StoreError) -> Self {
        CollectError::from(error).into()
    }
}

impl From<percorso_engine::EngineError> for ApiError {
    fn from(error: percorso_engine::EngineError) -> Self {
        use percorso_engine::EngineError;
        match error {
            EngineError::Invalid(message) => ApiError::bad_request("invalid_definition", message),
            EngineError::Exists(message) => {
                ApiError::new(StatusCode::CONFLICT, "already_exists", message)
            }
            EngineError::NotFound(message) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
            }
            EngineError::InUse(message) => {
                ApiError::new(StatusCode::CONFLICT, "definition_in_use", message)
            }
            other => {
                tracing::error!(error = %other, "profile engine error");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "engine_unavailable",
                    "the profile engine cannot answer now; retry later",
                )
            }
        }
    }
}
