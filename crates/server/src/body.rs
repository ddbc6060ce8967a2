//! Reading request bodies: size limits (applied after decompression, so a
//! small gzip bomb cannot expand past them) and JSON parsing.

use std::io::Read;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};

use crate::error::ApiError;

/// Reads the body, undoing `Content-Encoding: gzip`, refusing more than
/// `limit` bytes either way. `what` names the thing limited, for messages.
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    what: Limited,
) -> Result<Bytes, ApiError> {
    let raw = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| what.error(limit))?;
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("") | Some("identity") => Ok(raw),
        Some("gzip") | Some("x-gzip") => gunzip(&raw, limit, what),
        Some(other) => Err(ApiError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            format!("Content-Encoding '{other}' is not supported; use gzip or none"),
        )),
    }
}

fn gunzip(raw: &[u8], limit: usize, what: Limited) -> Result<Bytes, ApiError> {
    let mut out = Vec::with_capacity(raw.len() * 4);
    // A gzip body may hold several members (RFC 1952); `GzDecoder` would
    // stop after the first and silently drop the rest.
    let decoder = flate2::read::MultiGzDecoder::new(raw);
    decoder
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| {
            ApiError::bad_request("invalid_gzip", format!("body is not valid gzip: {e}"))
        })?;
    if out.len() > limit {
        return Err(what.error(limit));
    }
    Ok(Bytes::from(out))
}

/// What a body limit protects.
#[derive(Debug, Clone, Copy)]
pub enum Limited {
    Event,
    Batch,
    Admin,
}

impl Limited {
    fn error(self, limit: usize) -> ApiError {
        match self {
            Limited::Event => ApiError::too_large(
                "event_too_large",
                format!("event is larger than {limit} bytes"),
            ),
            Limited::Batch => ApiError::too_large(
                "batch_too_large",
                format!("batch request is larger than {limit} bytes; send smaller batches"),
            ),
            Limited::Admin => ApiError::too_large(
                "body_too_large",
                format!("request body is larger than {limit} bytes"),
            ),
        }
    }
}

/// Parses a JSON body, naming the position of a syntax error.
pub fn parse_json<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let code = if e.is_data() {
            "invalid_body"
        } else {
            "invalid_json"
        };
        ApiError::bad_request(code, format!("request body: {e}"))
    })
}
