//! What of an event a journey reads: the paths its triggers, goals, exit
//! criteria, waits, conditions and templates name. The engine keeps only
//! the paths some definition reads when it parses an event, so it asks
//! each journey for these.

use std::collections::BTreeSet;

use crate::condition::Condition;
use crate::definition::{EventMatch, ExitCriterion, Journey, StepKind, Trigger};
use crate::template::{MessageTemplate, Text, ValueTemplate};

impl Journey {
    /// Dotted paths into an event (`properties.value`) this journey reads.
    pub fn event_paths(&self) -> BTreeSet<String> {
        let mut paths = BTreeSet::new();
        // Segment triggers and exits read the membership event's segment.
        paths.insert("properties.segment".to_owned());
        paths.insert("timestamp".to_owned());
        let matched = |m: &EventMatch, paths: &mut BTreeSet<String>| {
            paths.extend(m.filters.iter().map(|f| f.path.clone()));
        };
        if let Trigger::Event(m) = &self.trigger {
            matched(m, &mut paths);
        }
        if let Some(goal) = &self.goal {
            matched(goal, &mut paths);
        }
        for exit in &self.exit_when {
            if let ExitCriterion::Event(m) = exit {
                matched(m, &mut paths);
            }
        }
        if let Some(c) = &self.entry_when {
            condition_paths(c, &mut paths);
        }
        for step in &self.steps {
            match &step.kind {
                StepKind::WaitFor { event, .. } => matched(event, &mut paths),
                StepKind::Branch { arms, .. } => {
                    for (c, _) in arms {
                        condition_paths(c, &mut paths);
                    }
                }
                StepKind::UpdateProfile { set, .. } => {
                    for value in set.values() {
                        value_paths(value, &mut paths);
                    }
                }
                StepKind::Emit { properties, .. } => value_paths(properties, &mut paths),
                _ => {}
            }
        }
        for template in self.templates.values() {
            for text in template.texts() {
                text_paths(text, &mut paths);
            }
            if let MessageTemplate::Webhook {
                body: Some(body), ..
            } = template.as_ref()
            {
                value_paths(body, &mut paths);
            }
        }
        paths
    }
}

fn condition_paths(condition: &Condition, paths: &mut BTreeSet<String>) {
    match condition {
        Condition::All(list) | Condition::Any(list) => {
            for c in list {
                condition_paths(c, paths);
            }
        }
        Condition::Not(inner) => condition_paths(inner, paths),
        Condition::EventProperty { path, .. } => {
            paths.insert(path.clone());
        }
        Condition::Trait { .. } | Condition::Segment(_) => {}
    }
}

fn value_paths(value: &ValueTemplate, paths: &mut BTreeSet<String>) {
    match value {
        ValueTemplate::Literal(_) => {}
        ValueTemplate::Text(t) => text_paths(t, paths),
        ValueTemplate::Array(items) => items.iter().for_each(|i| value_paths(i, paths)),
        ValueTemplate::Object(members) => members.iter().for_each(|(_, v)| value_paths(v, paths)),
    }
}

/// `{{ event.properties.sku }}` reads `properties.sku`; a bare
/// `{{ event }}` reads the whole event.
fn text_paths(text: &Text, paths: &mut BTreeSet<String>) {
    for path in text.paths() {
        if path.first().map(String::as_str) == Some("event") && path.len() > 1 {
            paths.insert(path[1..].join("."));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::parse_journey;

    #[test]
    fn paths_come_from_filters_conditions_and_templates() {
        let journey = parse_journey(
            r#"
name: j
trigger: { event: A, where: [{ path: properties.value, greater_than: 1 }] }
goal: { event: B, where: [{ path: context.channel, equals: web }] }
start: b
steps:
  b:
    branch:
      - when: { event_property: properties.plan, equals: pro }
        next: s
    otherwise: s
  s:
    send: { channel: webhook, template: hook }
    next: e
  e:
    exit: true
templates:
  hook:
    url: "http://x/{{ event.properties.sku }}"
    body: { n: "{{ event.properties.items | size }}", p: "{{ profile.email }}" }
"#,
        )
        .unwrap();
        let paths: Vec<String> = journey.event_paths().into_iter().collect();
        for wanted in [
            "properties.value",
            "context.channel",
            "properties.plan",
            "properties.sku",
            "properties.items",
            "properties.segment",
        ] {
            assert!(
                paths.contains(&wanted.to_owned()),
                "{wanted} not in {paths:?}"
            );
        }
        assert!(
            !paths.iter().any(|p| p.contains("email")),
            "profile paths are not event paths"
        );
    }
}
