//! `percorso serve`.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use percorso_collect::{atomic_write, Collector, DataDir, SourceRegistry};
use percorso_core::{format_millis, Clock, SystemClock};
use percorso_engine::Engine;
use percorso_log::OpenMode;
use percorso_server::{install_metrics, router, AppState};

use crate::config::Config;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (overrides server.listen and PERCORSO_LISTEN).
    /// Use port 0 to pick a free port; the chosen address is printed.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
}

pub fn run(config: Config, args: ServeArgs) -> anyhow::Result<()> {
    let data = DataDir::new(&config.data_dir);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let collector = Arc::new(
        Collector::open(
            &data,
            config.collect.clone(),
            clock.clone(),
            OpenMode::ReadWrite,
        )
        .with_context(|| format!("cannot open data directory {}", data.root().display()))?,
    );
    let store_writer = collector.start_store_writer();
    let sources = Arc::new(SourceRegistry::open(data.sources())?);
    if sources.list()?.is_empty() {
        let source = sources.create("default", format_millis(clock.now_millis()))?;
        println!(
            "created source 'default'; its write key is {}",
            source.write_key
        );
    }
    let admin_token = admin_token(&config, &data)?;
    install_metrics();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let engine = Engine::start_for(
        &collector,
        &data,
        clock.clone(),
        runtime.handle().clone(),
        config.engine.clone(),
    )?;
    crate::deliveries::start(&engine, &config.delivery, runtime.handle().clone())
        .context("cannot start the message channels")?;
    let declared = runtime
        .block_on(engine.declare_config_traits(&config.computed_traits))
        .context("cannot apply the computed traits of the configuration file")?;
    for (what, names) in [
        ("added (back-filling)", &declared.added),
        ("replaced (back-filling)", &declared.replaced),
        ("deleted (gone from the file)", &declared.removed),
    ] {
        if !names.is_empty() {
            println!("computed traits {what}: {}", names.join(", "));
        }
    }
    let compaction = crate::compaction::CompactionThread::start(
        crate::compaction::open_compactor(&data)?,
        collector.clone(),
    );
    let state = AppState {
        collector: collector.clone(),
        engine: engine.clone(),
        sources,
        admin_token: admin_token.into(),
        limits: config.limits,
        analytics: compaction.store.clone(),
    };
    let listen = args.listen.unwrap_or(config.listen);
    let serving = collector.clone();
    runtime.block_on(async move {
        // Handlers first: a signal that arrives once we say we are listening
        // must stop us gracefully, not by the default action.
        let shutdown = shutdown_signal()?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        println!(
            "percorso listening on http://{addr} (data: {})",
            data.root().display()
        );
        std::io::stdout().flush()?;
        let pruner = serving;
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                pruner.prune_dedup();
            }
        });
        axum::serve(listener, router(state))
            .with_graceful_shutdown(shutdown)
            .await
            .context("server failed")
    })?;
    engine.stop();
    drop(store_writer); // its last write: the next start reads no log for it
    collector.log().close();
    Ok(())
}

/// The admin token from the config or environment, else the one stored in
/// the data directory, else a new one stored there. Only its location is
/// printed: secrets stay out of logs.
fn admin_token(config: &Config, data: &DataDir) -> anyhow::Result<String> {
    if let Some(token) = &config.admin_token {
        return Ok(token.clone());
    }
    if let Some(token) = stored_admin_token(data) {
        return Ok(token);
    }
    let path = data.admin_token();
    let token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    atomic_write(&path, token.as_bytes())?;
    println!("generated an admin token in {}", path.display());
    Ok(token)
}

/// The token generated on an earlier start, if there is one.
pub fn stored_admin_token(data: &DataDir) -> Option<String> {
    let token = std::fs::read_to_string(data.admin_token()).ok()?;
    let token = token.trim();
    (!token.is_empty()).then(|| token.to_owned())
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    #[cfg(unix)]
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = term.recv() => {},
            _ = interrupt.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    })
}
