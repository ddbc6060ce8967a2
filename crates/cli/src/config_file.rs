//! Reading `percorso.toml`: every key checked against the known settings,
//! every problem reported with its key and the line it is on.

use std::collections::HashMap;
use std::fmt;

/// The type a setting must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Count,
    /// An array of strings.
    TextList,
    /// A table of any keys, each a whole number (`limits = { email = 3 }`).
    CountTable,
    /// An array of tables (`[[computed_traits]]`), checked by its reader.
    TableList,
}

/// Known settings by section ("" is the top level).
const SETTINGS: [(&str, &[(&str, Kind)]); 8] = [
    (
        "",
        &[
            ("data_dir", Kind::Text),
            ("computed_traits", Kind::TableList),
        ],
    ),
    (
        "server",
        &[
            ("listen", Kind::Text),
            ("admin_token", Kind::Text),
            ("max_batch_bytes", Kind::Count),
        ],
    ),
    (
        "ingest",
        &[
            ("max_event_bytes", Kind::Count),
            ("dedup_window", Kind::Text),
            ("index_interval", Kind::Text),
        ],
    ),
    (
        "log",
        &[("partitions", Kind::Count), ("segment_bytes", Kind::Count)],
    ),
    (
        "engine",
        &[
            ("cache_profiles", Kind::Count),
            ("checkpoint_interval", Kind::Text),
        ],
    ),
    (
        "identity",
        &[
            ("priority", Kind::TextList),
            ("limits", Kind::CountTable),
            ("blocked", Kind::TextList),
            ("custom", Kind::TextList),
            ("cache_profiles", Kind::Count),
        ],
    ),
    (
        "channels",
        &[
            ("smtp_host", Kind::Text),
            ("smtp_port", Kind::Count),
            ("smtp_security", Kind::Text),
            ("smtp_username", Kind::Text),
            ("email_from", Kind::Text),
            ("sms_webhook", Kind::Text),
            ("push_webhook", Kind::Text),
            ("provider_authorization", Kind::Text),
            ("retry_attempts", Kind::Count),
            ("retry_base", Kind::Text),
            ("retry_cap", Kind::Text),
        ],
    ),
    (
        "journeys",
        &[
            ("frequency_caps", Kind::TextList),
            ("quiet_hours", Kind::Text),
            ("quiet_hours_channels", Kind::TextList),
            ("quiet_hours_then", Kind::Text),
            ("global_holdout_percent", Kind::Count),
            ("time_zone", Kind::Text),
        ],
    ),
];

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key (`server.listen`) or an environment variable's name.
    pub key: String,
    pub message: String,
    /// Line in the file, when the key is in it.
    pub line: Option<usize>,
}

impl Problem {
    pub fn new(key: &str, message: impl Into<String>) -> Self {
        Self {
            key: key.to_owned(),
            message: message.into(),
            line: None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.key, self.message),
            None => write!(f, "{}: {}", self.key, self.message),
        }
    }
}

/// Settings by dotted key, each of its expected type.
#[derive(Debug, Default)]
pub struct Settings {
    values: HashMap<String, toml::Value>,
}

impl Settings {
    pub fn text(&self, key: &str) -> Option<&str> {
        self.values.get(key).and_then(toml::Value::as_str)
    }

    pub fn texts(&self, key: &str) -> Option<Vec<&str>> {
        let list = self.values.get(key)?.as_array()?;
        Some(list.iter().filter_map(toml::Value::as_str).collect())
    }

    /// `(key, count)` pairs of a table setting.
    pub fn counts(&self, key: &str) -> Vec<(&str, u64)> {
        self.values
            .get(key)
            .and_then(toml::Value::as_table)
            .map(|table| {
                table
                    .iter()
                    .filter_map(|(k, v)| Some((k.as_str(), v.as_integer()? as u64)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The tables of an array-of-tables setting.
    pub fn tables(&self, key: &str) -> Vec<&toml::Table> {
        self.values
            .get(key)
            .and_then(toml::Value::as_array)
            .map(|list| list.iter().filter_map(toml::Value::as_table).collect())
            .unwrap_or_default()
    }

    pub fn count(&self, key: &str) -> Option<u64> {
        self.values
            .get(key)
            .and_then(toml::Value::as_integer)
            .map(|n| n as u64)
    }
}

/// Reads the known settings out of a parsed file; unknown keys and values
/// of the wrong type are problems.
pub fn read_settings(table: &toml::Table) -> (Settings, Vec<Problem>) {
    let mut settings = Settings::default();
    let mut problems = Vec::new();
    let sections: Vec<&str> = SETTINGS
        .iter()
        .map(|(s, _)| *s)
        .filter(|s| !s.is_empty())
        .collect();
    for (key, value) in table {
        if let Some((_, known)) = SETTINGS.iter().find(|(s, _)| *s == key) {
            match value.as_table() {
                Some(section) => read_section(key, known, section, &mut settings, &mut problems),
                None => problems.push(Problem::new(key, format!("must be a section: [{key}]"))),
            }
        } else if let Some(kind) = kind_of("", key) {
            read_value(key, kind, value, &mut settings, &mut problems);
        } else {
            let expected = format!("expected data_dir or a section [{}]", sections.join("], ["));
            problems.push(Problem::new(key, format!("unknown key ({expected})")));
        }
    }
    (settings, problems)
}

fn kind_of(section: &str, key: &str) -> Option<Kind> {
    SETTINGS
        .iter()
        .find(|(s, _)| *s == section)
        .and_then(|(_, keys)| keys.iter().find(|(k, _)| *k == key))
        .map(|(_, kind)| *kind)
}

fn read_section(
    name: &str,
    known: &[(&str, Kind)],
    section: &toml::Table,
    settings: &mut Settings,
    problems: &mut Vec<Problem>,
) {
    for (key, value) in section {
        let dotted = format!("{name}.{key}");
        match known.iter().find(|(k, _)| k == key) {
            Some(&(_, kind)) => read_value(&dotted, kind, value, settings, problems),
            None => {
                let names: Vec<&str> = known.iter().map(|(k, _)| *k).collect();
                problems.push(Problem::new(
                    &dotted,
                    format!("unknown key (expected {})", names.join(", ")),
                ));
            }
        }
    }
}

fn read_value(
    key: &str,
    kind: Kind,
    value: &toml::Value,
    settings: &mut Settings,
    problems: &mut Vec<Problem>,
) {
    let count = |v: &toml::Value| v.as_integer().is_some_and(|n| n >= 0);
    let fits = match kind {
        Kind::Text => value.is_str(),
        Kind::Count => count(value),
        Kind::TextList => value
            .as_array()
            .is_some_and(|a| a.iter().all(toml::Value::is_str)),
        Kind::CountTable => value.as_table().is_some_and(|t| t.values().all(count)),
        Kind::TableList => value
            .as_array()
            .is_some_and(|a| a.iter().all(toml::Value::is_table)),
    };
    if fits {
        settings.values.insert(key.to_owned(), value.clone());
    } else {
        let expected = match kind {
            Kind::Text => "a string",
            Kind::Count => "a whole number, 0 or more",
            Kind::TextList => "a list of strings",
            Kind::CountTable => "a table of whole numbers, e.g. { email = 3 }",
            Kind::TableList => "a list of tables, each a [[section]] of its own",
        };
        problems.push(Problem::new(
            key,
            format!("must be {expected}, got {value}"),
        ));
    }
}

/// Sets each problem's line: where its key (or its section) is written.
pub fn locate(problems: &mut [Problem], text: &str) {
    for problem in problems {
        if let Some(line) = table_list_line(&problem.key, text) {
            problem.line = Some(line);
            continue;
        }
        let (section, key) = match problem.key.split_once('.') {
            Some((section, key)) => (section, key),
            None if SETTINGS.iter().any(|(s, _)| *s == problem.key) => (problem.key.as_str(), ""),
            None => ("", problem.key.as_str()),
        };
        problem.line = line_of(text, section, key);
    }
}

/// For `name[i]...` keys, the line of the i-th `[[name]]` header.
fn table_list_line(key: &str, text: &str) -> Option<usize> {
    let (name, rest) = key.split_once('[')?;
    let index: usize = rest.split_once(']')?.0.parse().ok()?;
    let header = format!("[[{name}]]");
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.trim() == header)
        .nth(index)
        .map(|(n, _)| n + 1)
}

/// The 1-based line of `key = ...` in `[section]` (or of the section
/// header when `key` is empty).
fn line_of(text: &str, section: &str, key: &str) -> Option<usize> {
    let mut current = "";
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(header) = trimmed.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            current = header.trim();
            if key.is_empty() && current == section {
                return Some(index + 1);
            }
            continue;
        }
        let assigns = trimmed
            .strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='));
        if current == section && !key.is_empty() && assigns {
            return Some(index + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_found_with_its_line() {
        let text = "colour = 1\n[server]\nlisten = \"nowhere\"\nmax_batch_bytes = -5\n[log]\nshards = 3\n[ingest]\n";
        let table: toml::Table = text.parse().unwrap();
        let (_, mut problems) = read_settings(&table);
        locate(&mut problems, text);
        let mut found: Vec<String> = problems.iter().map(ToString::to_string).collect();
        found.sort();
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            found[0].starts_with("line 1: colour: unknown key"),
            "{found:?}"
        );
        assert!(
            found[1].starts_with("line 4: server.max_batch_bytes: must be a whole number"),
            "{found:?}"
        );
        assert!(
            found[2].starts_with(
                "line 6: log.shards: unknown key (expected partitions, segment_bytes)"
            ),
            "{found:?}"
        );
    }
}
