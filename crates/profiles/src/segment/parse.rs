//! Reading a segment definition from YAML or JSON, every problem named
//! with its place in the definition.

use serde_json::{Map, Value};

use super::definition::{Condition, CountTest, SegmentDefinition, SegmentError, Test};
use crate::filter::{Comparison, PropertyFilter};

/// The kinds of condition; a condition object has exactly one of these keys.
pub const CONDITION_KINDS: [&str; 6] = ["all", "any", "not", "trait", "event", "last_seen"];
const COUNT_KEYS: [&str; 3] = ["at_least", "at_most", "exactly"];
const MAX_WINDOW_DAYS: u64 = 3_650;

/// Parses a definition written in YAML (JSON is YAML too).
pub fn parse_segment(text: &str) -> Result<SegmentDefinition, SegmentError> {
    let value: Value = serde_yaml::from_str(text).map_err(|e| SegmentError {
        path: String::new(),
        problem: format!("not valid YAML or JSON: {e}"),
    })?;
    definition(&value)
}

fn fail<T>(path: &str, problem: impl Into<String>) -> Result<T, SegmentError> {
    Err(SegmentError {
        path: path.to_owned(),
        problem: problem.into(),
    })
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, SegmentError> {
    value
        .as_object()
        .map_or_else(|| fail(path, "must be an object"), Ok)
}

fn text<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a str, SegmentError> {
    match object.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(_) => fail(&format!("{path}.{key}"), "must be a non-empty string"),
        None => fail(path, format!("{key} is required")),
    }
}

fn only_keys(
    object: &Map<String, Value>,
    allowed: &[&str],
    path: &str,
) -> Result<(), SegmentError> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => fail(
            &format!("{path}.{key}"),
            format!("unknown key; expected one of {}", allowed.join(", ")),
        ),
        None => Ok(()),
    }
}

fn definition(value: &Value) -> Result<SegmentDefinition, SegmentError> {
    let top = object(value, "")?;
    only_keys(top, &["name", "description", "rule"], "")?;
    let name = text(top, "name", "")?;
    let name_ok = name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !name_ok {
        return fail("name", "use 1-64 letters, digits or '_'");
    }
    let description = match top.get("description") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return fail("description", "must be a string"),
    };
    let rule = top
        .get("rule")
        .map_or_else(|| fail("", "rule is required"), |r| condition(r, "rule"))?;
    Ok(SegmentDefinition {
        name: name.to_owned(),
        description,
        rule,
    })
}

fn condition(value: &Value, path: &str) -> Result<Condition, SegmentError> {
    let node = object(value, path)?;
    let kind = one_kind(node, &CONDITION_KINDS).or_else(|problem| fail(path, problem))?;
    let inner = &format!("{path}.{kind}");
    match kind {
        "all" | "any" => {
            only_keys(node, &[kind], path)?;
            let list = node[kind].as_array().filter(|l| !l.is_empty());
            let Some(list) = list else {
                return fail(inner, "must be a non-empty list of conditions");
            };
            let children = list
                .iter()
                .enumerate()
                .map(|(i, child)| condition(child, &format!("{inner}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if kind == "all" {
                Condition::All(children)
            } else {
                Condition::Any(children)
            })
        }
        "not" => {
            only_keys(node, &["not"], path)?;
            Ok(Condition::Not(Box::new(condition(&node["not"], inner)?)))
        }
        "trait" => {
            let name = text(node, "trait", path)?.to_owned();
            let test = parse_test(node, &["trait"], path)?;
            Ok(Condition::Trait { name, test })
        }
        "event" => event(node, path),
        _ => {
            let seen = object(&node["last_seen"], inner)?;
            let test_path = text(seen, "path", inner)?.to_owned();
            let test = parse_test(seen, &["path"], inner)?;
            only_keys(node, &["last_seen"], path)?;
            Ok(Condition::LastSeen {
                path: test_path,
                test,
            })
        }
    }
}

/// The one key of `node` among `kinds` (what kind of node it is), or a
/// message naming what was found instead.
pub fn one_kind<'k>(node: &Map<String, Value>, kinds: &[&'k str]) -> Result<&'k str, String> {
    let found: Vec<&str> = kinds
        .iter()
        .copied()
        .filter(|k| node.contains_key(*k))
        .collect();
    match found[..] {
        [kind] => Ok(kind),
        [] => Err(format!(
            "needs exactly one of {}; found none",
            kinds.join(", ")
        )),
        _ => Err(format!(
            "needs exactly one of {}; found {}",
            kinds.join(", "),
            found.join(" and ")
        )),
    }
}

/// The one comparison key of `node` (besides `others`) and its value.
pub fn parse_test(
    node: &Map<String, Value>,
    others: &[&str],
    path: &str,
) -> Result<Test, SegmentError> {
    let names: Vec<&str> = Comparison::ALL.iter().map(|c| c.name()).collect();
    let mut allowed = others.to_vec();
    allowed.extend(&names);
    only_keys(node, &allowed, path)?;
    let found: Vec<Comparison> = Comparison::ALL
        .into_iter()
        .filter(|c| node.contains_key(c.name()))
        .collect();
    let [comparison] = found[..] else {
        return fail(
            path,
            format!("needs exactly one comparison: {}", names.join(", ")),
        );
    };
    let value = node[comparison.name()].clone();
    if matches!(comparison, Comparison::Exists | Comparison::Missing) && value != Value::Bool(true)
    {
        return fail(&format!("{path}.{}", comparison.name()), "must be true");
    }
    Ok(Test { comparison, value })
}

fn event(node: &Map<String, Value>, path: &str) -> Result<Condition, SegmentError> {
    let mut allowed = vec!["event", "within_days", "where"];
    allowed.extend(COUNT_KEYS);
    only_keys(node, &allowed, path)?;
    let name = text(node, "event", path)?.to_owned();
    let counts: Vec<&str> = COUNT_KEYS
        .iter()
        .copied()
        .filter(|k| node.contains_key(*k))
        .collect();
    let count = match counts[..] {
        [] => CountTest::AtLeast(1),
        [key] => {
            let Some(n) = node[key].as_u64() else {
                return fail(
                    &format!("{path}.{key}"),
                    "must be a whole number, 0 or more",
                );
            };
            match key {
                "at_least" => CountTest::AtLeast(n),
                "at_most" => CountTest::AtMost(n),
                _ => CountTest::Exactly(n),
            }
        }
        _ => {
            return fail(
                path,
                format!("give at most one of {}", COUNT_KEYS.join(", ")),
            )
        }
    };
    let within_days = match node.get("within_days") {
        None => None,
        Some(days) => match days.as_u64().filter(|d| (1..=MAX_WINDOW_DAYS).contains(d)) {
            Some(d) => Some(d as u32),
            None => {
                return fail(
                    &format!("{path}.within_days"),
                    format!("must be from 1 to {MAX_WINDOW_DAYS}"),
                )
            }
        },
    };
    let filters = match node.get("where") {
        None => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, f)| parse_filter(f, &format!("{path}.where[{i}]")))
            .collect::<Result<_, _>>()?,
        Some(_) => return fail(&format!("{path}.where"), "must be a list of filters"),
    };
    Ok(Condition::Event {
        name,
        count,
        within_days,
        filters,
    })
}

/// A property filter: `path` and one comparison.
pub fn parse_filter(value: &Value, path: &str) -> Result<PropertyFilter, SegmentError> {
    let node = object(value, path)?;
    let property = text(node, "path", path)?.to_owned();
    let test = parse_test(node, &["path"], path)?;
    Ok(PropertyFilter {
        path: property,
        comparison: test.comparison,
        value: test.value,
    })
}
