//! The small tables SQL sessions get beside the events files: profile
//! merges, and the merges the files do not show yet.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray, TimestampMillisecondArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;

use crate::compactor::MergeLine;
use crate::error::AnalyticsError;
use crate::schema::{self, events_schema, profile_key};
use crate::sql::sql_error;
use crate::store::Snapshot;

/// `merges`: every profile merged into another, in log order.
pub fn merges_table(lines: &[MergeLine]) -> Result<Arc<MemTable>, AnalyticsError> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("from_profile", DataType::Utf8, false),
        Field::new("into_profile", DataType::Utf8, false),
        Field::new("at", schema::timestamp_type(), false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(lines.iter().map(|l| &l.from))),
            Arc::new(StringArray::from_iter_values(lines.iter().map(|l| &l.into))),
            Arc::new(
                TimestampMillisecondArray::from_iter_values(lines.iter().map(|l| l.at))
                    .with_timezone("UTC"),
            ),
        ],
    )?;
    Ok(Arc::new(
        MemTable::try_new(schema, vec![vec![batch]]).map_err(sql_error)?,
    ))
}

/// `moved_profiles`: for each profile merged away after its rows were
/// written, the profile it belongs to now. `None` when there is none.
pub fn moved_table(
    snapshot: &Snapshot,
    lines: &[MergeLine],
) -> Result<Option<Arc<MemTable>>, AnalyticsError> {
    let pending: HashSet<u64> = snapshot
        .manifest
        .pending_moves
        .iter()
        .map(|(from, _)| *from)
        .collect();
    if pending.is_empty() {
        return Ok(None);
    }
    let into: HashMap<&str, &str> = lines
        .iter()
        .map(|l| (l.from.as_str(), l.into.as_str()))
        .collect();
    let mut moved: HashMap<u64, String> = HashMap::new();
    for line in lines {
        let key = profile_key(&line.from);
        if pending.contains(&key) {
            moved.insert(key, last_of(&into, &line.from).to_owned());
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("from_key", DataType::UInt64, false),
        Field::new("into_key", DataType::UInt64, false),
        Field::new("into_id", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(UInt64Array::from_iter_values(moved.keys().copied())),
            Arc::new(UInt64Array::from_iter_values(
                moved.values().map(|id| profile_key(id)),
            )),
            Arc::new(StringArray::from_iter_values(moved.values())),
        ],
    )?;
    Ok(Some(Arc::new(
        MemTable::try_new(schema, vec![vec![batch]]).map_err(sql_error)?,
    )))
}

/// Where a chain of merges starting at `id` ends.
fn last_of<'a>(into: &HashMap<&'a str, &'a str>, mut id: &'a str) -> &'a str {
    for _ in 0..64 {
        match into.get(id) {
            Some(next) => id = next,
            None => break,
        }
    }
    id
}

/// `events` as the stored rows with moved profiles re-keyed.
pub fn events_view_over_moves() -> String {
    let rest: Vec<String> = events_schema()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .filter(|n| *n != schema::PROFILE_KEY && *n != schema::PROFILE_ID)
        .map(|n| format!("e.\"{n}\""))
        .collect();
    format!(
        "CREATE VIEW events AS SELECT coalesce(m.into_key, e.profile_key) AS profile_key, \
         coalesce(m.into_id, e.profile_id) AS profile_id, {} \
         FROM events_stored e LEFT JOIN moved_profiles m ON e.profile_key = m.from_key",
        rest.join(", ")
    )
}

/// Views over `events` that every session has: identifiers per profile and
/// segment membership as the engine stated it (its `Segment Entered` /
/// `Segment Exited` events, which carry the segment and its generation;
/// [`crate::segments`] reads them by the same rule).
pub const DERIVED_VIEWS: [&str; 3] = [
    "CREATE VIEW identities AS \
     SELECT DISTINCT profile_id, 'user_id' AS kind, user_id AS value FROM events WHERE user_id IS NOT NULL \
     UNION ALL SELECT DISTINCT profile_id, 'anonymous_id' AS kind, anonymous_id AS value FROM events WHERE anonymous_id IS NOT NULL",
    // Every change, with the segment's generation (a segment defined anew
    // states its members again under the next generation) and the
    // profile's number for the change, the last part of its message id.
    "CREATE VIEW segment_changes AS \
     SELECT profile_id, json_get_str(properties, 'segment') AS segment, \
            json_get_int(properties, 'generation') AS generation, \
            event = 'Segment Entered' AS entered, timestamp AS at, \
            CAST(reverse(split_part(reverse(message_id), ':', 1)) AS BIGINT) AS transition \
     FROM events \
     WHERE event IN ('Segment Entered', 'Segment Exited') \
       AND json_get_int(properties, 'generation') IS NOT NULL",
    // Members now: of the segments defined now (a deleted one states no
    // exits), the last change of the current generation is an entry.
    // Changes at the same millisecond are ordered by their number.
    "CREATE VIEW segment_membership AS \
     SELECT segment, profile_id, at AS since FROM ( \
       SELECT c.*, row_number() OVER (PARTITION BY c.segment, c.profile_id \
                                      ORDER BY c.at DESC, c.transition DESC) AS recency \
       FROM segment_changes c \
       JOIN segments s ON c.segment = s.name AND c.generation = s.generation) \
     WHERE recency = 1 AND entered",
];
