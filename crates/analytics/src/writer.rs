//! Writing events files: Parquet sorted by (profile, time), written to a
//! temporary name, synced, then renamed, so a file that exists under its
//! final name is complete.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringBuilder, TimestampMillisecondArray, UInt64Array};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use serde::{Deserialize, Serialize};

use crate::error::AnalyticsError;
use crate::rows::EventRow;
use crate::schema::{self, events_schema};

/// Rows per row group: large enough for fast scans, small enough that a
/// thread's share of a file skips whole groups by their key statistics.
const ROW_GROUP_ROWS: usize = 256 * 1024;
const BATCH_ROWS: usize = 64 * 1024;

/// What a written file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStats {
    pub rows: u64,
    pub min_key: u64,
    pub max_key: u64,
    pub min_timestamp: i64,
    pub max_timestamp: i64,
}

impl FileStats {
    fn empty() -> Self {
        FileStats {
            rows: 0,
            min_key: u64::MAX,
            max_key: 0,
            min_timestamp: i64::MAX,
            max_timestamp: i64::MIN,
        }
    }
}

fn writer_properties() -> WriterProperties {
    let sorted = |column_idx| SortingColumn {
        column_idx,
        descending: false,
        nulls_first: false,
    };
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_sorting_columns(Some(vec![sorted(0), sorted(2)]))
        // A row group holds a few thousand people, each a run of rows:
        // the key's dictionary is small and its indices run-length encode.
        .set_column_dictionary_enabled(schema::PROFILE_KEY.into(), true)
        // Times rise within a person: deltas pack in about half the bits.
        .set_column_dictionary_enabled(schema::TIMESTAMP.into(), false)
        .set_column_encoding(schema::TIMESTAMP.into(), Encoding::DELTA_BINARY_PACKED)
        .set_column_dictionary_enabled(schema::RECEIVED_AT.into(), false)
        .set_column_encoding(schema::RECEIVED_AT.into(), Encoding::DELTA_BINARY_PACKED)
        .set_column_dictionary_enabled(schema::MESSAGE_ID.into(), false)
        .build()
}

/// Writes one events file from batches already in (profile, time) order.
#[derive(Debug)]
pub struct EventsFileWriter {
    writer: ArrowWriter<File>,
    temporary: PathBuf,
    path: PathBuf,
    stats: FileStats,
}

impl EventsFileWriter {
    pub fn create(path: &Path) -> Result<Self, AnalyticsError> {
        let temporary = path.with_extension("parquet.tmp");
        let file = File::create(&temporary).map_err(AnalyticsError::io(&temporary))?;
        let writer = ArrowWriter::try_new(file, events_schema(), Some(writer_properties()))?;
        Ok(EventsFileWriter {
            writer,
            temporary,
            path: path.to_owned(),
            stats: FileStats::empty(),
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), AnalyticsError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let keys = batch
            .column(0)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .ok_or_else(|| AnalyticsError::Schema("profile_key is not UInt64".into()))?;
        let times = batch
            .column(2)
            .as_any()
            .downcast_ref::<TimestampMillisecondArray>()
            .ok_or_else(|| AnalyticsError::Schema("timestamp is not milliseconds".into()))?;
        let stats = &mut self.stats;
        stats.rows += batch.num_rows() as u64;
        stats.min_key = stats.min_key.min(keys.value(0));
        stats.max_key = stats.max_key.max(keys.value(keys.len() - 1));
        for &t in times.values() {
            stats.min_timestamp = stats.min_timestamp.min(t);
            stats.max_timestamp = stats.max_timestamp.max(t);
        }
        self.writer.write(batch)?;
        Ok(())
    }

    /// Closes the file, syncs it and gives it its final name.
    pub fn finish(self) -> Result<FileStats, AnalyticsError> {
        let file = self.writer.into_inner()?;
        file.sync_all()
            .map_err(AnalyticsError::io(&self.temporary))?;
        std::fs::rename(&self.temporary, &self.path).map_err(AnalyticsError::io(&self.path))?;
        Ok(self.stats)
    }
}

/// Sorts `rows` into (profile, time) order and writes them as one file.
pub fn write_rows(path: &Path, rows: &mut [EventRow]) -> Result<FileStats, AnalyticsError> {
    rows.sort_by_key(EventRow::sort_key);
    let mut writer = EventsFileWriter::create(path)?;
    for chunk in rows.chunks(BATCH_ROWS) {
        writer.write(&rows_to_batch(chunk)?)?;
    }
    writer.finish()
}

/// The rows as one record batch of the events schema, in the given order.
pub fn rows_to_batch(rows: &[EventRow]) -> Result<RecordBatch, AnalyticsError> {
    let text = |get: &dyn Fn(&EventRow) -> Option<&str>| -> ArrayRef {
        let mut builder = StringBuilder::with_capacity(rows.len(), rows.len() * 16);
        for row in rows {
            builder.append_option(get(row));
        }
        Arc::new(builder.finish())
    };
    let millis = |get: &dyn Fn(&EventRow) -> i64| -> ArrayRef {
        Arc::new(
            TimestampMillisecondArray::from_iter_values(rows.iter().map(get)).with_timezone("UTC"),
        )
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values(
            rows.iter().map(|r| r.profile_key),
        )),
        text(&|r| Some(&r.profile_id)),
        millis(&|r| r.timestamp),
        millis(&|r| r.received_at),
        text(&|r| Some(&r.kind)),
        text(&|r| Some(&r.event)),
        text(&|r| r.name.as_deref()),
        text(&|r| r.channel.as_deref()),
        text(&|r| r.user_id.as_deref()),
        text(&|r| r.anonymous_id.as_deref()),
        text(&|r| r.message_id.as_deref()),
        text(&|r| Some(&r.source_id)),
        text(&|r| r.properties.as_deref()),
        text(&|r| r.traits.as_deref()),
        text(&|r| r.context.as_deref()),
    ];
    Ok(RecordBatch::try_new(events_schema(), columns)?)
}
