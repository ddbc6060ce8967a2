//! SQL over the columnar store with DataFusion.
//!
//! Tables:
//! * `events`: every compacted event (the Parquet files of one snapshot);
//! * `identities`: each profile's identifiers as seen on its events
//!   (`profile_id`, `kind`, `value`);
//! * `merges`: profiles merged into others (`from_profile`, `into_profile`, `at`).
//!
//! JSON text columns (`properties`, `traits`, `context`) are read with
//! `json_get_str(properties, 'plan')`, `json_get_float(...)`, or
//! `properties->>'plan'`.

use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray, TimestampMillisecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use serde::{Deserialize, Serialize};

use crate::compactor::read_merges;
use crate::error::AnalyticsError;
use crate::schema::events_schema;
use crate::store::Snapshot;

/// How results are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResultFormat {
    #[default]
    Json,
    Csv,
    Parquet,
}

impl ResultFormat {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "json" => Ok(ResultFormat::Json),
            "csv" => Ok(ResultFormat::Csv),
            "parquet" => Ok(ResultFormat::Parquet),
            other => Err(format!(
                "unknown format '{other}': expected json, csv or parquet"
            )),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ResultFormat::Json => "application/json",
            ResultFormat::Csv => "text/csv",
            ResultFormat::Parquet => "application/vnd.apache.parquet",
        }
    }
}

fn sql_error(e: impl std::fmt::Display) -> AnalyticsError {
    AnalyticsError::Sql(e.to_string())
}

/// A session whose tables are the snapshot's.
pub async fn session(
    snapshot: &Snapshot,
    store_dir: &std::path::Path,
) -> Result<SessionContext, AnalyticsError> {
    let config = SessionConfig::new().with_information_schema(true);
    let mut ctx = SessionContext::new_with_config(config);
    datafusion_functions_json::register_all(&mut ctx).map_err(sql_error)?;
    let paths = snapshot.paths();
    let events: Arc<dyn datafusion::datasource::TableProvider> = if paths.is_empty() {
        Arc::new(MemTable::try_new(events_schema(), vec![vec![]]).map_err(sql_error)?)
    } else {
        let urls = paths
            .iter()
            .map(|p| ListingTableUrl::parse(p.to_string_lossy()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(sql_error)?;
        let options =
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .with_schema(events_schema());
        Arc::new(ListingTable::try_new(config).map_err(sql_error)?)
    };
    ctx.register_table("events", events).map_err(sql_error)?;
    ctx.register_table("merges", merges_table(snapshot, store_dir)?)
        .map_err(sql_error)?;
    ctx.sql(
        "CREATE VIEW identities AS \
         SELECT DISTINCT profile_id, 'user_id' AS kind, user_id AS value FROM events WHERE user_id IS NOT NULL \
         UNION ALL SELECT DISTINCT profile_id, 'anonymous_id' AS kind, anonymous_id AS value FROM events WHERE anonymous_id IS NOT NULL",
    )
    .await
    .map_err(sql_error)?;
    Ok(ctx)
}

fn merges_table(
    snapshot: &Snapshot,
    dir: &std::path::Path,
) -> Result<Arc<MemTable>, AnalyticsError> {
    let lines = read_merges(&dir.join("merges.jsonl"), snapshot.manifest.merges_len)?;
    let schema = Arc::new(Schema::new(vec![
        Field::new("from_profile", DataType::Utf8, false),
        Field::new("into_profile", DataType::Utf8, false),
        Field::new(
            "at",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
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

/// Runs one statement and returns its batches.
pub async fn run_sql(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>, AnalyticsError> {
    let frame = ctx
        .sql(sql)
        .await
        .map_err(|e| AnalyticsError::Invalid(e.to_string()))?;
    frame.collect().await.map_err(sql_error)
}

/// The batches written in `format`.
pub fn encode(batches: &[RecordBatch], format: ResultFormat) -> Result<Vec<u8>, AnalyticsError> {
    let mut out = Vec::new();
    match format {
        ResultFormat::Json => {
            let mut writer = arrow::json::ArrayWriter::new(&mut out);
            for batch in batches {
                writer.write(batch)?;
            }
            writer.finish()?;
            if out.is_empty() {
                out.extend_from_slice(b"[]");
            }
        }
        ResultFormat::Csv => {
            let mut writer = arrow::csv::Writer::new(&mut out);
            for batch in batches {
                writer.write(batch)?;
            }
        }
        ResultFormat::Parquet => {
            let Some(first) = batches.first() else {
                return Ok(out);
            };
            let mut writer = parquet::arrow::ArrowWriter::try_new(&mut out, first.schema(), None)?;
            for batch in batches {
                writer.write(batch)?;
            }
            writer.close()?;
        }
    }
    Ok(out)
}
