//! `percorso bench profiles`: events through identity resolution, the
//! durable log and the profile engine with 10 computed traits and 10
//! segments, against the same pipeline with no definitions (baseline, same
//! run); then the time from an event's append to its `Segment Entered`
//! event under background load; and the process RSS.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use percorso_collect::{
    BatchDefaults, CollectConfig, Collector, DataDir, IncomingItem, Origin, Source, StoreWriter,
};
use percorso_core::SystemClock;
use percorso_engine::{Engine, EngineOptions};
use percorso_identity::ProfileId;
use percorso_log::{LogOptions, OpenMode};
use percorso_profiles::ComputedTrait;
use serde_json::json;

#[derive(Debug, Args)]
pub struct ProfilesBenchArgs {
    /// Distinct people (each with an anonymous id, a user id and an email).
    #[arg(long, default_value_t = 100_000)]
    pub profiles: u64,
    /// Events per person.
    #[arg(long, default_value_t = 10)]
    pub events_per_profile: u64,
    /// Concurrent senders.
    #[arg(long, default_value_t = 4)]
    pub clients: u64,
    /// Events per ingest call.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Latency probes (one new person each, under background load).
    #[arg(long, default_value_t = 2_000)]
    pub probes: usize,
    /// Events per second of background load while probing latency (0: as
    /// fast as the pipeline takes them, which measures queueing more than
    /// the pipeline).
    #[arg(long, default_value_t = 10_000)]
    pub background_rate: u64,
    /// Skip the no-definitions baseline run.
    #[arg(long)]
    pub no_baseline: bool,
    /// Each person changes channel at every event (most events then flip
    /// a `web_*` segment), instead of once part-way.
    #[arg(long)]
    pub churn: bool,
    /// Profile states the engine keeps in memory (the rest are read from
    /// the state store on disk when needed).
    #[arg(long, default_value_t = EngineOptions::default().cache_profiles)]
    pub cache_profiles: usize,
}

const EVENTS: [&str; 5] = [
    "Product Viewed",
    "Order Completed",
    "Email Opened",
    "Cart Updated",
    "Support Call",
];

fn definitions() -> (Vec<ComputedTrait>, Vec<String>) {
    let traits = [
        json!({ "name": "orders", "event": "Order Completed", "aggregation": "count" }),
        json!({ "name": "spend", "event": "Order Completed", "aggregation": "sum", "property": "properties.revenue" }),
        json!({ "name": "spend_30d", "event": "Order Completed", "aggregation": "sum", "property": "properties.revenue", "window_days": 30 }),
        json!({ "name": "max_order", "event": "Order Completed", "aggregation": "max", "property": "properties.revenue" }),
        json!({ "name": "avg_order", "event": "Order Completed", "aggregation": "average", "property": "properties.revenue" }),
        json!({ "name": "first_product", "event": "Product Viewed", "aggregation": "first", "property": "properties.sku" }),
        json!({ "name": "last_channel", "aggregation": "last", "property": "context.channel" }),
        json!({ "name": "skus_7d", "event": "Product Viewed", "aggregation": "distinct_count", "property": "properties.sku", "window_days": 7 }),
        json!({ "name": "calls_14d", "event": "Support Call", "aggregation": "count", "window_days": 14 }),
        json!({ "name": "min_order", "event": "Order Completed", "aggregation": "min", "property": "properties.revenue" }),
    ];
    let traits = traits
        .into_iter()
        .map(|t| serde_json::from_value(t).expect("valid trait"))
        .collect();
    let segments = (0..9)
        .map(|i| match i % 3 {
            0 => format!("name: buyers_{i}\nrule:\n  event: Order Completed\n  at_least: {}\n  within_days: 30\n", 1 + i / 3),
            1 => format!("name: spenders_{i}\nrule:\n  all:\n    - trait: spend\n      greater_than: {}\n    - not:\n        event: Support Call\n        within_days: 14\n", 50 * i),
            _ => format!("name: web_{i}\nrule:\n  any:\n    - last_seen:\n        path: context.channel\n        equals: web\n    - trait: plan\n      equals: pro\n"),
        })
        .chain(["name: probe_hit\nrule:\n  event: Probe Hit\n".to_owned()])
        .collect();
    (traits, segments)
}

/// Written with `format!`: building a `Value` to print cost the load
/// generator more CPU than it leaves the pipeline under test (the names
/// and ids here hold nothing to escape).
fn event_text(person: u64, n: u64, churn: bool) -> String {
    if n == 0 {
        let plan = if person.is_multiple_of(7) {
            "pro"
        } else {
            "free"
        };
        return format!(
            r#"{{"type":"identify","anonymousId":"anon-{person}","userId":"user-{person}","traits":{{"email":"p{person}@example.com","plan":"{plan}"}}}}"#
        );
    }
    let name = EVENTS[((person + n) % EVENTS.len() as u64) as usize];
    // A person keeps to a channel and moves to another part-way (the
    // `web_*` segments follow the last channel seen); `--churn` moves them
    // at every event instead, which makes a membership change of most.
    let switch = if churn { 1 } else { 5 };
    let channel = ["web", "app", "email", "store"][((person + n / switch) % 4) as usize];
    let revenue = (person * 31 + n * 17) % 200;
    let sku = (person + n) % 50;
    format!(
        r#"{{"type":"track","anonymousId":"anon-{person}","event":"{name}","properties":{{"revenue":{revenue},"sku":"sku-{sku}"}},"context":{{"channel":"{channel}"}}}}"#
    )
}

/// Fields drop in order: the directory goes last, after the engine has
/// closed its state store in it.
/// The engine's default state cache.
pub(crate) const DEFAULT_CACHE: usize = 100_000;

pub(crate) struct Rig {
    _store_writer: StoreWriter,
    pub(crate) collector: Arc<Collector>,
    pub(crate) engine: Arc<Engine>,
    source: Source,
    _dir: tempfile::TempDir,
}

pub(crate) fn rig(
    rt: &tokio::runtime::Runtime,
    with_definitions: bool,
    cache_profiles: usize,
) -> anyhow::Result<Rig> {
    let dir = tempfile::tempdir()?;
    let data = DataDir::new(dir.path());
    let config = CollectConfig {
        log: LogOptions::default(),
        ..CollectConfig::default()
    };
    let collector = Arc::new(Collector::open(
        &data,
        config,
        Arc::new(SystemClock),
        OpenMode::ReadWrite,
    )?);
    let engine = Engine::start_for(
        &collector,
        &data,
        Arc::new(SystemClock),
        rt.handle().clone(),
        EngineOptions {
            cache_profiles,
            ..EngineOptions::default()
        },
    )?;
    if with_definitions {
        let (traits, segments) = definitions();
        rt.block_on(async {
            for t in traits {
                engine.create_trait(t).await?;
            }
            for s in segments {
                engine.create_segment(&s).await?;
            }
            engine.backfilled().await
        })?;
    }
    let source = Source {
        id: "bench".into(),
        name: "bench".into(),
        write_key: String::new(),
        created_at: String::new(),
    };
    Ok(Rig {
        _store_writer: collector.start_store_writer(),
        _dir: dir,
        collector,
        engine,
        source,
    })
}

pub(crate) async fn send(rig: &Rig, texts: Vec<String>) -> anyhow::Result<()> {
    let items = texts
        .into_iter()
        .map(|t| IncomingItem::json(Origin::Request, t))
        .collect();
    let outcome = rig
        .collector
        .ingest(&rig.source, None, &BatchDefaults::default(), items)
        .await?;
    anyhow::ensure!(
        outcome.rejected.is_empty(),
        "bench events refused: {:?}",
        outcome.rejected
    );
    Ok(())
}

/// Events per second applied, and when the last was acknowledged and
/// applied (from the first send).
struct Throughput {
    rate: f64,
    acknowledged: Duration,
    applied: Duration,
}

/// Sends every person's events (interleaved across people, as live
/// traffic is) and waits until the engine applied them all.
fn throughput(
    rt: &tokio::runtime::Runtime,
    rig: &Arc<Rig>,
    args: &ProfilesBenchArgs,
) -> anyhow::Result<Throughput> {
    let started = Instant::now();
    let acknowledged = rt.block_on(async {
        let mut tasks = Vec::new();
        for client in 0..args.clients {
            let rig = rig.clone();
            let (profiles, per, clients, batch, churn) = (
                args.profiles,
                args.events_per_profile,
                args.clients,
                args.batch,
                args.churn,
            );
            tasks.push(tokio::spawn(async move {
                let mut texts = Vec::with_capacity(batch);
                for n in 0..per {
                    for person in (client..profiles).step_by(clients as usize) {
                        texts.push(event_text(person, n, churn));
                        if texts.len() == batch {
                            send(&rig, std::mem::take(&mut texts)).await?;
                        }
                    }
                }
                send(&rig, texts).await
            }));
        }
        for task in tasks {
            task.await??;
        }
        let acknowledged = started.elapsed();
        // Done means the Segment Entered events the load caused are stored
        // and applied too (settle waits for them at most 2 s a call).
        for _ in 0..30 {
            rig.engine.settle().await?;
        }
        anyhow::Ok(acknowledged)
    })?;
    let applied = started.elapsed();
    Ok(Throughput {
        rate: (args.profiles * args.events_per_profile) as f64 / applied.as_secs_f64(),
        acknowledged,
        applied,
    })
}

/// Records in the log: the events sent plus the Segment Entered/Exited
/// events the engine stated.
fn stored_records(rig: &Rig) -> anyhow::Result<u64> {
    let log = rig.collector.log();
    let mut total = 0;
    for partition in 0..log.partition_count() {
        total += log.end_offset(partition)?;
    }
    Ok(total)
}

/// Sends probe events for new people while two clients keep a background
/// load going (at `--background-rate`); measures from the probe's ingest
/// call to its recorded `Segment Entered`.
fn latency(
    rt: &tokio::runtime::Runtime,
    rig: &Arc<Rig>,
    args: &ProfilesBenchArgs,
) -> anyhow::Result<Vec<Duration>> {
    let mut changes = rig.engine.membership_changes();
    rt.block_on(async {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut background = Vec::new();
        for client in 0..2u64 {
            let (rig, stop) = (rig.clone(), stop.clone());
            let (profiles, churn) = (args.profiles, args.churn);
            // Each client sends 100 events per tick.
            let mut ticks = (args.background_rate > 0).then(|| {
                let per_second = args.background_rate as f64 / 2.0 / 100.0;
                let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second));
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                ticks
            });
            background.push(tokio::spawn(async move {
                let mut n = 100;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if let Some(ticks) = &mut ticks {
                        ticks.tick().await;
                    }
                    let texts = (0..100)
                        .map(|i| event_text((client * 100 + i) % profiles.max(1), n, churn))
                        .collect();
                    send(&rig, texts).await?;
                    n += 1;
                }
                anyhow::Ok(())
            }));
        }
        let mut sent: HashMap<String, Instant> = HashMap::new();
        let mut seen: HashMap<String, Instant> = HashMap::new();
        for probe in 0..args.probes {
            let user = format!("probe-{probe}");
            let text = json!({ "type": "track", "userId": user, "event": "Probe Hit" }).to_string();
            let at = Instant::now();
            send(rig, vec![text]).await?;
            let identifier = percorso_identity::Identifier::new("user_id", &user);
            let profile = rig.collector.identity().graph().profile_of(&identifier)?;
            sent.insert(profile.map(ProfileId::into_string).unwrap_or_default(), at);
            while let Ok((segment, change)) = changes.try_recv() {
                if segment == "probe_hit" && change.entered {
                    seen.insert(change.profile_id, Instant::now());
                }
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while seen.len() < sent.len() && Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_millis(100), changes.recv()).await {
                Ok(Ok((segment, change))) if segment == "probe_hit" && change.entered => {
                    seen.insert(change.profile_id, Instant::now());
                }
                _ => {}
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for task in background {
            task.await??;
        }
        anyhow::ensure!(
            seen.len() == sent.len(),
            "only {} of {} probes entered the segment",
            seen.len(),
            sent.len()
        );
        Ok(sent
            .iter()
            .map(|(profile, at)| seen[profile].duration_since(*at))
            .collect())
    })
}

pub(crate) fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

pub fn run(args: ProfilesBenchArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let total = args.profiles * args.events_per_profile;
    println!(
        "{} people x {} events = {total} events, {} clients, batches of {}",
        args.profiles, args.events_per_profile, args.clients, args.batch
    );
    let baseline = if args.no_baseline {
        None
    } else {
        let rig = Arc::new(rig(&rt, false, args.cache_profiles)?);
        let rate = throughput(&rt, &rig, &args)?.rate;
        println!("baseline (identity + log + profiles, no definitions): {rate:>10.0} events/s");
        Some(rate)
    };
    let rig = Arc::new(rig(&rt, true, args.cache_profiles)?);
    let Throughput {
        rate,
        acknowledged,
        applied,
    } = throughput(&rt, &rig, &args)?;
    let ratio = baseline.map_or(String::new(), |b| {
        format!(" (ratio to baseline {:.2})", rate / b)
    });
    println!("with 10 computed traits + 10 segments:               {rate:>10.0} events/s{ratio}");
    println!(
        "  (the last event acknowledged after {:.2} s, all applied after {:.2} s)",
        acknowledged.as_secs_f64(),
        applied.as_secs_f64()
    );
    let derived = stored_records(&rig)?.saturating_sub(total);
    println!(
        "membership changes stated: {derived} ({:.1} per 100 events)",
        derived as f64 * 100.0 / total.max(1) as f64
    );
    println!("RSS after {} profiles: {:.0} MiB", args.profiles, rss_mib());
    let mut latencies = latency(&rt, &rig, &args)?;
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let load = match args.background_rate {
        0 => "as much load as it takes".to_owned(),
        rate => format!("{rate} events/s of load"),
    };
    println!(
        "append -> Segment Entered recorded ({} probes under {load}): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3
    );
    rig.engine.stop();
    Ok(())
}
