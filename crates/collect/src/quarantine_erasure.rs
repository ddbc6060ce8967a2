//! A person's refused events leave with them: an erasure also takes out of
//! the quarantine every entry that names one of their identifiers.
//!
//! A refused event was never resolved to a profile, so entries are matched
//! by identifier: a parsed event by the identifiers identity resolution
//! would read from it; text that was not valid JSON by containing an
//! identifier's value, compared the way the kind is normalised (an email
//! whatever its case, a phone by its digits whatever the punctuation).
//! Erring towards erasing: an entry of someone else that carries the same
//! value goes too.

use percorso_identity::{identifiers_of, IdKind, Identifier};
use percorso_log::RecordLocation;
use serde_json::Value;

use crate::collector::Collector;
use crate::error::CollectError;
use crate::quarantine::QuarantinedEvent;

/// Values shorter than this are not searched for in unparsed text (a
/// one-letter id would match almost anything).
const MIN_TEXT_MATCH: usize = 3;

impl Collector {
    /// Erases the quarantine entries naming any of `identifiers`; returns
    /// how many.
    pub(crate) fn erase_quarantined(
        &self,
        identifiers: &[Identifier],
    ) -> Result<usize, CollectError> {
        if identifiers.is_empty() {
            return Ok(0);
        }
        let custom_kinds = self.identity.custom_kinds();
        let mut matching: Vec<RecordLocation> = Vec::new();
        for partition in 0..self.quarantine.partition_count() {
            for item in self.quarantine.reader(partition, 0)? {
                let (record, location) = item?;
                if record.payload.is_empty() {
                    continue; // erased already
                }
                let Ok(entry) = serde_json::from_slice::<QuarantinedEvent>(&record.payload) else {
                    continue;
                };
                if names_any(&entry.event, identifiers, custom_kinds) {
                    matching.push(location);
                }
            }
        }
        if !matching.is_empty() {
            self.quarantine.erase(&matching)?;
        }
        Ok(matching.len())
    }
}

fn names_any(event: &Value, identifiers: &[Identifier], custom_kinds: &[String]) -> bool {
    match event {
        Value::String(text) => text_names_any(text, identifiers),
        _ => {
            let extracted = identifiers_of(event, custom_kinds);
            let previous = extracted.previous_id.iter().flat_map(|value| {
                // An alias's previousId is a user or an anonymous id.
                [
                    Identifier::new(IdKind::USER_ID, value),
                    Identifier::new(IdKind::ANONYMOUS_ID, value),
                ]
            });
            extracted
                .identifiers
                .into_iter()
                .chain(previous)
                .any(|found| identifiers.contains(&found))
        }
    }
}

/// Whether unparsed text holds one of the values, in the form the kind is
/// normalised to: identity lowercases emails and keeps only a phone's
/// digits, so the stored value would miss `ADA@Example.com` or
/// `+44 20 7946 0018` written as sent.
fn text_names_any(text: &str, identifiers: &[Identifier]) -> bool {
    let lowercase = text.to_lowercase();
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    identifiers.iter().any(|id| {
        let (haystack, needle) = match id.kind.as_str() {
            IdKind::EMAIL => (lowercase.as_str(), id.value.as_str()),
            IdKind::PHONE => (digits.as_str(), id.value.trim_start_matches('+')),
            _ => (text, id.value.as_str()),
        };
        needle.len() >= MIN_TEXT_MATCH && haystack.contains(needle)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn entries_are_matched_by_identifier_or_by_text() {
        let ada = [
            Identifier::new("user_id", "ada"),
            Identifier::new("email", "ada@example.com"),
        ];
        let named = [
            json!({ "type": "track", "userId": "ada", "event": 7 }),
            json!({ "type": "identify", "anonymousId": "x", "traits": { "email": "ADA@example.com " } }),
            json!({ "type": "alias", "previousId": "ada", "userId": "y" }),
            json!("{\"userId\": \"ada\", broken"),
            json!("{\"traits\": {\"email\": \"Ada@Example.COM\"}, broken"),
        ];
        for event in &named {
            assert!(names_any(event, &ada, &[]), "{event}");
        }
        let others = [
            json!({ "type": "track", "userId": "grace", "properties": { "note": "ada" } }),
            json!("{\"userId\": \"grace\", broken"),
            json!("{\"userId\": \"ADA\", broken"),
        ];
        for event in &others {
            assert!(!names_any(event, &ada, &[]), "{event}");
        }
    }

    #[test]
    fn unparsed_text_matches_a_phone_by_its_digits() {
        let ada = [Identifier::new("phone", "+44 20 7946 0018")];
        let sent = json!("{\"traits\": {\"phone\": \"+44 (20) 7946-0018\"}, broken");
        assert!(names_any(&sent, &ada, &[]));
        let other = json!("{\"traits\": {\"phone\": \"+44 20 7946 0019\"}, broken");
        assert!(!names_any(&other, &ada, &[]));
    }
}
