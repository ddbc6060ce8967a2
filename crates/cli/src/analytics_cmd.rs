//! `percorso sql` and `percorso export`: questions to the
//! columnar store from the command line.
//!
//! With no server running, the command first compacts what the log gained
//! (so answers are up to date). Beside a running server, `percorso sql`
//! asks the server, which also has the `profiles` table from its engine;
//! `percorso export` reads the store the server keeps fresh.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use arrow::array::RecordBatch;
use clap::Args;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use percorso_analytics::sql::{encode, run_sql, session, ResultFormat, SessionSources};
use percorso_analytics::sql_segments::defined_segments;
use percorso_analytics::ColumnarStore;
use percorso_collect::DataDir;
use percorso_log::{EventLog, OpenMode};

use crate::admin_client::{AdminClient, ServerArgs};
use crate::config::Config;

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The statement, e.g. "SELECT event, count(*) FROM events GROUP BY 1".
    pub query: String,
    /// table (for people), json, csv or parquet.
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Write the result here instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Only parquet for now: what warehouses load.
    #[arg(long, default_value = "parquet")]
    pub format: String,
    /// Directory to write events.parquet and merges.parquet into.
    #[arg(long, short)]
    pub output: PathBuf,
}

/// The store, brought up to date when no server holds the data directory.
/// What a session without a server reads beside the store: the segments
/// in the data directory's `definitions.json`.
fn offline_sources(config: &Config) -> anyhow::Result<SessionSources> {
    let data = DataDir::new(&config.data_dir);
    Ok(SessionSources {
        profiles: None,
        segments: defined_segments(&data.definitions())?,
    })
}

pub fn fresh_store(config: &Config) -> anyhow::Result<Arc<ColumnarStore>> {
    let data = DataDir::new(&config.data_dir);
    if !data.events().exists() {
        bail!(
            "no event log in {} (nothing has been stored yet, or wrong --data)",
            data.root().display()
        );
    }
    let Ok(_lock) = data.lock_for_writing() else {
        // A server holds the directory and keeps the store fresh.
        let dir = data.root().join("analytics");
        return Ok(Arc::new(ColumnarStore::open_read_only(&dir)?));
    };
    let (log, _) = EventLog::open(&data.events(), config.collect.log, OpenMode::ReadOnly)
        .context("cannot open the event log")?;
    let mut compactor = crate::compaction::open_compactor(&data)?;
    let now = jiff::Timestamp::now().as_millisecond();
    // Merges run on their own thread; the answer waits for them.
    loop {
        let report = compactor.cycle(&log, now)?;
        if report.more {
            continue;
        }
        if !report.merging {
            break;
        }
        compactor.wait_for_merge()?;
    }
    Ok(compactor.store())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// The statement's answer from the running server, as Parquet decoded
/// back into batches; `None` when no server holds the data directory.
fn ask_server(config: &Config, args: &SqlArgs) -> anyhow::Result<Option<Vec<RecordBatch>>> {
    let data = DataDir::new(&config.data_dir);
    // No log: the local path says what is missing.
    if !data.events().exists() || data.lock_for_writing().is_ok() {
        return Ok(None);
    }
    let client = AdminClient::connect(config, &args.server)?;
    let body = serde_json::json!({ "sql": args.query, "format": "parquet" });
    let bytes = client.post_json_for_bytes(&["sql"], &body)?;
    if bytes.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))?.build()?;
    Ok(Some(reader.collect::<Result<Vec<_>, _>>()?))
}

pub fn run_sql_command(config: &Config, args: SqlArgs) -> anyhow::Result<()> {
    let batches = match ask_server(config, &args)? {
        Some(batches) => batches,
        None => {
            let store = fresh_store(config)?;
            let snapshot = store.snapshot();
            let sources = offline_sources(config)?;
            runtime()?.block_on(async {
                let ctx = session(snapshot, store.dir(), sources).await?;
                run_sql(&ctx, &args.query).await
            })?
        }
    };
    let bytes = match args.format.as_str() {
        "table" => format!(
            "{}\n",
            arrow::util::pretty::pretty_format_batches(&batches)?
        )
        .into_bytes(),
        other => {
            let format = ResultFormat::parse(other).map_err(anyhow::Error::msg)?;
            let mut bytes = encode(&batches, format)?;
            if format == ResultFormat::Json {
                bytes.push(b'\n');
            }
            bytes
        }
    };
    match args.output {
        Some(path) => std::fs::write(&path, bytes)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::Write::write_all(&mut std::io::stdout().lock(), &bytes)?,
    }
    Ok(())
}

/// The tables `percorso export` writes, one Parquet file each.
const EXPORTED: [&str; 5] = [
    "events",
    "merges",
    "segments",
    "segment_changes",
    "segment_membership",
];

/// Streams a table into a Parquet file batch by batch, so that exporting
/// the events never holds them all in memory. Returns the rows written.
async fn export_table(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    path: &std::path::Path,
) -> anyhow::Result<usize> {
    use futures::StreamExt;
    let frame = ctx.table(table).await?;
    let schema = Arc::new(frame.schema().as_arrow().clone());
    let mut stream = frame.execute_stream().await?;
    let file = std::fs::File::create(path)?;
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema, None)?;
    let mut rows = 0;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        rows += batch.num_rows();
        writer.write(&batch)?;
    }
    writer.close()?;
    Ok(rows)
}

pub fn run_export(config: &Config, args: ExportArgs) -> anyhow::Result<()> {
    if args.format != "parquet" {
        bail!("--format {}: only parquet is supported", args.format);
    }
    let store = fresh_store(config)?;
    let snapshot = store.snapshot();
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    let sources = offline_sources(config)?;
    runtime()?.block_on(async {
        let ctx = session(snapshot, store.dir(), sources).await?;
        for table in EXPORTED {
            let path = args.output.join(format!("{table}.parquet"));
            let rows = export_table(&ctx, table, &path)
                .await
                .with_context(|| format!("cannot export {table} to {}", path.display()))?;
            eprintln!("{}: {rows} rows", path.display());
        }
        anyhow::Ok(())
    })
}
