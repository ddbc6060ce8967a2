//! The parsed form of a segment definition.

use std::fmt;

use serde_json::Value;

use crate::filter::{Comparison, PropertyFilter};

/// `name`, optional `description`, and the `rule` profiles must meet.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentDefinition {
    pub name: String,
    pub description: Option<String>,
    pub rule: Condition,
}

/// One node of a rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    /// A profile trait or computed trait, by name.
    Trait {
        name: String,
        test: Test,
    },
    /// How often an event happened, optionally within the last N days and
    /// only counting events that pass the filters.
    Event {
        name: String,
        count: CountTest,
        within_days: Option<u32>,
        filters: Vec<PropertyFilter>,
    },
    /// A property of the latest event (e.g. `context.channel`).
    LastSeen {
        path: String,
        test: Test,
    },
}

/// A comparison with a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    pub comparison: Comparison,
    pub value: Value,
}

impl Test {
    pub fn holds(&self, found: Option<&Value>) -> bool {
        self.comparison.holds(found, &self.value)
    }
}

/// How many matching events there must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountTest {
    AtLeast(u64),
    AtMost(u64),
    Exactly(u64),
}

impl CountTest {
    pub fn holds(self, count: u64) -> bool {
        match self {
            CountTest::AtLeast(n) => count >= n,
            CountTest::AtMost(n) => count <= n,
            CountTest::Exactly(n) => count == n,
        }
    }
}

/// A definition that cannot be used, and where the problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentError {
    /// Where in the definition, e.g. `rule.all[1].event.within_days`.
    pub path: String,
    pub problem: String,
}

impl fmt::Display for SegmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.problem)
        } else {
            write!(f, "{}: {}", self.path, self.problem)
        }
    }
}

impl std::error::Error for SegmentError {}
