//! `segments`: the segments defined now, from the engine's
//! `definitions.json` in the data directory.
//!
//! Membership comes from the engine's `Segment Entered` / `Segment Exited`
//! events, but deleting a segment writes no event (its members leave
//! silently, so no journey fires). The definitions say which segments
//! exist and which generation of each is current: `segment_membership`
//! keeps only those.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray, TimestampMillisecondArray};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use serde::Deserialize;

use crate::error::AnalyticsError;
use crate::sql::sql_error;

/// A segment as `definitions.json` keeps it (other fields are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DefinedSegment {
    pub name: String,
    pub definition: String,
    /// Unix ms.
    pub created_at: i64,
    #[serde(default)]
    pub generation: i64,
}

#[derive(Debug, Default, Deserialize)]
struct DefinitionsFile {
    #[serde(default)]
    segments: Vec<DefinedSegment>,
}

/// The segments defined in `path`; none when the file does not exist (no
/// segment was ever defined).
pub fn defined_segments(path: &Path) -> Result<Vec<DefinedSegment>, AnalyticsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(AnalyticsError::Internal(format!("{}: {e}", path.display()))),
    };
    let file: DefinitionsFile = serde_json::from_str(&text)
        .map_err(|e| AnalyticsError::Internal(format!("{}: {e}", path.display())))?;
    Ok(file.segments)
}

pub fn segments_table(segments: &[DefinedSegment]) -> Result<Arc<MemTable>, AnalyticsError> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("generation", DataType::Int64, false),
        Field::new("definition", DataType::Utf8, false),
        Field::new("created_at", crate::schema::timestamp_type(), false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(
                segments.iter().map(|s| &s.name),
            )),
            Arc::new(Int64Array::from_iter_values(
                segments.iter().map(|s| s.generation),
            )),
            Arc::new(StringArray::from_iter_values(
                segments.iter().map(|s| &s.definition),
            )),
            Arc::new(
                TimestampMillisecondArray::from_iter_values(segments.iter().map(|s| s.created_at))
                    .with_timezone("UTC"),
            ),
        ],
    )?;
    Ok(Arc::new(
        MemTable::try_new(schema, vec![vec![batch]]).map_err(sql_error)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_read_and_a_missing_file_is_no_segment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("definitions.json");
        assert_eq!(defined_segments(&path).unwrap(), []);
        std::fs::write(
            &path,
            r#"{"computed_traits": [], "segments": [
                {"name": "vip", "definition": "name: vip", "created_at": 5, "generation": 3, "slots": [1]}
            ], "next_generation": 4}"#,
        )
        .unwrap();
        let segments = defined_segments(&path).unwrap();
        assert_eq!(segments[0].name, "vip");
        assert_eq!(segments[0].generation, 3);
        std::fs::write(&path, "{").unwrap();
        let error = defined_segments(&path).unwrap_err().to_string();
        assert!(error.contains("definitions.json"), "{error}");
    }
}
