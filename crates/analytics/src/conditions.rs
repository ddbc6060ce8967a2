//! Event conditions shared by funnels, paths and journeys maps: an
//! activity name and filters on the event's properties, compiled into a
//! [`Tagger`] that marks each row with the conditions it meets.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::codebook::Codebook;
use crate::tagger::{Tag, Tagger};

/// At most this many conditions per query (bits of a row's mask).
pub const MAX_CONDITIONS: usize = 64;

/// A comparison of one property.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertyFilter {
    pub property: String,
    #[serde(default)]
    pub op: FilterOp,
    #[serde(default)]
    pub value: Value,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    #[default]
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Contains,
    Exists,
}

/// An event a step matches: its name and filters on its properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventCondition {
    pub event: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<PropertyFilter>,
}

impl EventCondition {
    pub fn named(event: &str) -> Self {
        EventCondition {
            event: event.to_owned(),
            filters: Vec::new(),
        }
    }

    /// Parses `Event Name` or `Event Name[property=value,...]`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some(open) = text.find('[') else {
            return Ok(EventCondition::named(text.trim()));
        };
        let inner = text[open + 1..]
            .strip_suffix(']')
            .ok_or_else(|| format!("'{text}': a filter list must end with ']'"))?;
        let mut filters = Vec::new();
        for part in inner.split(',').filter(|p| !p.trim().is_empty()) {
            let (property, op, value) = split_filter(part).ok_or_else(|| {
                format!("'{part}': expected property=value (or !=, >, >=, <, <=, ~)")
            })?;
            let value =
                serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
            filters.push(PropertyFilter {
                property: property.to_owned(),
                op,
                value,
            });
        }
        Ok(EventCondition {
            event: text[..open].trim().to_owned(),
            filters,
        })
    }
}

fn split_filter(part: &str) -> Option<(&str, FilterOp, &str)> {
    for (token, op) in [
        ("!=", FilterOp::Neq),
        (">=", FilterOp::Gte),
        ("<=", FilterOp::Lte),
        ("=", FilterOp::Eq),
        (">", FilterOp::Gt),
        ("<", FilterOp::Lt),
        ("~", FilterOp::Contains),
    ] {
        if let Some(at) = part.find(token) {
            return Some((part[..at].trim(), op, part[at + token.len()..].trim()));
        }
    }
    let name = part.trim();
    name.strip_suffix('?')
        .map(|p| (p.trim(), FilterOp::Exists, ""))
}

impl PropertyFilter {
    pub fn matches(&self, properties: &Value) -> bool {
        let found = self
            .property
            .split('.')
            .try_fold(properties, |v, part| v.get(part));
        let Some(found) = found else { return false };
        let number = |v: &Value| {
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        };
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match self.op {
            FilterOp::Exists => !found.is_null(),
            FilterOp::Eq => found == &self.value || text(found) == text(&self.value),
            FilterOp::Neq => !(found == &self.value || text(found) == text(&self.value)),
            FilterOp::Contains => text(found).contains(&text(&self.value)),
            FilterOp::Gt | FilterOp::Gte | FilterOp::Lt | FilterOp::Lte => {
                let (Some(a), Some(b)) = (number(found), number(&self.value)) else {
                    return false;
                };
                match self.op {
                    FilterOp::Gt => a > b,
                    FilterOp::Gte => a >= b,
                    FilterOp::Lt => a < b,
                    _ => a <= b,
                }
            }
        }
    }
}

/// Conditions numbered by bit, and an optional property whose value
/// groups people (a breakdown).
#[derive(Debug)]
pub struct ConditionTagger<'a> {
    conditions: Vec<EventCondition>,
    by_name: HashMap<String, u64>,
    filtered: HashMap<String, Vec<usize>>,
    breakdown: Option<(&'a str, &'a Codebook)>,
}

impl<'a> ConditionTagger<'a> {
    pub fn new(
        conditions: Vec<EventCondition>,
        breakdown: Option<(&'a str, &'a Codebook)>,
    ) -> Result<Self, String> {
        if conditions.len() > MAX_CONDITIONS {
            return Err(format!(
                "at most {MAX_CONDITIONS} event conditions in one query, not {}",
                conditions.len()
            ));
        }
        let mut by_name: HashMap<String, u64> = HashMap::new();
        let mut filtered: HashMap<String, Vec<usize>> = HashMap::new();
        for (bit, c) in conditions.iter().enumerate() {
            if c.filters.is_empty() {
                *by_name.entry(c.event.clone()).or_default() |= 1 << bit;
            } else {
                filtered.entry(c.event.clone()).or_default().push(bit);
            }
        }
        Ok(ConditionTagger {
            conditions,
            by_name,
            filtered,
            breakdown,
        })
    }
}

impl Tagger for ConditionTagger<'_> {
    fn activity(&self, name: &str) -> Tag {
        if self.breakdown.is_some() || self.filtered.contains_key(name) {
            return Tag::PerRow;
        }
        Tag::Fixed {
            mask: self.by_name.get(name).copied().unwrap_or(0),
            group: 0,
        }
    }

    fn row(&self, activity: &str, properties: Option<&str>) -> (u64, u32) {
        let mut mask = self.by_name.get(activity).copied().unwrap_or(0);
        let bits = self.filtered.get(activity);
        if mask == 0 && bits.is_none() {
            return (0, 0);
        }
        let value: Value = properties
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or(Value::Null);
        for &bit in bits.into_iter().flatten() {
            if self.conditions[bit]
                .filters
                .iter()
                .all(|f| f.matches(&value))
            {
                mask |= 1 << bit;
            }
        }
        let group = match self.breakdown {
            Some((property, book)) if mask != 0 => {
                let found = property.split('.').try_fold(&value, |v, part| v.get(part));
                match found {
                    Some(Value::String(s)) => book.code(s),
                    Some(Value::Null) | None => 0,
                    Some(other) => book.code(&other.to_string()),
                }
            }
            _ => 0,
        };
        (mask, group)
    }

    fn wants_properties(&self) -> bool {
        self.breakdown.is_some() || !self.filtered.is_empty()
    }
}
