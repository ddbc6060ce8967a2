//! Reading the columns a journey kernel needs from one events file, for
//! one range of profile keys, as typed chunks.
//!
//! Text columns are read as dictionaries, so an activity's name is looked
//! up once per batch rather than once per row.

use std::fs::File;
use std::ops::Range;
use std::sync::{Arc, LazyLock};

use arrow::array::{Array, AsArray, DictionaryArray, RecordBatch, StringArray};
use arrow::datatypes::{
    DataType, Field, Int32Type, Schema, SchemaRef, TimestampMillisecondType, UInt64Type,
};
use parquet::arrow::arrow_reader::{
    ArrowReaderOptions, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use parquet::file::statistics::Statistics;

use crate::codebook::{Codebook, NONE};
use crate::error::AnalyticsError;
use crate::runs::Visit;
use crate::schema::{self, events_schema};
use crate::tagger::{Tag, Tagger};

const BATCH_ROWS: usize = 64 * 1024;

/// Columns read as dictionaries: few distinct values per file.
const DICTIONARY_COLUMNS: [&str; 5] = [
    schema::TYPE,
    schema::EVENT,
    schema::NAME,
    schema::CHANNEL,
    schema::SOURCE_ID,
];

static READ_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let fields: Vec<Field> = events_schema()
        .fields()
        .iter()
        .map(|f| {
            if DICTIONARY_COLUMNS.contains(&f.name().as_str()) {
                Field::new(
                    f.name(),
                    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                    f.is_nullable(),
                )
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    Arc::new(Schema::new(fields))
});

/// What a scan reads beside key, time and activity.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    pub channel: bool,
    pub properties: bool,
    /// Only rows that meet a condition (mask not 0) matter to the kernel:
    /// the others are dropped as they are read.
    pub only_tagged: bool,
}

/// Rows of one file in (profile, time) order, with what kernels use. A
/// cursor fills the same chunk again and again, so its buffers are
/// allocated once per scan rather than once per batch.
#[derive(Debug, Default)]
pub struct Chunk {
    pub keys: Vec<u64>,
    pub visits: Vec<Visit>,
}

impl Chunk {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Shared by every file a query reads.
#[derive(Debug)]
pub struct ScanContext<'a> {
    pub activities: &'a Codebook,
    pub channels: &'a Codebook,
    pub tagger: &'a dyn Tagger,
    pub needs: Needs,
    /// Only rows with `timestamp` in this range.
    pub time: Range<i64>,
    /// Only these people (profile keys, after merges), when given.
    pub people: Option<&'a crate::segments::Members>,
}

impl ScanContext<'_> {
    /// Whether the person with this key (after merges) is scanned.
    pub fn includes(&self, key: u64) -> bool {
        self.people.is_none_or(|people| people.contains(&key))
    }
}

/// One file's chunks whose profile keys fall in a range.
pub struct FileSource<'a> {
    reader: Option<ParquetRecordBatchReader>,
    /// Whether arrival times are read: they only order one person's events
    /// that come from different files (a file is already in that order).
    received: bool,
    keys: Range<u64>,
    context: &'a ScanContext<'a>,
}

impl std::fmt::Debug for FileSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource")
            .field("keys", &self.keys)
            .finish()
    }
}

impl<'a> FileSource<'a> {
    /// `keys` is half-open except that `u64::MAX` is included when it ends the range.
    pub fn open(
        path: &std::path::Path,
        keys: Range<u64>,
        context: &'a ScanContext<'a>,
        received: bool,
    ) -> Result<Self, AnalyticsError> {
        let file = File::open(path).map_err(AnalyticsError::io(path))?;
        let options = ArrowReaderOptions::new().with_schema(READ_SCHEMA.clone());
        let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)?;
        let metadata = builder.metadata().clone();
        let (key_column, time_column) = (
            schema::column(schema::PROFILE_KEY),
            schema::column(schema::TIMESTAMP),
        );
        let groups: Vec<usize> = (0..metadata.num_row_groups())
            .filter(|&i| {
                let group = metadata.row_group(i);
                let (Some(lo), Some(hi)) = (
                    unsigned_bound(group.column(key_column).statistics(), true),
                    unsigned_bound(group.column(key_column).statistics(), false),
                ) else {
                    return true;
                };
                let time = group.column(time_column).statistics();
                let time_overlaps = match time {
                    Some(Statistics::Int64(s)) => match (s.min_opt(), s.max_opt()) {
                        (Some(&a), Some(&b)) => a < context.time.end && b >= context.time.start,
                        _ => true,
                    },
                    _ => true,
                };
                let keys_overlap = hi >= keys.start && (lo < keys.end || keys.end == u64::MAX);
                keys_overlap && time_overlaps
            })
            .collect();
        let mut columns = vec![key_column, time_column, schema::column(schema::EVENT)];
        if received {
            columns.push(schema::column(schema::RECEIVED_AT));
        }
        if context.needs.channel {
            columns.push(schema::column(schema::CHANNEL));
        }
        if context.needs.properties || context.tagger.wants_properties() {
            columns.push(schema::column(schema::PROPERTIES));
        }
        let mask = ProjectionMask::roots(builder.parquet_schema(), columns);
        let reader = builder
            .with_row_groups(groups)
            .with_projection(mask)
            .with_batch_size(BATCH_ROWS)
            .build()?;
        Ok(FileSource {
            reader: Some(reader),
            received,
            keys,
            context,
        })
    }

    /// Fills `chunk` with the next rows in range; false at the end.
    pub fn next_chunk(&mut self, chunk: &mut Chunk) -> Result<bool, AnalyticsError> {
        while let Some(reader) = self.reader.as_mut() {
            let Some(batch) = reader.next().transpose()? else {
                self.reader = None;
                break;
            };
            self.convert(&batch, chunk)?;
            if !chunk.is_empty() {
                return Ok(true);
            }
        }
        chunk.keys.clear();
        chunk.visits.clear();
        Ok(false)
    }

    fn convert(&self, batch: &RecordBatch, chunk: &mut Chunk) -> Result<(), AnalyticsError> {
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| AnalyticsError::Schema(format!("no column {name}")))
        };
        let keys = column(schema::PROFILE_KEY)?.as_primitive::<UInt64Type>();
        let times = column(schema::TIMESTAMP)?.as_primitive::<TimestampMillisecondType>();
        let received = match self.received {
            true => Some(column(schema::RECEIVED_AT)?.as_primitive::<TimestampMillisecondType>()),
            false => None,
        };
        let events = column(schema::EVENT)?.as_dictionary::<Int32Type>();
        let context = self.context;
        let event_names = events.values().as_string::<i32>();
        let tags: Vec<(u32, Tag)> = (0..event_names.len())
            .map(|i| {
                let name = event_names.value(i);
                (context.activities.code(name), context.tagger.activity(name))
            })
            .collect();
        let channel_codes = match batch.column_by_name(schema::CHANNEL) {
            Some(channels) if context.needs.channel => Some(dictionary_codes(
                channels.as_dictionary::<Int32Type>(),
                context.channels,
            )),
            _ => None,
        };
        let properties: Option<&StringArray> = batch
            .column_by_name(schema::PROPERTIES)
            .map(|c| c.as_string::<i32>());
        chunk.keys.clear();
        chunk.visits.clear();
        let n = batch.num_rows();
        for row in 0..n {
            let key = keys.value(row);
            let time = times.value(row);
            if !in_range(key, &self.keys) || !context.time.contains(&time) {
                continue;
            }
            let event_index = events.keys().value(row) as usize;
            let (activity, tag) = &tags[event_index];
            let (mask, group) = match *tag {
                Tag::Fixed { mask, group } => (mask, group),
                Tag::PerRow => {
                    let props = properties.and_then(|p| p.is_valid(row).then(|| p.value(row)));
                    context.tagger.row(event_names.value(event_index), props)
                }
            };
            if mask == 0 && context.needs.only_tagged {
                continue;
            }
            chunk.keys.push(key);
            chunk.visits.push(Visit {
                time,
                received: received.map_or(0, |r| r.value(row)),
                activity: *activity,
                channel: match &channel_codes {
                    Some((row_codes, codes)) => row_codes
                        .get(row)
                        .and_then(|k| k.map(|k| codes[k]))
                        .unwrap_or(NONE),
                    None => NONE,
                },
                mask,
                group,
            });
        }
        Ok(())
    }
}

/// Per row, the index into the dictionary (`None` for null), and per
/// dictionary value its code in `book`.
fn dictionary_codes(
    array: &DictionaryArray<Int32Type>,
    book: &Codebook,
) -> (Vec<Option<usize>>, Vec<u32>) {
    let values = array.values().as_string::<i32>();
    let codes = (0..values.len())
        .map(|i| book.code(values.value(i)))
        .collect();
    let rows = (0..array.len())
        .map(|i| array.is_valid(i).then(|| array.keys().value(i) as usize))
        .collect();
    (rows, codes)
}

pub(crate) fn in_range(key: u64, keys: &Range<u64>) -> bool {
    key >= keys.start && (key < keys.end || keys.end == u64::MAX)
}

/// The unsigned bound of a `UInt64` column's statistics (stored as INT64).
fn unsigned_bound(statistics: Option<&Statistics>, min: bool) -> Option<u64> {
    match statistics? {
        Statistics::Int64(s) => {
            let value = if min { s.min_opt() } else { s.max_opt() };
            value.map(|&v| v as u64)
        }
        _ => None,
    }
}
