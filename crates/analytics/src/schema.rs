//! The columns of the `events` table as stored in Parquet.
//!
//! Rows are sorted by (`profile_key`, `timestamp`, `received_at`), so each
//! person's journey is one contiguous run of rows in a file. The key is a
//! hash of the profile id: fixed width, cheap to compare and to skip by
//! row-group statistics, where the id itself would be a string compare.

use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

pub const PROFILE_KEY: &str = "profile_key";
pub const PROFILE_ID: &str = "profile_id";
pub const TIMESTAMP: &str = "timestamp";
pub const RECEIVED_AT: &str = "received_at";
pub const TYPE: &str = "type";
pub const EVENT: &str = "event";
pub const NAME: &str = "name";
pub const CHANNEL: &str = "channel";
pub const USER_ID: &str = "user_id";
pub const ANONYMOUS_ID: &str = "anonymous_id";
pub const MESSAGE_ID: &str = "message_id";
pub const SOURCE_ID: &str = "source_id";
pub const PROPERTIES: &str = "properties";
pub const TRAITS: &str = "traits";
pub const CONTEXT: &str = "context";

/// Times in every table: ms since the epoch, UTC.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

static EVENTS: LazyLock<SchemaRef> = LazyLock::new(|| {
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        Field::new(PROFILE_KEY, DataType::UInt64, false),
        text(PROFILE_ID, false),
        Field::new(TIMESTAMP, timestamp_type(), false),
        Field::new(RECEIVED_AT, timestamp_type(), false),
        text(TYPE, false),
        text(EVENT, false),
        text(NAME, true),
        text(CHANNEL, true),
        text(USER_ID, true),
        text(ANONYMOUS_ID, true),
        text(MESSAGE_ID, true),
        text(SOURCE_ID, false),
        text(PROPERTIES, true),
        text(TRAITS, true),
        text(CONTEXT, true),
    ]))
});

/// The schema every events file is written with.
pub fn events_schema() -> SchemaRef {
    EVENTS.clone()
}

/// The position of a column in [`events_schema`] (and in every events
/// file). Panics on a name the schema does not have: a programming error.
pub fn column(name: &str) -> usize {
    EVENTS
        .index_of(name)
        .unwrap_or_else(|_| panic!("the events schema has no column {name}"))
}

/// The key rows are sorted and grouped by: a 64-bit hash of the profile id.
/// Two ids sharing a key would read as one journey; at 10M profiles the
/// chance that any pair does is about 3 in a million.
pub fn profile_key(profile_id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(profile_id.as_bytes())
}

/// The activity name of a message: the event of a `track`, and a fixed
/// name for the other types, so journeys, funnels and paths can mix page
/// views with tracked events.
pub fn activity_name<'a>(kind: &str, event: Option<&'a str>) -> &'a str {
    match kind {
        "track" => event.unwrap_or(""),
        "page" => "Page Viewed",
        "screen" => "Screen Viewed",
        "identify" => "Identify",
        "group" => "Group",
        "alias" => "Alias",
        _ => "",
    }
}
