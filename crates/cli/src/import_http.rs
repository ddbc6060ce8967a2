//! `percorso import --url`: the same import, sent through a running
//! server's `/v1/batch` (the data directory belongs to that server).

use std::time::Duration;

use anyhow::{bail, Context};
use percorso_collect::{IncomingItem, ItemBody, Origin};
use serde::Deserialize;
use serde_json::Value;

use crate::import::{ImportedChunk, RefusedLine};

/// Requests stay under the server's 500 KB batch limit.
const MAX_BODY_BYTES: usize = 450 * 1024;
const ATTEMPTS: u32 = 5;

/// Sends import chunks to a server.
#[derive(Debug)]
pub struct HttpImporter {
    client: reqwest::Client,
    url: String,
    write_key: String,
    runtime: tokio::runtime::Runtime,
}

#[derive(Deserialize)]
struct BatchAnswer {
    /// Set on errors; `invalid_batch` is the one that still lists `errors`.
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    stored: usize,
    #[serde(default)]
    duplicates: usize,
    #[serde(default)]
    errors: Vec<BatchError>,
}

#[derive(Deserialize)]
struct BatchError {
    index: usize,
    code: String,
    message: String,
}

impl HttpImporter {
    pub fn new(base_url: &str, write_key: &str) -> anyhow::Result<Self> {
        Ok(Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
            url: format!("{}/v1/batch", base_url.trim_end_matches('/')),
            write_key: write_key.to_owned(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
        })
    }

    /// Sends `items` in as many requests as the size limit needs.
    pub fn send(&self, items: Vec<IncomingItem>) -> anyhow::Result<ImportedChunk> {
        let mut chunk = ImportedChunk::default();
        // The batch items sent next, comma-separated.
        let mut body = String::new();
        // For each item in `body`: its line, and the local reason if it was
        // refused before sending (it is still sent, so the server keeps it
        // in its quarantine).
        let mut sent: Vec<(Origin, Option<RefusedLine>)> = Vec::new();
        for item in items {
            let (text, local) = match item.body {
                ItemBody::Json {
                    text,
                    fallback_message_id,
                } => match serde_json::from_str::<&serde_json::value::RawValue>(&text) {
                    Ok(_) => (with_message_id(&text, fallback_message_id.as_deref()), None),
                    Err(e) => {
                        let message = format!("not valid JSON: {e}");
                        let local = RefusedLine::new(item.origin, "invalid_json", message);
                        (Value::String(text).to_string(), Some(local))
                    }
                },
                // Import never makes these (only the engine does); were one
                // here, the server would normalize its stored JSON again.
                ItemBody::Normalized(event) => {
                    (String::from_utf8_lossy(&event.json).into_owned(), None)
                }
                ItemBody::Refused { raw, rejection } => {
                    let local = RefusedLine::new(item.origin, rejection.code, rejection.message);
                    let raw = match raw {
                        Value::String(text) => Value::String(text),
                        other => Value::String(other.to_string()),
                    };
                    (raw.to_string(), Some(local))
                }
            };
            if text.len() + 64 > MAX_BODY_BYTES {
                // Too big for any request; the server would refuse it anyway.
                let message = format!(
                    "event is {} bytes, more than a batch request may carry",
                    text.len()
                );
                chunk
                    .rejected
                    .push(RefusedLine::new(item.origin, "event_too_large", message));
                continue;
            }
            if !sent.is_empty() && body.len() + text.len() + 32 > MAX_BODY_BYTES {
                self.post(&mut body, &mut sent, &mut chunk)?;
            }
            if !body.is_empty() {
                body.push(',');
            }
            body.push_str(&text);
            sent.push((item.origin, local));
        }
        if !sent.is_empty() {
            self.post(&mut body, &mut sent, &mut chunk)?;
        }
        Ok(chunk)
    }

    fn post(
        &self,
        body: &mut String,
        sent: &mut Vec<(Origin, Option<RefusedLine>)>,
        chunk: &mut ImportedChunk,
    ) -> anyhow::Result<()> {
        let payload = format!("{{\"historical\":true,\"batch\":[{body}]}}");
        let answer = self.runtime.block_on(self.post_with_retries(payload))?;
        if let Some(code) = answer.code.as_deref().filter(|c| *c != "invalid_batch") {
            bail!(
                "{} refused the batch: {code}: {}",
                self.url,
                answer.message.unwrap_or_default()
            );
        }
        let accounted = answer.stored + answer.duplicates + answer.errors.len();
        if accounted != sent.len() {
            bail!(
                "{} answered for {accounted} of {} events",
                self.url,
                sent.len()
            );
        }
        chunk.stored += answer.stored;
        chunk.duplicates += answer.duplicates;
        let mut sent = std::mem::take(sent);
        for error in answer.errors {
            let Some((origin, local)) = sent.get_mut(error.index) else {
                continue;
            };
            let refused = local
                .take()
                .unwrap_or_else(|| RefusedLine::new(*origin, error.code, error.message));
            chunk.rejected.push(refused);
        }
        body.clear();
        Ok(())
    }

    /// Retries what may be transient (connection errors, 5xx, 429);
    /// resending is safe because every event has a stable `messageId`.
    async fn post_with_retries(&self, payload: String) -> anyhow::Result<BatchAnswer> {
        let mut delay = Duration::from_millis(200);
        for attempt in 1..=ATTEMPTS {
            let response = self
                .client
                .post(&self.url)
                .basic_auth(&self.write_key, Some(""))
                .header("content-type", "application/json")
                .body(payload.clone())
                .send()
                .await;
            let retry = match response {
                Ok(response) => {
                    let status = response.status();
                    let text = response.text().await.unwrap_or_default();
                    if status.is_success() || status == reqwest::StatusCode::BAD_REQUEST {
                        return serde_json::from_str(&text).with_context(|| {
                            format!("unexpected answer from {}: {text}", self.url)
                        });
                    }
                    if !(status.is_server_error()
                        || status == reqwest::StatusCode::TOO_MANY_REQUESTS)
                    {
                        bail!("{} answered {status}: {text}", self.url);
                    }
                    format!("{status}: {text}")
                }
                Err(e) => e.to_string(),
            };
            if attempt == ATTEMPTS {
                bail!("{} failed {ATTEMPTS} times; last: {retry}", self.url);
            }
            tracing::warn!(attempt, error = %retry, "retrying batch");
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
        unreachable!("the loop returns or bails on its last attempt")
    }
}

/// Gives the object `message_id` when its own `messageId` is missing,
/// null or empty, so the server deduplicates re-imports exactly as a local
/// import does. Text that is not an object is sent as it is.
fn with_message_id(text: &str, message_id: Option<&str>) -> String {
    let Some(id) = message_id else {
        return text.to_owned();
    };
    let Ok(object) = percorso_collect::RawObject::parse(text) else {
        return text.to_owned();
    };
    if object.present("messageId").is_some_and(|raw| raw != "\"\"") {
        return text.to_owned();
    }
    let mut members = vec![format!("\"messageId\":{}", Value::String(id.to_owned()))];
    for (key, value) in &object.members {
        if key != "messageId" {
            members.push(format!("{}:{}", Value::String(key.clone()), value.get()));
        }
    }
    format!("{{{}}}", members.join(","))
}

#[cfg(test)]
mod tests {
    use super::with_message_id;

    #[test]
    fn adds_a_message_id_only_where_there_is_none() {
        let cases = [
            (r#"{"a": [1, 2]}"#, r#"{"messageId":"m","a":[1, 2]}"#),
            (" { } ", r#"{"messageId":"m"}"#),
            (r#"{"messageId":"x"}"#, r#"{"messageId":"x"}"#),
            (r#"{"messageId":null,"a":1}"#, r#"{"messageId":"m","a":1}"#),
            (r#"{"a":1,"messageId":""}"#, r#"{"messageId":"m","a":1}"#),
            ("not json", "not json"),
        ];
        for (text, expected) in cases {
            assert_eq!(with_message_id(text, Some("m")), expected, "{text}");
        }
        assert_eq!(with_message_id(r#"{"a":1}"#, None), r#"{"a":1}"#);
    }
}
