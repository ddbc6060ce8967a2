//! Who is calling: write keys for the tracking API, the admin token for the
//! admin API.

use std::sync::Arc;

use axum::http::{header, HeaderMap};
use base64::Engine;
use percorso_collect::{Source, SourceRegistry};

use crate::error::ApiError;

/// The write key from `Authorization: Basic base64(key:)` (how Segment's
/// libraries send it) or `Authorization: Bearer key`.
pub fn write_key_from_headers(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| {
        ApiError::unauthorized("invalid_authorization", "Authorization header is not text")
    })?;
    let (scheme, credentials) = value.trim().split_once(' ').unwrap_or((value, ""));
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "invalid_authorization",
                    "Basic credentials are not valid base64",
                )
            })?;
        let user = decoded
            .split_once(':')
            .map_or(decoded.as_str(), |(user, _)| user);
        // An empty user name is no key: the body may still carry one.
        return Ok(Some(user.to_owned()).filter(|u| !u.is_empty()));
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        return Ok(Some(credentials.to_owned()));
    }
    Err(ApiError::unauthorized(
        "invalid_authorization",
        "Authorization must be Basic (write key as user name) or Bearer",
    ))
}

/// Finds the source of a write key from the header or, failing that, the body.
pub fn authenticate_source(
    sources: &SourceRegistry,
    header_key: Option<String>,
    body_key: Option<&str>,
) -> Result<Arc<Source>, ApiError> {
    let key = header_key
        .or_else(|| body_key.map(str::to_owned))
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized(
                "missing_write_key",
                "no write key: send it as the Basic auth user name, a Bearer token or writeKey in the body",
            )
        })?;
    sources.by_write_key(&key).ok_or_else(|| {
        ApiError::unauthorized(
            "invalid_write_key",
            "the write key does not belong to any source",
        )
    })
}

/// Checks `Authorization: Bearer <admin token>`.
pub fn require_admin(headers: &HeaderMap, admin_token: &str) -> Result<(), ApiError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        // The scheme is case-insensitive (RFC 9110 §11.1), as for write keys.
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match presented {
        Some(token) if constant_time_eq(token.as_bytes(), admin_token.as_bytes()) => Ok(()),
        Some(_) => Err(ApiError::unauthorized(
            "invalid_admin_token",
            "the admin token is not valid",
        )),
        None => Err(ApiError::unauthorized(
            "missing_admin_token",
            "the admin API needs Authorization: Bearer <admin token>",
        )),
    }
}

/// Compares without stopping at the first difference, so response timing
/// does not reveal how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
