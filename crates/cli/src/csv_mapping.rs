//! Turning CSV rows into Segment messages. A mapping says which column
//! fills which field (`userId=customer_id`, `properties.revenue=amount`);
//! columns named like a Segment field fill it; the rest become properties
//! (or traits, for identify and group).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context};
use serde_json::{Map, Number, Value};

const TOP_LEVEL: [&str; 10] = [
    "type",
    "userId",
    "anonymousId",
    "messageId",
    "event",
    "name",
    "timestamp",
    "groupId",
    "previousId",
    "sentAt",
];
/// Identifiers stay text even when they look like numbers.
const KEEP_AS_TEXT: [&str; 6] = [
    "userId",
    "anonymousId",
    "messageId",
    "groupId",
    "previousId",
    "timestamp",
];

/// Field path (dotted) → CSV column.
#[derive(Debug, Clone, Default)]
pub struct CsvMapping {
    fields: BTreeMap<String, String>,
    default_type: String,
}

impl CsvMapping {
    /// From `--map FIELD=COLUMN` flags and an optional mapping file (JSON or
    /// TOML object of field → column); flags win.
    pub fn new(flags: &[String], file: Option<&Path>, default_type: &str) -> anyhow::Result<Self> {
        let mut fields = BTreeMap::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read mapping file {}", path.display()))?;
            let table: BTreeMap<String, String> = if path.extension().is_some_and(|e| e == "toml") {
                toml::from_str(&text).with_context(|| {
                    format!("{}: not a TOML table of field = \"column\"", path.display())
                })?
            } else {
                serde_json::from_str(&text).with_context(|| {
                    format!(
                        "{}: not a JSON object of \"field\": \"column\"",
                        path.display()
                    )
                })?
            };
            fields.extend(table);
        }
        for flag in flags {
            let Some((field, column)) = flag.split_once('=') else {
                bail!("--map '{flag}': expected FIELD=COLUMN, e.g. userId=customer_id");
            };
            fields.insert(field.trim().to_owned(), column.trim().to_owned());
        }
        Ok(Self {
            fields,
            default_type: default_type.to_owned(),
        })
    }

    /// Checks the mapping against the header row, naming unknown columns.
    pub fn check_header(&self, headers: &csv::StringRecord, file: &Path) -> anyhow::Result<()> {
        for (field, column) in &self.fields {
            if !headers.iter().any(|h| h == column) {
                bail!(
                    "{}: mapping {field}={column} names a column that is not in the header ({})",
                    file.display(),
                    headers.iter().collect::<Vec<_>>().join(", ")
                );
            }
        }
        Ok(())
    }

    /// Builds the message for one row.
    pub fn message(
        &self,
        headers: &csv::StringRecord,
        row: &csv::StringRecord,
    ) -> Map<String, Value> {
        let mut message = Map::new();
        let mapped_columns: Vec<&str> = self.fields.values().map(String::as_str).collect();
        for (field, column) in &self.fields {
            if let Some(cell) = headers
                .iter()
                .position(|h| h == column)
                .and_then(|i| row.get(i))
            {
                set_path(&mut message, field, cell);
            }
        }
        let kind = message
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                headers
                    .iter()
                    .position(|h| h == "type")
                    .and_then(|i| row.get(i))
                    .map(str::to_owned)
            })
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| self.default_type.clone());
        let bag = if matches!(kind.as_str(), "identify" | "group") {
            "traits"
        } else {
            "properties"
        };
        for (header, cell) in headers.iter().zip(row.iter()) {
            if mapped_columns.contains(&header) || message.contains_key(header) {
                continue;
            }
            if TOP_LEVEL.contains(&header) {
                set_path(&mut message, header, cell);
            } else {
                set_path(&mut message, &format!("{bag}.{header}"), cell);
            }
        }
        message.insert("type".into(), Value::String(kind));
        message
    }
}

/// Sets a dotted path, creating objects on the way. Empty cells are left out.
fn set_path(message: &mut Map<String, Value>, path: &str, cell: &str) {
    if cell.is_empty() {
        return;
    }
    let value = if KEEP_AS_TEXT.contains(&path) {
        Value::String(cell.to_owned())
    } else {
        typed(cell)
    };
    let mut parts = path.split('.').peekable();
    let mut target = message;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            target.insert(part.to_owned(), value);
            return;
        }
        let entry = target
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else { return };
        target = next;
    }
}

/// Numbers and booleans keep their type, so `revenue` sums as a number.
fn typed(cell: &str) -> Value {
    // Only text that reads back the same is a number: "007" stays a code.
    if let Ok(i) = cell.parse::<i64>() {
        if i.to_string() == cell {
            return Value::Number(i.into());
        }
        return Value::String(cell.to_owned());
    }
    // Digits beyond i64 (card numbers, long ids) would lose precision as floats.
    if cell
        .trim_start_matches('-')
        .bytes()
        .all(|b| b.is_ascii_digit())
    {
        return Value::String(cell.to_owned());
    }
    if let Some(n) = cell.parse::<f64>().ok().and_then(Number::from_f64) {
        if !cell.starts_with('0') || cell.starts_with("0.") {
            return Value::Number(n);
        }
    }
    match cell {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => Value::String(cell.to_owned()),
    }
}
