//! Configuration: one TOML file, then environment variables, then flags.
//! The file is parsed into raw sections (unknown keys refused), then
//! validated into [`Config`]; `config check` reports every problem at once.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use percorso_collect::CollectConfig;
use percorso_log::LogOptions;
use percorso_server::Limits;
use serde::Deserialize;

const DEFAULT_FILE: &str = "percorso.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<String>,
    admin_token: Option<String>,
    max_batch_bytes: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIngest {
    max_event_bytes: Option<usize>,
    dedup_window: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    partitions: Option<u16>,
    segment_bytes: Option<u64>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// From the file or PERCORSO_ADMIN_TOKEN; otherwise one is generated.
    pub admin_token: Option<String>,
    pub limits: Limits,
    pub collect: CollectConfig,
    /// The file the settings came from, if any.
    pub source_file: Option<PathBuf>,
}

impl Config {
    /// Loads the file (explicit, or ./percorso.toml if present), applies the
    /// environment, and the `--data` flag.
    pub fn load(file: Option<&Path>, data_flag: Option<&Path>) -> anyhow::Result<Self> {
        let (config, problems) = Self::load_all(file, data_flag)?;
        if !problems.is_empty() {
            bail!(
                "invalid configuration in {}:\n  {}",
                config
                    .source_file
                    .as_deref()
                    .unwrap_or(Path::new(DEFAULT_FILE))
                    .display(),
                problems.join("\n  ")
            );
        }
        Ok(config)
    }

    fn load_all(
        file: Option<&Path>,
        data_flag: Option<&Path>,
    ) -> anyhow::Result<(Self, Vec<String>)> {
        let path = match file {
            Some(path) => Some(path.to_owned()),
            None => Some(PathBuf::from(DEFAULT_FILE)).filter(|p| p.exists()),
        };
        let table = match &path {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("cannot read configuration file {}", path.display())
                })?;
                text.parse::<toml::Table>()
                    .with_context(|| format!("{} is not valid TOML", path.display()))?
            }
            None => toml::Table::new(),
        };
        let mut problems = Vec::new();
        let (config, more) = validate(&table);
        problems.extend(more);
        let mut config = config;
        config.source_file = path;
        apply_env(&mut config, &mut problems);
        if let Some(dir) = data_flag {
            config.data_dir = dir.to_owned();
        }
        Ok((config, problems))
    }
}

fn section<T: Default + for<'de> Deserialize<'de>>(
    table: &toml::Table,
    key: &str,
    problems: &mut Vec<String>,
) -> T {
    match table.get(key) {
        None => T::default(),
        Some(value) => value
            .clone()
            .try_into()
            .unwrap_or_else(|e: toml::de::Error| {
                problems.push(format!("[{key}]: {}", e.message()));
                T::default()
            }),
    }
}

/// Turns the parsed file into a config, collecting every problem.
fn validate(table: &toml::Table) -> (Config, Vec<String>) {
    let mut problems = Vec::new();
    for key in table.keys() {
        if !["data_dir", "server", "ingest", "log"].contains(&key.as_str()) {
            problems.push(format!(
                "{key}: unknown key (expected data_dir, [server], [ingest] or [log])"
            ));
        }
    }
    let data_dir = match table.get("data_dir") {
        None => PathBuf::from("percorso-data"),
        Some(toml::Value::String(s)) => PathBuf::from(s),
        Some(_) => {
            problems.push("data_dir: must be a string".into());
            PathBuf::from("percorso-data")
        }
    };
    let server: RawServer = section(table, "server", &mut problems);
    let ingest: RawIngest = section(table, "ingest", &mut problems);
    let log: RawLog = section(table, "log", &mut problems);

    let listen = parse_listen(
        server.listen.as_deref().unwrap_or("127.0.0.1:8080"),
        "server.listen",
        &mut problems,
    );
    let mut collect = CollectConfig::default();
    let mut limits = Limits::default();
    if let Some(bytes) = server.max_batch_bytes {
        limits.max_batch_bytes = bytes;
    }
    if let Some(bytes) = ingest.max_event_bytes {
        collect.max_event_bytes = bytes;
    }
    if collect.max_event_bytes == 0 || collect.max_event_bytes > limits.max_batch_bytes {
        problems.push(format!(
            "ingest.max_event_bytes: must be between 1 and server.max_batch_bytes ({})",
            limits.max_batch_bytes
        ));
    }
    if let Some(window) = &ingest.dedup_window {
        match humantime::parse_duration(window) {
            Ok(d) if !d.is_zero() => collect.dedup_window_millis = d.as_millis() as i64,
            _ => problems.push(format!(
                "ingest.dedup_window: '{window}' is not a positive duration such as \"24h\" or \"30m\""
            )),
        }
    }
    collect.log = LogOptions {
        partitions: log.partitions.unwrap_or(collect.log.partitions),
        segment_bytes: log.segment_bytes.unwrap_or(collect.log.segment_bytes),
    };
    if collect.log.partitions == 0 {
        problems.push("log.partitions: must be at least 1".into());
    }
    if collect.log.segment_bytes < 4096 {
        problems.push("log.segment_bytes: must be at least 4096".into());
    }
    if server.admin_token.as_ref().is_some_and(|t| t.len() < 16) {
        problems.push("server.admin_token: must be at least 16 characters".into());
    }
    let config = Config {
        data_dir,
        listen,
        admin_token: server.admin_token,
        limits,
        collect,
        source_file: None,
    };
    (config, problems)
}

fn parse_listen(text: &str, key: &str, problems: &mut Vec<String>) -> SocketAddr {
    text.parse().unwrap_or_else(|_| {
        problems.push(format!(
            "{key}: '{text}' is not an address such as 127.0.0.1:8080"
        ));
        SocketAddr::from(([127, 0, 0, 1], 8080))
    })
}

fn apply_env(config: &mut Config, problems: &mut Vec<String>) {
    if let Ok(listen) = std::env::var("PERCORSO_LISTEN") {
        config.listen = parse_listen(&listen, "PERCORSO_LISTEN", problems);
    }
    if let Ok(token) = std::env::var("PERCORSO_ADMIN_TOKEN") {
        if token.len() < 16 {
            problems.push("PERCORSO_ADMIN_TOKEN: must be at least 16 characters".into());
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
            problems.join("\n  ")
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
        "  log.partitions         = {} (fixed when the log is created)",
        config.collect.log.partitions
    );
    println!(
        "  log.segment_bytes      = {}",
        config.collect.log.segment_bytes
    );
    Ok(())
}
