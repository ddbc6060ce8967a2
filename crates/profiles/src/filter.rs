//! Conditions on an event's properties.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a property is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    Equals,
    NotEquals,
    GreaterThan,
    GreaterOrEqual,
    LessThan,
    LessOrEqual,
    Exists,
    Missing,
}

impl Comparison {
    /// Whether `found` (absent when `None`) compares to `wanted` this way.
    pub fn holds(self, found: Option<&Value>, wanted: &Value) -> bool {
        match self {
            Comparison::Exists => found.is_some_and(|v| !v.is_null()),
            Comparison::Missing => found.is_none_or(Value::is_null),
            Comparison::Equals => found == Some(wanted),
            Comparison::NotEquals => found != Some(wanted),
            Comparison::GreaterThan => compare(found, wanted).is_some_and(|o| o.is_gt()),
            Comparison::GreaterOrEqual => compare(found, wanted).is_some_and(|o| o.is_ge()),
            Comparison::LessThan => compare(found, wanted).is_some_and(|o| o.is_lt()),
            Comparison::LessOrEqual => compare(found, wanted).is_some_and(|o| o.is_le()),
        }
    }

    /// The name used in definitions (`greater_or_equal`).
    pub fn name(self) -> &'static str {
        match self {
            Comparison::Equals => "equals",
            Comparison::NotEquals => "not_equals",
            Comparison::GreaterThan => "greater_than",
            Comparison::GreaterOrEqual => "greater_or_equal",
            Comparison::LessThan => "less_than",
            Comparison::LessOrEqual => "less_or_equal",
            Comparison::Exists => "exists",
            Comparison::Missing => "missing",
        }
    }

    pub const ALL: [Comparison; 8] = [
        Comparison::Equals,
        Comparison::NotEquals,
        Comparison::GreaterThan,
        Comparison::GreaterOrEqual,
        Comparison::LessThan,
        Comparison::LessOrEqual,
        Comparison::Exists,
        Comparison::Missing,
    ];
}

/// `properties.plan equals "pro"`: a dotted path into the event, a
/// comparison, and (except for `exists` and `missing`) a value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertyFilter {
    pub path: String,
    pub comparison: Comparison,
    #[serde(default)]
    pub value: Value,
}

impl PropertyFilter {
    pub fn matches(&self, event: &impl Fields) -> bool {
        self.comparison.holds(event.at(&self.path), &self.value)
    }
}

/// An event's members, read by dotted path: the whole event as parsed, or
/// what a projection kept of it (`ProjectedEvent`).
pub trait Fields {
    /// The value at a dotted path (`properties.revenue`, `context.channel`).
    fn at(&self, path: &str) -> Option<&Value>;
}

impl Fields for Value {
    fn at(&self, path: &str) -> Option<&Value> {
        lookup(self, path)
    }
}

/// The value at a dotted path (`properties.revenue`, `context.channel`).
pub fn lookup<'a>(event: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(event, |value, key| value.get(key))
}

/// Numbers compare as numbers, strings as strings; anything else does not compare.
fn compare(found: Option<&Value>, wanted: &Value) -> Option<std::cmp::Ordering> {
    match (found?, wanted) {
        (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filter(path: &str, comparison: Comparison, value: Value) -> PropertyFilter {
        PropertyFilter {
            path: path.into(),
            comparison,
            value,
        }
    }

    #[test]
    fn compares_numbers_strings_and_presence() {
        let event = json!({ "properties": { "revenue": 42.5, "plan": "pro" }, "context": { "channel": "web" } });
        assert!(filter("properties.revenue", Comparison::GreaterThan, json!(40)).matches(&event));
        assert!(!filter("properties.revenue", Comparison::LessThan, json!(40)).matches(&event));
        assert!(filter("properties.plan", Comparison::Equals, json!("pro")).matches(&event));
        assert!(filter("context.channel", Comparison::NotEquals, json!("app")).matches(&event));
        assert!(filter("properties.plan", Comparison::Exists, Value::Null).matches(&event));
        assert!(!filter("properties.missing", Comparison::Exists, Value::Null).matches(&event));
        assert!(
            !filter("properties.plan", Comparison::GreaterThan, json!(1)).matches(&event),
            "no cross-type order"
        );
    }
}
