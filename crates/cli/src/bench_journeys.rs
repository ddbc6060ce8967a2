//! `percorso bench journeys`: (1) time from an event's ingest to its
//! webhook arriving at a real HTTP receiver, under background load with
//! 20 live journeys; (2) journey steps per second on one core (the state
//! machine alone); (3) how long a crowd of timers due in the same minute
//! takes to fire and move everyone on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use clap::Args;
use percorso_journeys::{
    parse_journey, Catalog, ContactPolicy, CustomerJourneys, Machine, StaticProfile, Status,
};
use serde_json::{json, Value};

use crate::bench_profiles::{rig, rss_mib, send, Rig};

#[derive(Debug, Args)]
pub struct JourneysBenchArgs {
    /// Background events per second while probing.
    #[arg(long, default_value_t = 10_000)]
    pub rate: u64,
    /// Seconds of probing under load.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// People the background load is spread over.
    #[arg(long, default_value_t = 20_000)]
    pub people: u64,
    /// People whose timers come due in the same minute.
    #[arg(long, default_value_t = 100_000)]
    pub timers: u64,
    /// Passes through the machine for the steps-per-second figure.
    #[arg(long, default_value_t = 200_000)]
    pub passes: u64,
}

const EVENTS: [&str; 5] = [
    "Product Viewed",
    "Cart Updated",
    "Email Opened",
    "Search",
    "Page Seen",
];

/// 19 journeys on the background's events (waits, branches, profile
/// updates, no sends) and one that sends a webhook on `Probe`.
fn journeys(receiver: &str) -> Vec<String> {
    let mut files: Vec<String> = (0..19)
        .map(|i| {
            let event = EVENTS[i % EVENTS.len()];
            format!(
                "name: load_{i}\ntrigger: {{ event: {event} }}\nre_entry: one_at_a_time\nstart: check\nsteps:\n  check:\n    branch:\n      - when: {{ event_property: properties.n, greater_than: {i} }}\n        next: note\n    otherwise: pause\n  note:\n    update_profile: {{ set: {{ seen_{i}: true }} }}\n    next: pause\n  pause:\n    wait: 1h\n    next: done\n  done:\n    exit: true\n"
            )
        })
        .collect();
    files.push(format!(
        "name: probe\ntrigger: {{ event: Probe }}\nstart: tell\nsteps:\n  tell:\n    send: {{ channel: webhook, template: hook }}\n    next: done\n  done:\n    exit: true\ntemplates:\n  hook:\n    url: \"{receiver}/probe\"\n    body: {{ user: \"{{{{ event.userId }}}}\" }}\n"
    ));
    files
}

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn receiver() -> anyhow::Result<(String, Arrivals)> {
    let arrivals: Arrivals = Arc::default();
    let app = axum::Router::new()
        .route(
            "/probe",
            axum::routing::post(
                |State(arrivals): State<Arrivals>, body: axum::Json<Value>| async move {
                    let user = body["user"].as_str().unwrap_or_default().to_owned();
                    arrivals
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(user, Instant::now());
                },
            ),
        )
        .with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((format!("http://{address}"), arrivals))
}

async fn deploy(rig: &Rig, files: &[String]) -> anyhow::Result<()> {
    for file in files {
        rig.engine.deploy_journey(file, true).await?;
    }
    Ok(())
}

fn quantile(sorted: &[Duration], q: f64) -> f64 {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)].as_secs_f64() * 1e3
}

/// Probes under background load; returns (from call, from ack) latencies.
fn latency(
    rt: &tokio::runtime::Runtime,
    rig: &Arc<Rig>,
    args: &JourneysBenchArgs,
) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    rt.block_on(async {
        let (url, arrivals) = receiver().await?;
        deploy(rig, &journeys(&url)).await?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let background = {
            let (rig, stop, people, rate) = (rig.clone(), stop.clone(), args.people.max(1), args.rate);
            tokio::spawn(async move {
                // 100 events per tick.
                let mut ticks = tokio::time::interval(Duration::from_secs_f64(100.0 / rate.max(1) as f64));
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    ticks.tick().await;
                    let texts = (0..100)
                        .map(|i| {
                            let event = EVENTS[((n + i) % EVENTS.len() as u64) as usize];
                            format!(r#"{{"type":"track","userId":"bg-{}","event":"{event}","properties":{{"n":{}}}}}"#, (n * 100 + i) % people, n % 40)
                        })
                        .collect();
                    send(&rig, texts).await?;
                    n += 1;
                }
                anyhow::Ok(())
            })
        };
        let mut sent = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(args.seconds);
        let mut probe = 0;
        while Instant::now() < deadline {
            let user = format!("probe-{probe}");
            let text = json!({ "type": "track", "userId": user, "event": "Probe" }).to_string();
            let start = Instant::now();
            send(rig, vec![text]).await?;
            sent.push((user, start, Instant::now()));
            probe += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let wait_until = Instant::now() + Duration::from_secs(10);
        while arrivals.lock().unwrap_or_else(|e| e.into_inner()).len() < sent.len() && Instant::now() < wait_until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        background.await??;
        let arrived = arrivals.lock().unwrap_or_else(|e| e.into_inner()).clone();
        anyhow::ensure!(arrived.len() == sent.len(), "{} of {} probe webhooks arrived", arrived.len(), sent.len());
        let from_call = sent.iter().map(|(u, start, _)| arrived[u].duration_since(*start)).collect();
        let from_ack = sent.iter().map(|(u, _, acked)| arrived[u].saturating_duration_since(*acked)).collect();
        Ok((from_call, from_ack))
    })
}

/// The machine alone: passes through a 7-step journey, on this thread.
fn steps_per_second(passes: u64) -> anyhow::Result<(f64, u64)> {
    let yaml = "name: steps\ntrigger: { api: true }\nre_entry: one_at_a_time\nstart: a\nsteps:\n  a:\n    branch:\n      - when: { trait: plan, equals: pro }\n        next: b\n    otherwise: b\n  b:\n    split:\n      - { variant: A, weight: 1, next: c }\n      - { variant: B, weight: 1, next: c }\n  c:\n    holdout: 5\n    next: d\n  d:\n    update_profile: { set: { touched: true } }\n    next: e\n  e:\n    emit: { event: Touched }\n    next: f\n  f:\n    send: { channel: webhook, template: hook }\n    next: g\n  g:\n    exit: true\ntemplates:\n  hook:\n    url: \"http://127.0.0.1:1/{{ profile.id }}\"\n";
    let mut catalog = Catalog::default();
    catalog.deploy(
        parse_journey(yaml).map_err(|p| anyhow::anyhow!("{p}"))?,
        Status::Published,
    );
    let policy = ContactPolicy::default();
    let machine = Machine {
        catalog: &catalog,
        policy: &policy,
    };
    let profiles: Vec<StaticProfile> = (0..1_000)
        .map(|i| StaticProfile {
            id: format!("prof_{i}"),
            traits: json!({ "plan": if i % 2 == 0 { "pro" } else { "free" } })
                .as_object()
                .cloned()
                .unwrap_or_default(),
            ..StaticProfile::default()
        })
        .collect();
    let mut steps = 0u64;
    let started = Instant::now();
    for pass in 0..passes {
        let mut state = CustomerJourneys::default();
        let profile = &profiles[(pass % 1_000) as usize];
        let actions = machine
            .enter(&mut state, profile, "steps", json!({}), pass as i64)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        steps += state.journeys["steps"]
            .active
            .as_ref()
            .map_or(7, |i| i.moves as u64);
        std::hint::black_box(actions);
    }
    Ok((steps as f64 / started.elapsed().as_secs_f64(), steps))
}

/// Arms `people` timers due within about a second of each other, then
/// measures from the first one's due time until everyone has moved on.
fn timers(
    rt: &tokio::runtime::Runtime,
    rig: &Arc<Rig>,
    people: u64,
) -> anyhow::Result<(Duration, Duration)> {
    rt.block_on(async {
        // Long enough for every timer to be armed before the first is due.
        let wait = 20 + people / 20_000;
        let yaml = format!("name: crowd\ntrigger: {{ event: Arm }}\nstart: pause\nsteps:\n  pause:\n    wait: {wait}s\n    next: done\n  done:\n    exit: true\n");
        rig.engine.deploy_journey(&yaml, true).await?;
        let first = Instant::now();
        let mut texts = Vec::new();
        for p in 0..people {
            texts.push(format!(r#"{{"type":"track","userId":"crowd-{p}","event":"Arm"}}"#));
            if texts.len() == 500 {
                send(rig, std::mem::take(&mut texts)).await?;
            }
        }
        send(rig, texts).await?;
        rig.engine.sync().await?;
        let armed = first.elapsed();
        let due = first + Duration::from_secs(wait);
        loop {
            let detail = rig.engine.journey("crowd").await?;
            if detail.summary.totals.exited >= people {
                break;
            }
            anyhow::ensure!(first.elapsed() < Duration::from_secs(wait + 600), "timers still firing after 10 minutes: {:?}", detail.summary.totals);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok((armed, Instant::now().saturating_duration_since(due)))
    })
}

pub fn run(args: JourneysBenchArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (steps, count) = steps_per_second(args.passes)?;
    println!("state machine, one thread: {steps:>12.0} steps/s ({count} steps in {} passes of a 7-step journey)", args.passes);

    let rig = Arc::new(rig(&rt, false, crate::bench_profiles::DEFAULT_CACHE)?);
    let delivery = crate::journeys_config::Delivery::default();
    crate::deliveries::start(&rig.engine, &delivery, rt.handle().clone())?;
    let (mut from_call, mut from_ack) = latency(&rt, &rig, &args)?;
    from_call.sort();
    from_ack.sort();
    println!(
        "event -> webhook received ({} probes, {} background events/s, 20 live journeys): from the ingest call p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; from its acknowledgement p50 {:.2} ms, p99 {:.2} ms",
        from_call.len(), args.rate, quantile(&from_call, 0.5), quantile(&from_call, 0.99), quantile(&from_call, 1.0), quantile(&from_ack, 0.5), quantile(&from_ack, 0.99)
    );
    let (armed, fired) = timers(&rt, &rig, args.timers)?;
    println!(
        "{} timers due within {:.1} s of each other: all fired and moved on {:.2} s after the first came due, {:.2} s after the last",
        args.timers,
        armed.as_secs_f64(),
        fired.as_secs_f64(),
        (fired.as_secs_f64() - armed.as_secs_f64()).max(0.0)
    );
    println!("RSS: {:.0} MiB", rss_mib());
    rig.engine.stop();
    Ok(())
}
