//! Events that were refused, kept with the reason in their own log so that
//! nothing sent to Percorso disappears without a trace.

use percorso_core::format_millis;
use percorso_log::EventLog;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::CollectError;

/// One refused event as kept in the quarantine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuarantinedEvent {
    pub received_at: String,
    pub source_id: String,
    pub source_name: String,
    /// Where the event was in what was sent: "request", "batch item 3", "line 17".
    pub origin: String,
    pub code: String,
    pub message: String,
    /// The event as sent (a string when it was not valid JSON).
    pub event: Value,
}

/// A page of the quarantine.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuarantinePage {
    pub items: Vec<QuarantineEntry>,
    /// Pass as `offset` to read the next page; equal to `end` when done.
    pub next_offset: u64,
    pub end: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuarantineEntry {
    pub offset: u64,
    #[serde(flatten)]
    pub event: QuarantinedEvent,
}

pub(crate) fn encode(event: &QuarantinedEvent) -> Vec<u8> {
    serde_json::to_vec(event).unwrap_or_default()
}

pub(crate) fn new_entry(
    received_at: i64,
    source: &crate::Source,
    origin: String,
    rejection: &crate::Rejection,
    event: Value,
) -> QuarantinedEvent {
    QuarantinedEvent {
        received_at: format_millis(received_at),
        source_id: source.id.clone(),
        source_name: source.name.clone(),
        origin,
        code: rejection.code.to_owned(),
        message: rejection.message.clone(),
        event,
    }
}

/// Hides the values of `"writeKey": "..."` in text that could not be parsed
/// as JSON, so a credential never lands in the quarantine.
pub(crate) fn redact_write_keys(text: &str) -> String {
    const FIELD: &str = "\"writeKey\"";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(FIELD) {
        let (before, after) = rest.split_at(at + FIELD.len());
        out.push_str(before);
        let value_start = after.trim_start().strip_prefix(':').map(str::trim_start);
        let Some(value) = value_start.and_then(|v| v.strip_prefix('"')) else {
            rest = after;
            continue;
        };
        // The string ends at the first quote not escaped by a backslash.
        let mut escaped = false;
        let end = value
            .char_indices()
            .find(|&(_, c)| {
                let closes = c == '"' && !escaped;
                escaped = c == '\\' && !escaped;
                closes
            })
            .map_or(value.len(), |(i, _)| i);
        out.push_str(":\"[redacted]");
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

/// Reads up to `limit` quarantined events starting at `offset`.
pub(crate) fn read_page(
    log: &EventLog,
    offset: u64,
    limit: usize,
) -> Result<QuarantinePage, CollectError> {
    let end = log.end_offset(0)?;
    let mut items = Vec::new();
    let mut next_offset = offset.min(end);
    for record in log.reader(0, next_offset)? {
        if items.len() == limit {
            break;
        }
        let (record, location) = record?;
        next_offset = record.offset + 1;
        if record.payload.is_empty() {
            continue; // erased with the person it named
        }
        let event = serde_json::from_slice(&record.payload).map_err(|e| CollectError::Decode {
            location: format!("{location:?}"),
            reason: e.to_string(),
        })?;
        items.push(QuarantineEntry {
            offset: record.offset,
            event,
        });
    }
    Ok(QuarantinePage {
        items,
        next_offset,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::redact_write_keys;

    #[test]
    fn write_keys_in_broken_json_are_redacted() {
        let text = r#"{"writeKey" : "s3cr\"et", "userId": "u", "x": {"writeKey":"two"#;
        let redacted = redact_write_keys(text);
        assert!(
            !redacted.contains("s3cr") && !redacted.contains("two"),
            "{redacted}"
        );
        assert!(redacted.contains(r#""userId": "u""#), "{redacted}");
        assert_eq!(redact_write_keys("no key here"), "no key here");
        assert_eq!(redact_write_keys(r#""writeKey": 5"#), r#""writeKey": 5"#);
    }
}
