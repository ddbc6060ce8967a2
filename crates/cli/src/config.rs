//! Configuration: one TOML file, then environment variables, then flags.
//! The file is read key by key against the known settings (unknown keys
//! refused), then validated into [`Config`]; `config check` reports every
//! problem at once, each with its key and line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use percorso_collect::CollectConfig;
use percorso_engine::EngineOptions;
use percorso_profiles::ComputedTrait;
use percorso_server::Limits;

use crate::config_file::{locate, read_settings, Problem, Settings};

const DEFAULT_FILE: &str = "percorso.toml";

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// From the file or PERCORSO_ADMIN_TOKEN; otherwise one is generated.
    pub admin_token: Option<String>,
    pub limits: Limits,
    pub collect: CollectConfig,
    /// Declared in the file; the server applies them at start.
    pub computed_traits: Vec<ComputedTrait>,
    pub engine: EngineOptions,
    /// Where journey messages go and how hard delivery tries.
    pub delivery: crate::journeys_config::Delivery,
    /// The file the settings came from, if any.
    pub source_file: Option<PathBuf>,
}

impl Config {
    /// Loads the file (explicit, or ./percorso.toml if present), applies the
    /// environment, and the `--data` flag.
    pub fn load(file: Option<&Path>, data_flag: Option<&Path>) -> anyhow::Result<Self> {
        let (config, problems) = Self::load_all(file, data_flag)?;
        if !problems.is_empty() {
            bail!("invalid configuration:\n  {}", render(&config, &problems));
        }
        Ok(config)
    }

    fn load_all(
        file: Option<&Path>,
        data_flag: Option<&Path>,
    ) -> anyhow::Result<(Self, Vec<Problem>)> {
        let path = match file {
            Some(path) => Some(path.to_owned()),
            None => Some(PathBuf::from(DEFAULT_FILE)).filter(|p| p.exists()),
        };
        let text = match &path {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read configuration file {}", path.display()))?,
            None => String::new(),
        };
        let table = text.parse::<toml::Table>().with_context(|| {
            let name = path.as_deref().unwrap_or(Path::new(DEFAULT_FILE));
            format!("{} is not valid TOML", name.display())
        })?;
        let (settings, mut problems) = read_settings(&table);
        let (mut config, more) = validate(&settings);
        problems.extend(more);
        locate(&mut problems, &text);
        problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
        config.source_file = path;
        apply_env(&mut config, &mut problems);
        if let Some(dir) = data_flag {
            config.data_dir = dir.to_owned();
        }
        Ok((config, problems))
    }
}

/// Problems as `FILE:LINE: key: message`, one per line.
fn render(config: &Config, problems: &[Problem]) -> String {
    let file = config
        .source_file
        .as_deref()
        .map(|p| p.display().to_string());
    problems
        .iter()
        .map(|p| match (&file, p.line) {
            (Some(file), Some(line)) => format!("{file}:{line}: {}: {}", p.key, p.message),
            _ => format!("{}: {}", p.key, p.message),
        })
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// Turns the settings into a config, collecting every problem.
fn validate(settings: &Settings) -> (Config, Vec<Problem>) {
    let mut problems = Vec::new();
    let data_dir = PathBuf::from(settings.text("data_dir").unwrap_or("percorso-data"));
    let listen = parse_listen(
        settings.text("server.listen").unwrap_or("127.0.0.1:8080"),
        "server.listen",
        &mut problems,
    );
    let mut collect = CollectConfig::default();
    let mut limits = Limits::default();
    if let Some(bytes) = settings.count("server.max_batch_bytes") {
        limits.max_batch_bytes = bytes as usize;
    }
    if let Some(bytes) = settings.count("ingest.max_event_bytes") {
        collect.max_event_bytes = bytes as usize;
    }
    if collect.max_event_bytes == 0 || collect.max_event_bytes > limits.max_batch_bytes {
        problems.push(Problem::new(
            "ingest.max_event_bytes",
            format!(
                "must be between 1 and server.max_batch_bytes ({})",
                limits.max_batch_bytes
            ),
        ));
    }
    if let Some(d) = positive_duration(
        settings,
        "ingest.dedup_window",
        "\"24h\" or \"30m\"",
        &mut problems,
    ) {
        collect.dedup_window_millis = d.as_millis() as i64;
    }
    if let Some(d) = positive_duration(settings, "ingest.index_interval", "\"5s\"", &mut problems) {
        collect.index_write_every = d;
    }
    if let Some(partitions) = settings.count("log.partitions") {
        match u16::try_from(partitions) {
            Ok(n) if n >= 1 => collect.log.partitions = n,
            _ => problems.push(Problem::new("log.partitions", "must be from 1 to 65535")),
        }
    }
    if let Some(bytes) = settings.count("log.segment_bytes") {
        collect.log.segment_bytes = bytes;
        if bytes < 4096 {
            problems.push(Problem::new("log.segment_bytes", "must be at least 4096"));
        }
    }
    let (identity, custom_identifiers) =
        crate::identity_config::identity_rules(settings, &mut problems);
    collect.identity = identity;
    collect.custom_identifiers = custom_identifiers;
    if let Some(profiles) = cache_size(settings, "identity.cache_profiles", &mut problems) {
        collect.identity_cache_profiles = profiles;
    }
    let computed_traits = crate::traits_config::computed_traits(settings, &mut problems);
    let mut engine = EngineOptions::default();
    if let Some(profiles) = cache_size(settings, "engine.cache_profiles", &mut problems) {
        engine.cache_profiles = profiles;
    }
    if let Some(d) = positive_duration(
        settings,
        "engine.checkpoint_interval",
        "\"5s\"",
        &mut problems,
    ) {
        engine.checkpoint_every = d;
    }
    engine.contact_policy = crate::journeys_config::contact_policy(settings, &mut problems);
    let delivery = crate::journeys_config::delivery(settings, &mut problems);
    let admin_token = settings.text("server.admin_token").map(str::to_owned);
    if admin_token.as_ref().is_some_and(|t| t.len() < 16) {
        problems.push(Problem::new(
            "server.admin_token",
            "must be at least 16 characters",
        ));
    }
    let config = Config {
        data_dir,
        listen,
        admin_token,
        limits,
        collect,
        computed_traits,
        engine,
        delivery,
        source_file: None,
    };
    (config, problems)
}

/// A count of profiles to keep in memory, at least 100 (fewer would read
/// the store for nearly every event).
fn cache_size(settings: &Settings, key: &str, problems: &mut Vec<Problem>) -> Option<usize> {
    let profiles = settings.count(key)?;
    if profiles < 100 {
        problems.push(Problem::new(key, "must be at least 100"));
    }
    Some(profiles as usize)
}

/// The duration at `key`, if set; a problem naming `example` if it is not
/// a positive duration.
pub(crate) fn positive_duration(
    settings: &Settings,
    key: &str,
    example: &str,
    problems: &mut Vec<Problem>,
) -> Option<std::time::Duration> {
    let text = settings.text(key)?;
    match humantime::parse_duration(text) {
        Ok(d) if !d.is_zero() => Some(d),
        _ => {
            problems.push(Problem::new(
                key,
                format!("'{text}' is not a positive duration such as {example}"),
            ));
            None
        }
    }
}

fn parse_listen(text: &str, key: &str, problems: &mut Vec<Problem>) -> SocketAddr {
    text.parse().unwrap_or_else(|_| {
        problems.push(Problem::new(
            key,
            format!("'{text}' is not an address such as 127.0.0.1:8080"),
        ));
        SocketAddr::from(([127, 0, 0, 1], 8080))
    })
}

fn apply_env(config: &mut Config, problems: &mut Vec<Problem>) {
    if let Ok(listen) = std::env::var("PERCORSO_LISTEN") {
        config.listen = parse_listen(&listen, "PERCORSO_LISTEN", problems);
    }
    if let Ok(token) = std::env::var("PERCORSO_ADMIN_TOKEN") {
        if token.len() < 16 {
            problems.push(Problem::new(
                "PERCORSO_ADMIN_TOKEN",
                "must be at least 16 characters",
            ));
        }
        config.admin_token = Some(token);
    }
}

/// `percorso config check`.
pub fn check(file: Option<&Path>, data_flag: Option<&Path>) -> anyhow::Result<()> {
    let (config, problems) = Config::load_all(file, data_flag)?;
    let origin = config.source_file.as_deref().map_or_else(
        || "defaults (no configuration file)".to_owned(),
        |p| p.display().to_string(),
    );
    if !problems.is_empty() {
        bail!(
            "{} problem(s) in {origin}:\n  {}",
            problems.len(),
            render(&config, &problems)
        );
    }
    println!("configuration OK ({origin})");
    println!("  data_dir               = {}", config.data_dir.display());
    println!("  server.listen          = {}", config.listen);
    println!(
        "  server.admin_token     = {}",
        if config.admin_token.is_some() {
            "(set)"
        } else {
            "(generated on first start)"
        }
    );
    println!(
        "  server.max_batch_bytes = {}",
        config.limits.max_batch_bytes
    );
    println!(
        "  ingest.max_event_bytes = {}",
        config.collect.max_event_bytes
    );
    println!(
        "  ingest.dedup_window    = {}",
        humantime::format_duration(std::time::Duration::from_millis(
            config.collect.dedup_window_millis as u64
        ))
    );
    println!(
        "  ingest.index_interval  = {}",
        humantime::format_duration(config.collect.index_write_every)
    );
    println!(
        "  log.partitions         = {} (fixed when the log is created)",
        config.collect.log.partitions
    );
    println!(
        "  log.segment_bytes      = {}",
        config.collect.log.segment_bytes
    );
    println!(
        "  computed_traits        = {}",
        config.computed_traits.len()
    );
    println!(
        "  engine.cache_profiles  = {}",
        config.engine.cache_profiles
    );
    println!(
        "  identity.cache_profiles = {}",
        config.collect.identity_cache_profiles
    );
    println!(
        "  engine.checkpoint_interval = {}",
        humantime::format_duration(config.engine.checkpoint_every)
    );
    Ok(())
}
