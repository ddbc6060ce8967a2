//! What a computed trait computes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::filter::{Fields, PropertyFilter};

/// The function applied to the matching events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// Matching events.
    Count,
    /// Of a numeric property (other values are skipped).
    Sum,
    Min,
    Max,
    Average,
    /// The property's value on the earliest / latest matching event.
    First,
    Last,
    /// Different values of the property.
    DistinctCount,
}

impl Aggregation {
    pub const ALL: [Aggregation; 8] = [
        Aggregation::Count,
        Aggregation::Sum,
        Aggregation::Min,
        Aggregation::Max,
        Aggregation::Average,
        Aggregation::First,
        Aggregation::Last,
        Aggregation::DistinctCount,
    ];
}

/// A computed trait, e.g. "revenue in the last 30 days": `sum` of
/// `properties.revenue` over `Order Completed` events, window 30 days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComputedTrait {
    pub name: String,
    /// Only events of this name (`event` of a track); any event if absent.
    #[serde(default)]
    pub event: Option<String>,
    /// Every filter must hold for an event to count.
    #[serde(default)]
    pub filters: Vec<PropertyFilter>,
    pub aggregation: Aggregation,
    /// Dotted path of the aggregated value; required except for `count`.
    #[serde(default)]
    pub property: Option<String>,
    /// Sliding window in whole UTC days, ending today; all time if absent.
    #[serde(default)]
    pub window_days: Option<u32>,
}

/// A definition that cannot work, naming the part that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("computed trait '{name}': {field}: {problem}")]
pub struct DefinitionError {
    pub name: String,
    pub field: &'static str,
    pub problem: String,
}

/// Longest window: ten years of daily partial aggregates.
const MAX_WINDOW_DAYS: u32 = 3_650;

impl ComputedTrait {
    pub fn validate(&self) -> Result<(), DefinitionError> {
        let error = |field, problem: &str| DefinitionError {
            name: self.name.clone(),
            field,
            problem: problem.to_owned(),
        };
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !name_ok {
            return Err(error("name", "use 1-64 letters, digits or '_'"));
        }
        match (&self.aggregation, &self.property) {
            (Aggregation::Count, _) => {}
            (_, None) => {
                return Err(error(
                    "property",
                    "is required for every aggregation but count",
                ))
            }
            (_, Some(path)) if path.is_empty() || path.split('.').any(str::is_empty) => {
                return Err(error(
                    "property",
                    "must be a dotted path such as properties.revenue",
                ));
            }
            _ => {}
        }
        if let Some(days) = self.window_days {
            if days == 0 || days > MAX_WINDOW_DAYS {
                return Err(error(
                    "window_days",
                    &format!("must be from 1 to {MAX_WINDOW_DAYS}"),
                ));
            }
        }
        if let Some(filter) = self.filters.iter().find(|f| f.path.is_empty()) {
            return Err(error(
                "filters",
                &format!("a filter needs a path: {filter:?}"),
            ));
        }
        Ok(())
    }

    /// Whether `other` computes the same value over the same events (its
    /// name aside): such definitions can share one state per profile.
    pub fn same_computation(&self, other: &ComputedTrait) -> bool {
        self.event == other.event
            && self.filters == other.filters
            && self.aggregation == other.aggregation
            && self.property == other.property
            && self.window_days == other.window_days
    }

    /// Whether an event counts towards this trait.
    pub fn matches(&self, event: &impl Fields) -> bool {
        let name_matches = match &self.event {
            Some(name) => event.at("event").and_then(Value::as_str) == Some(name.as_str()),
            None => true,
        };
        name_matches && self.filters.iter().all(|f| f.matches(event))
    }

    /// The event paths this trait reads (its property and filters).
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.property
            .as_deref()
            .into_iter()
            .chain(self.filters.iter().map(|f| f.path.as_str()))
    }

    /// The aggregated value carried by an event, if it has one.
    pub fn input<'a>(&self, event: &'a impl Fields) -> Option<&'a Value> {
        self.property
            .as_deref()
            .and_then(|path| event.at(path))
            .filter(|v| !v.is_null())
    }
}
