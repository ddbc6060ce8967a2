//! Merging events files into one, in (profile, time) order, optionally
//! applying identity changes: events of erased profiles are left out, and
//! events of a merged-away profile are moved under the profile that
//! absorbed it.
//!
//! Memory stays bounded by the moved events plus one batch per input:
//! moved events are gathered first (re-keyed, sorted, in memory), then the
//! files and the gathered events are merged batch by batch.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch, StringArray, UInt64Array};
use arrow::compute::{
    concat_batches, interleave_record_batch, lexsort_to_indices, take_record_batch, SortColumn,
};
use arrow::datatypes::{TimestampMillisecondType, UInt64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::AnalyticsError;
use crate::schema::{events_schema, profile_key};
use crate::writer::{EventsFileWriter, FileStats};

const BATCH_ROWS: usize = 64 * 1024;

/// Identity changes a rewrite applies.
#[derive(Debug, Default)]
pub struct Changes<'a> {
    /// Profile id merged away → the profile id it now belongs to (final).
    pub moved: HashMap<u64, &'a str>,
    pub erased: HashSet<u64>,
}

fn batches(
    path: &Path,
) -> Result<impl Iterator<Item = Result<RecordBatch, AnalyticsError>>, AnalyticsError> {
    let file = File::open(path).map_err(AnalyticsError::io(path))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)?
        .with_batch_size(BATCH_ROWS)
        .build()?;
    Ok(reader.map(|b| b.map_err(AnalyticsError::from)))
}

fn keys_of(batch: &RecordBatch) -> &[u64] {
    batch.column(0).as_primitive::<UInt64Type>().values()
}

/// Re-keys moved rows: `profile_id` and `profile_key` of the receiver.
fn rekey(batch: &RecordBatch, changes: &Changes<'_>) -> Result<RecordBatch, AnalyticsError> {
    let keys = keys_of(batch);
    let ids: Vec<&str> = keys.iter().map(|k| changes.moved[k]).collect();
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns[0] = Arc::new(UInt64Array::from_iter_values(
        ids.iter().map(|id| profile_key(id)),
    ));
    columns[1] = Arc::new(StringArray::from(ids));
    Ok(RecordBatch::try_new(events_schema(), columns)?)
}

/// The moved events of every file, re-keyed and sorted.
fn gather_moved(
    paths: &[PathBuf],
    changes: &Changes<'_>,
) -> Result<Option<RecordBatch>, AnalyticsError> {
    if changes.moved.is_empty() {
        return Ok(None);
    }
    let mut gathered = Vec::new();
    for path in paths {
        for batch in batches(path)? {
            let batch = batch?;
            let rows: Vec<u32> = keys_of(&batch)
                .iter()
                .enumerate()
                .filter(|(_, k)| changes.moved.contains_key(k))
                .map(|(i, _)| i as u32)
                .collect();
            if !rows.is_empty() {
                let taken = take_record_batch(&batch, &arrow::array::UInt32Array::from(rows))?;
                gathered.push(rekey(&taken, changes)?);
            }
        }
    }
    if gathered.is_empty() {
        return Ok(None);
    }
    let all = concat_batches(&events_schema(), &gathered)?;
    let order = lexsort_to_indices(
        &[0, 2, 3].map(|c| SortColumn {
            values: all.column(c).clone(),
            options: None,
        }),
        None,
    )?;
    Ok(Some(take_record_batch(&all, &order)?))
}

/// One sorted input of the merge.
struct Input {
    batches: Box<dyn Iterator<Item = Result<RecordBatch, AnalyticsError>>>,
    batch: Option<RecordBatch>,
    at: usize,
    /// A new batch was loaded since the merge last looked.
    fresh: bool,
}

impl Input {
    /// The sort key of the current row, loading the next batch when needed.
    fn head(&mut self) -> Result<Option<(u64, i64, i64)>, AnalyticsError> {
        loop {
            if let Some(batch) = &self.batch {
                if self.at < batch.num_rows() {
                    let time = batch.column(2).as_primitive::<TimestampMillisecondType>();
                    let received = batch.column(3).as_primitive::<TimestampMillisecondType>();
                    return Ok(Some((
                        keys_of(batch)[self.at],
                        time.value(self.at),
                        received.value(self.at),
                    )));
                }
            }
            match self.batches.next().transpose()? {
                Some(batch) => {
                    self.batch = Some(batch);
                    self.at = 0;
                    self.fresh = true;
                }
                None => {
                    self.batch = None;
                    return Ok(None);
                }
            }
        }
    }
}

/// Merges `paths` into one file at `out`, applying `changes`.
pub fn rewrite(
    paths: &[PathBuf],
    out: &Path,
    changes: &Changes<'_>,
) -> Result<FileStats, AnalyticsError> {
    let mut inputs = Vec::new();
    for path in paths {
        inputs.push(Input {
            batches: Box::new(batches(path)?),
            batch: None,
            at: 0,
            fresh: false,
        });
    }
    if let Some(moved) = gather_moved(paths, changes)? {
        inputs.push(Input {
            batches: Box::new(std::iter::once(Ok(moved))),
            batch: None,
            at: 0,
            fresh: false,
        });
    }
    let moved_input = if changes.moved.is_empty() {
        usize::MAX
    } else {
        paths.len()
    };
    let mut writer = EventsFileWriter::create(out)?;
    // Rows chosen for the output batch being built: (input, row) with the
    // input's batch as it was when chosen.
    let mut chosen: Vec<(usize, usize)> = Vec::new();
    let mut held: Vec<RecordBatch> = Vec::new();
    let mut held_of: Vec<Option<usize>> = vec![None; inputs.len()];
    loop {
        let mut best: Option<(usize, (u64, i64, i64))> = None;
        for (i, input) in inputs.iter_mut().enumerate() {
            let head = input.head()?;
            if std::mem::take(&mut input.fresh) {
                held_of[i] = None;
            }
            if let Some(head) = head {
                if best.is_none_or(|(_, b)| head < b) {
                    best = Some((i, head));
                }
            }
        }
        let Some((i, (key, _, _))) = best else { break };
        let keep = !changes.erased.contains(&key)
            && (i == moved_input || !changes.moved.contains_key(&key));
        if keep {
            let slot = match held_of[i] {
                Some(slot) => slot,
                None => {
                    held.push(
                        inputs[i]
                            .batch
                            .clone()
                            .ok_or_else(|| AnalyticsError::Schema("no batch".into()))?,
                    );
                    held_of[i] = Some(held.len() - 1);
                    held.len() - 1
                }
            };
            chosen.push((slot, inputs[i].at));
        }
        inputs[i].at += 1;
        if chosen.len() >= BATCH_ROWS {
            flush(&mut writer, &mut held, &mut chosen, &mut held_of)?;
        }
    }
    flush(&mut writer, &mut held, &mut chosen, &mut held_of)?;
    writer.finish()
}

fn flush(
    writer: &mut EventsFileWriter,
    held: &mut Vec<RecordBatch>,
    chosen: &mut Vec<(usize, usize)>,
    held_of: &mut [Option<usize>],
) -> Result<(), AnalyticsError> {
    if !chosen.is_empty() {
        let refs: Vec<&RecordBatch> = held.iter().collect();
        writer.write(&interleave_record_batch(&refs, chosen)?)?;
    }
    chosen.clear();
    held.clear();
    held_of.iter_mut().for_each(|h| *h = None);
    Ok(())
}
