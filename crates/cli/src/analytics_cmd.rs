//! `percorso sql`, `percorso report` and `percorso export`: questions to the
//! columnar store from the command line.
//!
//! With no server running, the command first compacts what the log gained
//! (so answers are up to date); beside a running server it reads the store
//! the server keeps fresh.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use percorso_analytics::query::{Breakdown, TimeRange};
use percorso_analytics::sql::{encode, run_sql, session, ResultFormat};
use percorso_analytics::{ColumnarStore, FunnelQuery};
use percorso_collect::DataDir;
use percorso_log::{EventLog, OpenMode};

use crate::config::Config;
use crate::report_print::print_funnel;

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
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub report: ReportCommand,
    /// Print JSON (for programs) instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Ordered steps within a window (ClickHouse windowFunnel semantics).
    Funnel(FunnelArgs),
}

#[derive(Debug, Args)]
pub struct FunnelArgs {
    /// A step, in order: `Event Name` or `Event Name[property=value,...]`.
    #[arg(long = "step", required = true)]
    pub steps: Vec<String>,
    /// Conversion window from the first step (e.g. 14d, 1h).
    #[arg(long, default_value = "14d")]
    pub window: String,
    /// default, strict_order, strict_deduplication, strict_increase, unordered.
    #[arg(long, default_value = "default")]
    pub mode: String,
    /// `EVENT:FROM:TO`: leave out people who did EVENT between steps FROM and TO.
    #[arg(long = "exclude")]
    pub exclusions: Vec<String>,
    /// `channel` or `property:<name>` of the event that started the funnel.
    #[arg(long)]
    pub breakdown: Option<String>,
    /// Only events at or after this time (ISO 8601).
    #[arg(long)]
    pub from: Option<String>,
    /// Only events before this time (ISO 8601).
    #[arg(long)]
    pub to: Option<String>,
    /// List the people who stopped at this step.
    #[arg(long)]
    pub dropped_at: Option<usize>,
    #[arg(long, default_value_t = 100)]
    pub people_limit: usize,
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
    while compactor.cycle(&log, now)?.more {}
    Ok(compactor.store())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

pub fn run_sql_command(config: &Config, args: SqlArgs) -> anyhow::Result<()> {
    let store = fresh_store(config)?;
    let snapshot = store.snapshot();
    let batches = runtime()?.block_on(async {
        let ctx = session(&snapshot, store.dir()).await?;
        run_sql(&ctx, &args.query).await
    })?;
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

/// The funnel query the arguments describe.
pub fn funnel_query(args: &FunnelArgs) -> anyhow::Result<FunnelQuery> {
    use percorso_analytics::conditions::EventCondition;
    use percorso_analytics::funnel::chain::FunnelMode;
    use percorso_analytics::funnel::Exclusion;
    let steps = args
        .steps
        .iter()
        .map(|s| EventCondition::parse(s).map_err(|e| anyhow::anyhow!("--step {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let exclusions = args
        .exclusions
        .iter()
        .map(|text| {
            let mut parts = text.rsplitn(3, ':');
            let (Some(to), Some(from), Some(event)) = (parts.next(), parts.next(), parts.next())
            else {
                bail!("--exclude '{text}': expected EVENT:FROM_STEP:TO_STEP");
            };
            let step = |s: &str| {
                s.parse::<usize>()
                    .with_context(|| format!("--exclude '{text}': '{s}' is not a step number"))
            };
            Ok(Exclusion {
                condition: EventCondition::parse(event)
                    .map_err(|e| anyhow::anyhow!("--exclude {e}"))?,
                from_step: step(from)?,
                to_step: step(to)?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(FunnelQuery {
        steps,
        window: args.window.clone(),
        mode: FunnelMode::parse(&args.mode).map_err(|e| anyhow::anyhow!("--mode: {e}"))?,
        exclusions,
        breakdown: args
            .breakdown
            .as_deref()
            .map(Breakdown::parse)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--breakdown: {e}"))?,
        range: TimeRange {
            from: args.from.clone(),
            to: args.to.clone(),
        },
        dropped_at: args.dropped_at,
        people_limit: args.people_limit,
    })
}

pub fn run_report(config: &Config, args: ReportArgs) -> anyhow::Result<()> {
    match &args.report {
        ReportCommand::Funnel(funnel) => {
            let query = funnel_query(funnel)?;
            let store = fresh_store(config)?;
            let report = query.run(&store.snapshot())?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_funnel(&report);
            }
        }
    }
    Ok(())
}

pub fn run_export(config: &Config, args: ExportArgs) -> anyhow::Result<()> {
    if args.format != "parquet" {
        bail!("--format {}: only parquet is supported", args.format);
    }
    let store = fresh_store(config)?;
    let snapshot = store.snapshot();
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    runtime()?.block_on(async {
        let ctx = session(&snapshot, store.dir()).await?;
        for table in ["events", "merges"] {
            let path = args.output.join(format!("{table}.parquet"));
            let frame = ctx.table(table).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let batches = frame.collect().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            std::fs::write(&path, encode(&batches, ResultFormat::Parquet)?)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            eprintln!("{}: {rows} rows", path.display());
        }
        anyhow::Ok(())
    })
}
