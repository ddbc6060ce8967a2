//! A segment ready to evaluate: its event conditions turned into implied
//! computed traits, its rule into a tree over trait values.

use std::borrow::Cow;

use serde_json::Value;

use super::definition::{Condition, CountTest, SegmentDefinition, Test};
use crate::definition::{Aggregation, ComputedTrait};

/// What evaluating a segment needs to know about one profile.
pub trait Facts {
    /// A profile trait or computed trait, by name (borrowed when held).
    fn trait_value(&self, name: &str) -> Option<Cow<'_, Value>>;
    /// The value of the segment's implied computed trait `index`.
    fn implied_value(&self, index: usize) -> Value;
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Not(Box<Node>),
    Trait { name: String, test: Test },
    Count { implied: usize, test: CountTest },
    Last { implied: usize, test: Test },
}

/// A segment whose membership can be evaluated from facts.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledSegment {
    pub definition: SegmentDefinition,
    /// Computed traits the rule's event and last-seen conditions need; a
    /// profile's membership can only change when one of them (or a trait
    /// the rule names) changes, or when one's window slides.
    pub implied: Vec<ComputedTrait>,
    rule: Node,
}

impl CompiledSegment {
    pub fn compile(definition: SegmentDefinition) -> Self {
        let mut implied = Vec::new();
        let rule = node(&definition.rule, &definition.name, &mut implied);
        Self {
            definition,
            implied,
            rule,
        }
    }

    /// Names of the profile and computed traits the rule reads: only a
    /// change to one of them (or to an implied trait) can change a verdict.
    pub fn trait_names(&self) -> Vec<&str> {
        fn walk<'a>(node: &'a Node, out: &mut Vec<&'a str>) {
            match node {
                Node::All(children) | Node::Any(children) => {
                    children.iter().for_each(|c| walk(c, out));
                }
                Node::Not(child) => walk(child, out),
                Node::Trait { name, .. } => out.push(name),
                Node::Count { .. } | Node::Last { .. } => {}
            }
        }
        let mut names = Vec::new();
        walk(&self.rule, &mut names);
        names
    }

    /// Whether a profile with these facts is a member.
    pub fn evaluate(&self, facts: &dyn Facts) -> bool {
        holds(&self.rule, facts)
    }
}

fn node(condition: &Condition, segment: &str, implied: &mut Vec<ComputedTrait>) -> Node {
    let mut add = |aggregation, event: Option<&String>, filters, property, window_days| {
        implied.push(ComputedTrait {
            name: format!("{segment}__{}", implied.len()),
            event: event.cloned(),
            filters,
            aggregation,
            property,
            window_days,
        });
        implied.len() - 1
    };
    match condition {
        Condition::All(children) => {
            Node::All(children.iter().map(|c| node(c, segment, implied)).collect())
        }
        Condition::Any(children) => {
            Node::Any(children.iter().map(|c| node(c, segment, implied)).collect())
        }
        Condition::Not(child) => Node::Not(Box::new(node(child, segment, implied))),
        Condition::Trait { name, test } => Node::Trait {
            name: name.clone(),
            test: test.clone(),
        },
        Condition::Event {
            name,
            count,
            within_days,
            filters,
        } => Node::Count {
            implied: add(
                Aggregation::Count,
                Some(name),
                filters.clone(),
                None,
                *within_days,
            ),
            test: *count,
        },
        Condition::LastSeen { path, test } => Node::Last {
            implied: add(
                Aggregation::Last,
                None,
                Vec::new(),
                Some(path.clone()),
                None,
            ),
            test: test.clone(),
        },
    }
}

fn holds(node: &Node, facts: &dyn Facts) -> bool {
    match node {
        Node::All(children) => children.iter().all(|c| holds(c, facts)),
        Node::Any(children) => children.iter().any(|c| holds(c, facts)),
        Node::Not(child) => !holds(child, facts),
        Node::Trait { name, test } => test.holds(facts.trait_value(name).as_deref()),
        Node::Count { implied, test } => {
            test.holds(facts.implied_value(*implied).as_u64().unwrap_or(0))
        }
        Node::Last { implied, test } => {
            let last = facts.implied_value(*implied);
            test.holds(Some(&last).filter(|v| !v.is_null()))
        }
    }
}
