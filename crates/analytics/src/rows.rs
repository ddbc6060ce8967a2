//! One event as a row of the `events` table, read from its log record.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::schema::{activity_name, profile_key};

/// An event flattened into the table's columns.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub profile_key: u64,
    pub profile_id: String,
    pub timestamp: i64,
    pub received_at: i64,
    pub kind: String,
    pub event: String,
    pub name: Option<String>,
    pub channel: Option<String>,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub message_id: Option<String>,
    pub source_id: String,
    /// JSON text of `properties`.
    pub properties: Option<String>,
    /// JSON text of `traits` (identify and group).
    pub traits: Option<String>,
    /// JSON text of `context`.
    pub context: Option<String>,
}

/// The members of a stored message the table keeps; the rest stay in the log.
#[derive(Deserialize)]
struct Message<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, rename = "messageId", borrow)]
    message_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    properties: Option<&'a RawValue>,
    #[serde(default, borrow)]
    traits: Option<&'a RawValue>,
    #[serde(default, borrow)]
    context: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Context<'a> {
    #[serde(default, borrow)]
    channel: Option<Cow<'a, str>>,
}

/// What the log record says about an event, beside its JSON.
#[derive(Debug, Clone, Copy)]
pub struct RecordFacts<'a> {
    pub timestamp: i64,
    pub received_at: i64,
    pub source_id: &'a str,
    pub user_id: &'a str,
    pub anonymous_id: &'a str,
}

impl EventRow {
    /// The row for an event of `profile_id` whose stored JSON is `json`.
    pub fn from_message(
        profile_id: &str,
        facts: RecordFacts<'_>,
        json: &[u8],
    ) -> Result<Self, serde_json::Error> {
        let message: Message<'_> = serde_json::from_slice(json)?;
        let channel = match message.context {
            Some(raw) => serde_json::from_str::<Context<'_>>(raw.get())
                .ok()
                .and_then(|c| c.channel.map(Cow::into_owned)),
            None => None,
        };
        let json_text = |raw: Option<&RawValue>| {
            raw.map(|r| r.get())
                .filter(|text| *text != "null")
                .map(str::to_owned)
        };
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Ok(EventRow {
            profile_key: profile_key(profile_id),
            profile_id: profile_id.to_owned(),
            timestamp: facts.timestamp,
            received_at: facts.received_at,
            event: activity_name(&message.kind, message.event.as_deref()).to_owned(),
            kind: message.kind.into_owned(),
            name: message.name.map(Cow::into_owned),
            channel,
            user_id: some(facts.user_id),
            anonymous_id: some(facts.anonymous_id),
            message_id: message.message_id.map(Cow::into_owned),
            source_id: facts.source_id.to_owned(),
            properties: json_text(message.properties),
            traits: json_text(message.traits),
            context: json_text(message.context),
        })
    }

    /// The order rows are stored in: by person, then time, then arrival.
    pub fn sort_key(&self) -> (u64, i64, i64) {
        (self.profile_key, self.timestamp, self.received_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_a_track_message() {
        let json = br#"{"type":"track","event":"Order Completed","messageId":"m1",
            "properties":{"revenue":42},"context":{"channel":"web","ip":"x"}}"#;
        let facts = RecordFacts {
            timestamp: 5,
            received_at: 7,
            source_id: "src",
            user_id: "ada",
            anonymous_id: "",
        };
        let row = EventRow::from_message("prof_1", facts, json).unwrap();
        assert_eq!(row.event, "Order Completed");
        assert_eq!(row.channel.as_deref(), Some("web"));
        assert_eq!(row.properties.as_deref(), Some(r#"{"revenue":42}"#));
        assert_eq!(row.anonymous_id, None);
        assert_eq!(row.user_id.as_deref(), Some("ada"));
        assert_eq!(row.profile_key, profile_key("prof_1"));
    }

    #[test]
    fn names_page_views() {
        let json = br#"{"type":"page","name":"Home","properties":null}"#;
        let facts = RecordFacts {
            timestamp: 1,
            received_at: 1,
            source_id: "s",
            user_id: "",
            anonymous_id: "a",
        };
        let row = EventRow::from_message("p", facts, json).unwrap();
        assert_eq!(row.event, "Page Viewed");
        assert_eq!(row.name.as_deref(), Some("Home"));
        assert_eq!(row.properties, None);
    }
}
