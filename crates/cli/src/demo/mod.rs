//! `percorso demo`: the whole cycle on a fresh machine, in one command.
//!
//! 1. generate a multichannel dataset with planted truths and import it;
//! 2. start the server, with email and webhooks delivered to a built-in
//!    capture sink (`<data>/demo-capture/*.jsonl`);
//! 3. deploy example journeys and send live events that trigger them;
//! 4. wait for the columnar store to catch up, print a summary (journey
//!    map, top funnel, paths, journey scores, messages sent);
//! 5. keep serving the API until Ctrl-C.

mod capture;
mod live;
mod summary;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use percorso_channels::{SmtpConfig, SmtpSecurity};
use percorso_collect::DataDir;

use crate::admin_client::{AdminClient, ServerArgs};
use crate::config::Config;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// People in the generated dataset.
    #[arg(long, default_value_t = 2000)]
    pub profiles: u64,
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where the API listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Start over: delete the demo's data directory first.
    #[arg(long)]
    pub fresh: bool,
    /// Print the summary and stop instead of serving on.
    #[arg(long)]
    pub no_serve: bool,
}

/// The data directory the demo uses unless `--data` says otherwise.
pub const DEFAULT_DATA: &str = "percorso-demo";

pub fn run(mut config: Config, args: DemoArgs) -> anyhow::Result<()> {
    let data = DataDir::new(&config.data_dir);
    if args.fresh && data.root().exists() {
        std::fs::remove_dir_all(data.root())
            .with_context(|| format!("cannot delete {}", data.root().display()))?;
    }
    if !data.events().exists() {
        import_dataset(&config, &args)?;
    } else {
        println!(
            "reusing the data in {} (--fresh starts over)",
            data.root().display()
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let sink = runtime.block_on(capture::start(&data.root().join("demo-capture")))?;
    config.delivery.channels.smtp = Some(SmtpConfig {
        host: sink.smtp.ip().to_string(),
        port: sink.smtp.port(),
        security: SmtpSecurity::None,
        username: None,
        password: None,
        from: "Percorso Demo <demo@percorso.example>".into(),
        timeout: Duration::from_secs(10),
    });
    config.listen = args.listen;
    let serving = config.clone();
    let server = std::thread::Builder::new()
        .name("demo-server".into())
        .spawn(move || crate::serve::run(serving, crate::serve::ServeArgs { listen: None }))?;
    let base = format!("http://{}", args.listen);
    live::wait_for_token(&data.admin_token(), &server)?;
    let client = AdminClient::connect(
        &config,
        &ServerArgs {
            url: Some(base.clone()),
            admin_token: None,
        },
    )?;
    live::wait_until_up(&client, &server)?;
    let sent = live::run_live_journeys(&client, &config, &base, &sink)?;
    summary::wait_for_analytics(&client, sent.last_event_at)?;
    summary::print(&client, &sink, &sent)?;
    println!();
    println!(
        "Serving the API on {base} (admin token in {}). Ctrl-C stops.",
        data.admin_token().display()
    );
    println!(
        "Captured messages: {} and {}",
        sink.emails.display(),
        sink.webhooks.display()
    );
    if args.no_serve {
        return Ok(());
    }
    server
        .join()
        .map_err(|_| anyhow::anyhow!("the server thread failed"))??;
    Ok(())
}

fn import_dataset(config: &Config, args: &DemoArgs) -> anyhow::Result<()> {
    let data = DataDir::new(&config.data_dir);
    data.create()?;
    let file: PathBuf = data.root().join("demo-events.jsonl");
    println!(
        "generating {} people over {} days (seed {}) into {}",
        args.profiles,
        args.days,
        args.seed,
        file.display()
    );
    let out = std::io::BufWriter::new(std::fs::File::create(&file)?);
    let summary = percorso_generator::generate(
        &percorso_generator::GeneratorConfig::new(args.profiles, args.days, args.seed),
        out,
    )?;
    let truths = serde_json::to_string_pretty(&summary.truths)?;
    std::fs::write(data.root().join("demo-truths.json"), truths)?;
    crate::import::run(
        config,
        crate::import::ImportArgs {
            file,
            source: "demo".into(),
            format: None,
            map: Vec::new(),
            mapping: None,
            message_type: "track".into(),
            batch: 2000,
            json: false,
            url: None,
            write_key: None,
        },
    )
}
