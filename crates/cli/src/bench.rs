//! `percorso bench ingest`: durable ingest throughput over loopback HTTP,
//! compared in the same run with a no-op handler on the same stack.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use percorso_collect::{CollectConfig, Collector, DataDir, SourceRegistry};
use percorso_core::SystemClock;
use percorso_engine::{Engine, EngineOptions};
use percorso_log::{LogOptions, OpenMode};
use percorso_server::{install_metrics, noop_router, router, AppState, Limits};

#[derive(Debug, Args)]
pub struct IngestBenchArgs {
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Seconds each target is driven for.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Events per /v1/batch request.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// Approximate size of one event in bytes.
    #[arg(long, default_value_t = 400)]
    pub event_bytes: usize,
    /// Log partitions of the fresh server (default: number of cores).
    #[arg(long)]
    pub partitions: Option<u16>,
    /// Where the fresh data directory is made (default: the system temp dir).
    #[arg(long, value_name = "DIR")]
    pub scratch: Option<PathBuf>,
}

/// What one target sustained.
struct RunResult {
    events: u64,
    requests: u64,
    elapsed: Duration,
    latencies_micros: Vec<u64>,
}

impl RunResult {
    fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_micros.is_empty() {
            return f64::NAN;
        }
        let rank = ((self.latencies_micros.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_micros[rank] as f64 / 1000.0
    }
}

pub fn run(args: IngestBenchArgs) -> anyhow::Result<()> {
    let scratch = match &args.scratch {
        Some(dir) => tempfile::tempdir_in(dir)?,
        None => tempfile::tempdir()?,
    };
    install_metrics();
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("server")
        .build()?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("client")
        .build()?;

    let noop_addr = server_rt.block_on(serve(noop_router()))?;
    let (real_addr, collector, write_key) =
        start_percorso(&server_rt, &args, scratch.path().join("data"))?;
    let _store_writer = collector.start_store_writer();
    eprintln!(
        "driving each target for {} s with {} clients, {} events of ~{} bytes per batch",
        args.seconds, args.clients, args.batch, args.event_bytes
    );
    let noop = client_rt.block_on(drive(noop_addr, &write_key, &args, false))?;
    let real = client_rt.block_on(drive(real_addr, &write_key, &args, true))?;

    let stored: u64 = (0..collector.log().partition_count())
        .map(|p| collector.log().end_offset(p).unwrap_or(0))
        .sum();
    if stored != real.events {
        bail!(
            "acknowledged {} events but the log holds {stored}",
            real.events
        );
    }
    println!(
        "{:<10} {:>12} {:>10} {:>9} {:>9} {:>11}",
        "target", "events/s", "req/s", "p50 ms", "p99 ms", "events"
    );
    for (name, r) in [("no-op", &noop), ("percorso", &real)] {
        println!(
            "{:<10} {:>12.0} {:>10.0} {:>9.2} {:>9.2} {:>11}",
            name,
            r.events_per_second(),
            r.requests as f64 / r.elapsed.as_secs_f64(),
            r.percentile_ms(0.50),
            r.percentile_ms(0.99),
            r.events
        );
    }
    println!(
        "ratio percorso/no-op: {:.3}",
        real.events_per_second() / noop.events_per_second()
    );
    if let Some((fsyncs, seconds)) = fsync_totals() {
        println!(
            "fsyncs: {fsyncs:.0}, {:.0} events per fsync, mean fsync {:.2} ms, fsync busy {:.0}% of the run per partition",
            real.events as f64 / fsyncs.max(1.0),
            seconds * 1000.0 / fsyncs.max(1.0),
            100.0 * seconds / real.elapsed.as_secs_f64() / f64::from(collector.log().partition_count())
        );
    }
    println!("all {} acknowledged events are in the log", real.events);
    Ok(())
}

fn start_percorso(
    rt: &tokio::runtime::Runtime,
    args: &IngestBenchArgs,
    dir: PathBuf,
) -> anyhow::Result<(SocketAddr, Arc<Collector>, String)> {
    let data = DataDir::new(dir);
    let mut config = CollectConfig::default();
    config.log = LogOptions {
        partitions: args.partitions.unwrap_or(config.log.partitions),
        ..config.log
    };
    let collector = Arc::new(Collector::open(
        &data,
        config,
        Arc::new(SystemClock),
        OpenMode::ReadWrite,
    )?);
    let sources = Arc::new(SourceRegistry::open(data.sources())?);
    let write_key = sources.create("bench", String::new())?.write_key.clone();
    let engine = Engine::start_for(
        &collector,
        &data,
        Arc::new(SystemClock),
        rt.handle().clone(),
        EngineOptions::default(),
    )?;
    let state = AppState {
        collector: collector.clone(),
        engine,
        sources,
        admin_token: "bench-admin-token-not-used".into(),
        limits: Limits::default(),
        analytics: Arc::new(percorso_analytics::ColumnarStore::open_read_only(
            &data.root().join("analytics"),
        )?),
    };
    let addr = rt.block_on(serve(router(state)))?;
    Ok((addr, collector, write_key))
}

async fn serve(app: axum::Router) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

async fn drive(
    addr: SocketAddr,
    write_key: &str,
    args: &IngestBenchArgs,
    check_stored: bool,
) -> anyhow::Result<RunResult> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;
    let url = format!("http://{addr}/v1/batch");
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let tasks: Vec<_> = (0..args.clients)
        .map(|client_id| {
            let (client, url, key) = (client.clone(), url.clone(), write_key.to_owned());
            let (batch, event_bytes) = (args.batch, args.event_bytes);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut sequence = 0u64;
                while Instant::now() < deadline {
                    let body = batch_body(client_id, &mut sequence, batch, event_bytes);
                    let sent = Instant::now();
                    let response = client
                        .post(&url)
                        .basic_auth(&key, Some(""))
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await?;
                    let status = response.status();
                    let text = response.text().await?;
                    if !status.is_success()
                        || (check_stored && !text.contains(&format!("\"stored\":{batch}")))
                    {
                        bail!("request failed with {status}: {text}");
                    }
                    latencies.push(sent.elapsed().as_micros() as u64);
                }
                Ok::<_, anyhow::Error>(latencies)
            })
        })
        .collect();
    let mut latencies_micros = Vec::new();
    for task in tasks {
        latencies_micros.extend(task.await.context("client task panicked")??);
    }
    let elapsed = started.elapsed();
    latencies_micros.sort_unstable();
    let requests = latencies_micros.len() as u64;
    Ok(RunResult {
        events: requests * args.batch as u64,
        requests,
        elapsed,
        latencies_micros,
    })
}

/// Filler for the events' free-text property.
static PADDING: [u8; 1024] = [b'x'; 1024];

/// A batch of distinct track events (unique messageIds, so none is deduplicated).
fn batch_body(client: usize, sequence: &mut u64, batch: usize, event_bytes: usize) -> String {
    let mut body = String::with_capacity(batch * (event_bytes + 16) + 64);
    body.push_str("{\"batch\":[");
    for i in 0..batch {
        *sequence += 1;
        let n = *sequence;
        if i > 0 {
            body.push(',');
        }
        let event = format!(
            concat!(
                "{{\"type\":\"track\",\"messageId\":\"bench-{c}-{n}\",\"userId\":\"user-{u}\",",
                "\"event\":\"Product Viewed\",\"timestamp\":\"2026-11-24T10:00:00.000Z\",",
                "\"properties\":{{\"product_id\":\"sku-{p}\",\"price\":19.99,\"currency\":\"EUR\",\"category\":\"shoes\",\"note\":\""
            ),
            c = client,
            n = n,
            u = (n * 7919 + client as u64) % 100_000,
            p = n % 5000
        );
        body.push_str(&event);
        let tail = "\"},\"context\":{\"ip\":\"203.0.113.7\",\"userAgent\":\"Mozilla/5.0 (X11; Linux x86_64)\"}}";
        let padding = event_bytes.saturating_sub(event.len() + tail.len());
        body.push_str(
            std::str::from_utf8(&PADDING[..padding.min(PADDING.len())]).unwrap_or_default(),
        );
        body.push_str(tail);
    }
    body.push_str("],\"sentAt\":\"2026-11-24T10:00:01.000Z\"}");
    body
}

/// Count and total seconds of log fsyncs so far, from the metrics recorder.
fn fsync_totals() -> Option<(f64, f64)> {
    let text = install_metrics()?.render();
    let value = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    Some((
        value("percorso_log_fsync_seconds_count")?,
        value("percorso_log_fsync_seconds_sum")?,
    ))
}
