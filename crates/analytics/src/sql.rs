//! SQL over the columnar store with DataFusion.
//!
//! Tables:
//! * `events`: every compacted event (the Parquet files of one snapshot),
//!   under the profile each belongs to now: merges made since the files
//!   were written are applied on the fly (`events_stored` is the files as
//!   written);
//! * `identities`: each profile's identifiers as seen on its events
//!   (`profile_id`, `kind`, `value`);
//! * `merges`: profiles merged into others (`from_profile`, `into_profile`, `at`);
//! * `segment_changes`: every entry into and exit from a segment the engine
//!   stated (`profile_id`, `segment`, `generation`, `entered`, `at`,
//!   `transition`), and
//!   `segment_membership`: who is in each segment defined now (`segment`,
//!   `profile_id`, `since`);
//! * `segments`: the segments defined now (`name`, `generation`,
//!   `definition`, `created_at`), from the engine's `definitions.json`;
//! * `profiles`: every profile as the engine holds it (see
//!   [`crate::sql_profiles`]), when the session is given a source of them.
//!
//! Journey functions: `window_funnel(window_ms, [mode,] timestamp, cond1,
//! ..., condN)`, ClickHouse's `windowFunnel` as an aggregate (see
//! [`crate::funnel::sql_function`]); every report as a table function of
//! its JSON query, e.g. `SELECT * FROM journey_map('{"by_channel": true}')`
//! (see [`crate::sql_reports`]).
//!
//! JSON text columns (`properties`, `traits`, `context`) are read with
//! `json_get_str(properties, 'plan')`, `json_get_float(...)`, or
//! `properties->>'plan'`.

use std::sync::Arc;

use arrow::array::RecordBatch;
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
use crate::sql_profiles::{ProfileRows, ProfilesTable};
use crate::sql_segments::{segments_table, DefinedSegment};
use crate::sql_tables::{events_view_over_moves, merges_table, moved_table, DERIVED_VIEWS};
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

pub(crate) fn sql_error(e: impl std::fmt::Display) -> AnalyticsError {
    AnalyticsError::Sql(e.to_string())
}

/// What a session reads beside the store's files.
#[derive(Default, Clone)]
pub struct SessionSources {
    /// Lists the engine's profiles (a running server has them); without
    /// it, a query of `profiles` says to start the server.
    pub profiles: Option<ProfileRows>,
    /// The segments defined now (the engine's, or its `definitions.json`
    /// read by [`crate::sql_segments::defined_segments`]).
    pub segments: Vec<DefinedSegment>,
}

impl std::fmt::Debug for SessionSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionSources")
            .field("profiles", &self.profiles.is_some())
            .field("segments", &self.segments)
            .finish()
    }
}

/// A session whose tables are the snapshot's. The session keeps the
/// handle: its report functions read the snapshot when a statement is
/// planned, and its files stay readable as long as the session lives.
pub async fn session(
    snapshot: Arc<Snapshot>,
    store_dir: &std::path::Path,
    sources: SessionSources,
) -> Result<SessionContext, AnalyticsError> {
    let config = SessionConfig::new().with_information_schema(true);
    let mut ctx = SessionContext::new_with_config(config);
    datafusion_functions_json::register_all(&mut ctx).map_err(sql_error)?;
    ctx.register_udaf(datafusion::logical_expr::AggregateUDF::from(
        crate::funnel::sql_function::WindowFunnel::default(),
    ));
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
    ctx.register_table("events_stored", events)
        .map_err(sql_error)?;
    let merges = read_merges(
        &store_dir.join("merges.jsonl"),
        snapshot.manifest.merges_len,
    )?;
    ctx.register_table("merges", merges_table(&merges)?)
        .map_err(sql_error)?;
    let view = match moved_table(&snapshot, &merges)? {
        Some(moved) => {
            ctx.register_table("moved_profiles", moved)
                .map_err(sql_error)?;
            events_view_over_moves()
        }
        None => "CREATE VIEW events AS SELECT * FROM events_stored".to_owned(),
    };
    ctx.sql(&view).await.map_err(sql_error)?;
    ctx.register_table("segments", segments_table(&sources.segments)?)
        .map_err(sql_error)?;
    for view in DERIVED_VIEWS {
        ctx.sql(view).await.map_err(sql_error)?;
    }
    ctx.register_table("profiles", Arc::new(ProfilesTable::new(sources.profiles)))
        .map_err(sql_error)?;
    crate::sql_reports::register_report_functions(&ctx, &snapshot);
    Ok(ctx)
}

/// Runs one statement and returns its batches.
pub async fn run_sql(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>, AnalyticsError> {
    let frame = ctx.sql(sql).await.map_err(sql_error)?;
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
