//! Conditions of entry and branch steps: over profile traits, computed
//! traits, segment membership and the triggering event's properties,
//! combined with `all` / `any` / `not`.

use percorso_profiles::segment::{one_kind, parse_test, Test};
use percorso_profiles::Fields;
use serde_json::Value;

use crate::problems::{object, Problems};
use crate::view::ProfileView;

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    /// A profile trait or computed trait.
    Trait {
        name: String,
        test: Test,
    },
    /// Membership of a segment.
    Segment(String),
    /// A member of the event that started this pass (`properties.plan`).
    EventProperty {
        path: String,
        test: Test,
    },
}

impl Condition {
    pub fn holds(&self, profile: &dyn ProfileView, trigger: &Value) -> bool {
        match self {
            Condition::All(list) => list.iter().all(|c| c.holds(profile, trigger)),
            Condition::Any(list) => list.iter().any(|c| c.holds(profile, trigger)),
            Condition::Not(inner) => !inner.holds(profile, trigger),
            Condition::Trait { name, test } => test.holds(profile.trait_value(name).as_ref()),
            Condition::Segment(name) => profile.in_segment(name),
            Condition::EventProperty { path, test } => test.holds(trigger.at(path)),
        }
    }
}

pub const CONDITION_KINDS: [&str; 6] = ["all", "any", "not", "trait", "segment", "event_property"];

/// Reads a condition at `path`, noting every problem found.
pub fn parse_condition(value: &Value, path: &str, problems: &mut Problems) -> Option<Condition> {
    let node = object(value, path, problems)?;
    let kind = one_kind(node, &CONDITION_KINDS)
        .map_err(|problem| problems.add(path, problem))
        .ok()?;
    let inner = format!("{path}.{kind}");
    match kind {
        "all" | "any" => {
            if !problems.only_keys(node, &[kind], path) {
                return None;
            }
            let Some(list) = node[kind].as_array().filter(|l| !l.is_empty()) else {
                problems.add(&inner, "must be a non-empty list of conditions");
                return None;
            };
            let children: Vec<Option<Condition>> = list
                .iter()
                .enumerate()
                .map(|(i, c)| parse_condition(c, &format!("{inner}[{i}]"), problems))
                .collect();
            let children: Option<Vec<Condition>> = children.into_iter().collect();
            let children = children?;
            Some(if kind == "all" {
                Condition::All(children)
            } else {
                Condition::Any(children)
            })
        }
        "not" => {
            if !problems.only_keys(node, &["not"], path) {
                return None;
            }
            let inner = parse_condition(&node["not"], &inner, problems)?;
            Some(Condition::Not(Box::new(inner)))
        }
        "segment" => {
            if !problems.only_keys(node, &["segment"], path) {
                return None;
            }
            let name = problems.text(node, "segment", path)?;
            Some(Condition::Segment(name.to_owned()))
        }
        _ => {
            let name = problems.text(node, kind, path)?.to_owned();
            let test = parse_test(node, &[kind], path)
                .map_err(|e| problems.add(&e.path, e.problem))
                .ok()?;
            Some(if kind == "trait" {
                Condition::Trait { name, test }
            } else {
                Condition::EventProperty { path: name, test }
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::StaticProfile;
    use serde_json::json;

    fn parse(yaml: &str) -> Result<Condition, Problems> {
        let value: Value = serde_yaml::from_str(yaml).unwrap();
        let mut problems = Problems::default();
        match parse_condition(&value, "when", &mut problems) {
            Some(c) if problems.is_empty() => Ok(c),
            _ => Err(problems),
        }
    }

    #[test]
    fn reads_traits_segments_and_the_trigger() {
        let profile = StaticProfile {
            id: "p".into(),
            traits: json!({ "plan": "pro" }).as_object().unwrap().clone(),
            computed: json!({ "orders_30d": 3 }).as_object().unwrap().clone(),
            segments: vec!["vip".into()],
            ..StaticProfile::default()
        };
        let trigger = json!({ "properties": { "value": 120 } });
        let holds = |yaml: &str| parse(yaml).unwrap().holds(&profile, &trigger);
        assert!(holds("trait: plan\nequals: pro"));
        assert!(!holds("trait: plan\nequals: free"));
        assert!(holds("trait: orders_30d\ngreater_or_equal: 3"));
        assert!(holds("segment: vip"));
        assert!(!holds("segment: churned"));
        assert!(holds("event_property: properties.value\ngreater_than: 100"));
        assert!(holds(
            "all:\n  - segment: vip\n  - not:\n      trait: plan\n      equals: free"
        ));
        assert!(!holds(
            "any:\n  - segment: churned\n  - trait: missing\n    exists: true"
        ));
    }

    #[test]
    fn every_problem_names_its_place() {
        let problems = parse("all:\n  - trait: plan\n    bigger: 3\n  - segmnt: vip").unwrap_err();
        let text = problems.to_string();
        assert!(text.contains("when.all[0].bigger: unknown key"), "{text}");
        assert!(text.contains("when.all[1]: needs exactly one of"), "{text}");
    }
}
