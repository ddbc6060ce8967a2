//! `percorso import FILE`: bulk import of JSONL or CSV through the same
//! collection path as the HTTP API (normalised, deduplicated, quarantined).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use percorso_collect::{
    BatchDefaults, Collector, DataDir, IncomingItem, Origin, Rejection, Source, SourceRegistry,
    StoreWriter,
};
use percorso_core::{format_millis, Clock, SystemClock};
use percorso_log::OpenMode;
use serde_json::Value;

use crate::config::Config;
use crate::csv_mapping::CsvMapping;
use crate::import_http::HttpImporter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Jsonl,
    Csv,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// File to import: JSONL (one Segment message per line) or CSV with a header row.
    pub file: PathBuf,
    /// Source the events are recorded under (created if missing).
    #[arg(long, default_value = "import")]
    pub source: String,
    /// File format; by default from the extension (.jsonl/.ndjson/.json or .csv).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// CSV: fill FIELD from COLUMN, e.g. --map userId=customer_id --map properties.revenue=amount.
    #[arg(long = "map", value_name = "FIELD=COLUMN")]
    pub map: Vec<String>,
    /// CSV: a JSON or TOML file of FIELD = COLUMN pairs.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// CSV: message type of rows without a type column.
    #[arg(long = "type", default_value = "track")]
    pub message_type: String,
    /// Events per durable append.
    #[arg(long, default_value_t = 2000)]
    pub batch: usize,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Send through a running server's /v1/batch instead of writing the
    /// data directory (which the server holds), e.g. http://127.0.0.1:8080.
    #[arg(long, value_name = "URL", requires = "write_key")]
    pub url: Option<String>,
    /// With --url: the write key of the source to send as.
    #[arg(long, env = "PERCORSO_WRITE_KEY", hide_env_values = true)]
    pub write_key: Option<String>,
}

/// A line that was not stored, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RefusedLine {
    pub line: u64,
    pub code: String,
    pub message: String,
}

impl RefusedLine {
    pub fn new(origin: Origin, code: impl Into<String>, message: impl Into<String>) -> Self {
        let line = match origin {
            Origin::Line(line) => line,
            Origin::Request | Origin::BatchItem(_) => 0,
        };
        Self {
            line,
            code: code.into(),
            message: message.into(),
        }
    }
}

/// What became of one chunk of lines.
#[derive(Debug, Default)]
pub struct ImportedChunk {
    pub stored: usize,
    pub duplicates: usize,
    pub rejected: Vec<RefusedLine>,
}

/// Totals of one import.
#[derive(Debug, Default, serde::Serialize)]
struct Summary {
    file: String,
    /// The source name, or the server URL with --url.
    destination: String,
    lines: u64,
    stored: usize,
    duplicates: usize,
    rejected: Vec<RefusedLine>,
}

/// Where the lines go: straight into the data directory, or to a server.
enum Destination {
    Local {
        collector: Arc<Collector>,
        /// Keeps the event index on disk through a long import.
        store_writer: StoreWriter,
        source: Arc<Source>,
        runtime: tokio::runtime::Runtime,
    },
    Server(HttpImporter),
}

impl Destination {
    fn open(config: &Config, args: &ImportArgs) -> anyhow::Result<(Self, String)> {
        if let (Some(url), Some(key)) = (&args.url, &args.write_key) {
            return Ok((
                Destination::Server(HttpImporter::new(url, key)?),
                url.clone(),
            ));
        }
        let data = DataDir::new(&config.data_dir);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let collector = Arc::new(Collector::open(
            &data,
            config.collect.clone(),
            clock.clone(),
            OpenMode::ReadWrite,
        )?);
        let store_writer = collector.start_store_writer();
        let registry = SourceRegistry::open(data.sources())?;
        let source = match registry.by_name(&args.source)? {
            Some(source) => source,
            None => registry.create(&args.source, format_millis(clock.now_millis()))?,
        };
        let name = format!("source '{}'", source.name);
        let runtime = tokio::runtime::Builder::new_current_thread().build()?;
        Ok((
            Destination::Local {
                collector,
                store_writer,
                source,
                runtime,
            },
            name,
        ))
    }

    fn send(&self, items: Vec<IncomingItem>) -> anyhow::Result<ImportedChunk> {
        match self {
            Destination::Local {
                collector,
                source,
                runtime,
                ..
            } => {
                let history = BatchDefaults {
                    historical: true,
                    ..BatchDefaults::default()
                };
                let outcome = runtime.block_on(collector.ingest(source, None, &history, items))?;
                Ok(ImportedChunk {
                    stored: outcome.stored,
                    duplicates: outcome.duplicates,
                    rejected: outcome
                        .rejected
                        .into_iter()
                        .map(|r| RefusedLine::new(r.origin, r.code, r.message))
                        .collect(),
                })
            }
            Destination::Server(importer) => importer.send(items),
        }
    }

    fn close(self) {
        if let Destination::Local {
            collector,
            store_writer,
            ..
        } = self
        {
            drop(store_writer); // its last write
            collector.log().close();
        }
    }
}

pub fn run(config: &Config, args: ImportArgs) -> anyhow::Result<()> {
    let format = match args.format {
        Some(format) => format,
        None => format_from_extension(&args.file)?,
    };
    let file =
        File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let (destination, destination_name) = Destination::open(config, &args)?;
    let progress = progress_bar(size);
    let reader = progress.wrap_read(file);
    let mut summary = Summary {
        file: args.file.display().to_string(),
        destination: destination_name,
        ..Summary::default()
    };
    let mut sink = |items: Vec<IncomingItem>| -> anyhow::Result<()> {
        let chunk = destination.send(items)?;
        summary.stored += chunk.stored;
        summary.duplicates += chunk.duplicates;
        summary.rejected.extend(chunk.rejected);
        Ok(())
    };
    let lines = match format {
        Format::Jsonl => read_jsonl(reader, args.batch, &mut sink)?,
        Format::Csv => {
            let mapping = CsvMapping::new(&args.map, args.mapping.as_deref(), &args.message_type)?;
            read_csv(reader, &args.file, &mapping, args.batch, &mut sink)?
        }
    };
    progress.finish_and_clear();
    summary.lines = lines;
    destination.close();
    report(&summary, args.json)
}

fn format_from_extension(path: &Path) -> anyhow::Result<Format> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("jsonl" | "ndjson" | "json") => Ok(Format::Jsonl),
        Some("csv") => Ok(Format::Csv),
        _ => bail!(
            "{}: cannot tell the format from the extension; pass --format jsonl or --format csv",
            path.display()
        ),
    }
}

fn progress_bar(size: u64) -> ProgressBar {
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// The `messageId` of a line that has none: derived from its bytes, so
/// importing the same file again stores nothing twice.
fn content_message_id(raw: &[u8]) -> String {
    format!("import-{:032x}", xxhash_rust::xxh3::xxh3_128(raw))
}

fn read_jsonl(
    reader: impl Read,
    batch: usize,
    sink: &mut dyn FnMut(Vec<IncomingItem>) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let mut line = Vec::new();
    let mut number = 0u64;
    let mut items = Vec::with_capacity(batch);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        number += 1;
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let origin = Origin::Line(number);
        let item = match std::str::from_utf8(text) {
            Ok(json) => IncomingItem::json_with_fallback_id(
                origin,
                json.to_owned(),
                content_message_id(text),
            ),
            Err(e) => IncomingItem::refused(
                origin,
                Value::String(String::from_utf8_lossy(text).into_owned()),
                Rejection::new("invalid_json", format!("line is not UTF-8: {e}")),
            ),
        };
        items.push(item);
        if items.len() >= batch {
            sink(std::mem::take(&mut items))?;
        }
    }
    if !items.is_empty() {
        sink(items)?;
    }
    Ok(number)
}

fn read_csv(
    reader: impl Read,
    path: &Path,
    mapping: &CsvMapping,
    batch: usize,
    sink: &mut dyn FnMut(Vec<IncomingItem>) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers = csv
        .headers()
        .with_context(|| format!("{}: cannot read the header row", path.display()))?
        .clone();
    mapping.check_header(&headers, path)?;
    let mut items = Vec::with_capacity(batch);
    let mut last_line = 1;
    for row in csv.byte_records() {
        let row = row.with_context(|| format!("{}: malformed CSV", path.display()))?;
        let line = row.position().map_or(last_line + 1, |p| p.line());
        last_line = line;
        items.push(csv_item(Origin::Line(line), row, &headers, mapping));
        if items.len() >= batch {
            sink(std::mem::take(&mut items))?;
        }
    }
    if !items.is_empty() {
        sink(items)?;
    }
    Ok(last_line)
}

/// One CSV row as an item: a message, or a refusal naming what is wrong.
fn csv_item(
    origin: Origin,
    row: csv::ByteRecord,
    headers: &csv::StringRecord,
    mapping: &CsvMapping,
) -> IncomingItem {
    let refuse = |raw: &csv::ByteRecord, message: String| {
        let text = raw
            .iter()
            .map(String::from_utf8_lossy)
            .collect::<Vec<_>>()
            .join(",");
        IncomingItem::refused(
            origin,
            Value::String(text),
            Rejection::new("invalid_row", message),
        )
    };
    if row.len() != headers.len() {
        let message = format!(
            "row has {} fields, the header has {}",
            row.len(),
            headers.len()
        );
        return refuse(&row, message);
    }
    let raw: Vec<u8> = row
        .iter()
        .flat_map(|cell| cell.iter().copied().chain([0u8]))
        .collect();
    match csv::StringRecord::from_byte_record(row) {
        Ok(row) => {
            let message = Value::Object(mapping.message(headers, &row)).to_string();
            IncomingItem::json_with_fallback_id(origin, message, content_message_id(&raw))
        }
        Err(e) => {
            let field = e.utf8_error().field() + 1;
            refuse(
                &e.into_byte_record(),
                format!("field {field} is not UTF-8 text"),
            )
        }
    }
}

fn report(summary: &Summary, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(summary)?);
        return Ok(());
    }
    println!(
        "{}: {} stored, {} duplicate, {} rejected ({})",
        summary.file,
        summary.stored,
        summary.duplicates,
        summary.rejected.len(),
        summary.destination
    );
    const SHOWN: usize = 20;
    for rejected in summary.rejected.iter().take(SHOWN) {
        println!(
            "  line {}: {}: {}",
            rejected.line, rejected.code, rejected.message
        );
    }
    if summary.rejected.len() > SHOWN {
        println!("  … and {} more", summary.rejected.len() - SHOWN);
    }
    if !summary.rejected.is_empty() {
        println!("rejected events are kept with their reasons: percorso events --quarantine");
    }
    Ok(())
}
