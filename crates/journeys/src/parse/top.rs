//! The journey's own settings: name, trigger, entry and re-entry rules,
//! holdout, goal, exit criteria, time zone.

use percorso_profiles::segment::{one_kind, parse_filter};
use serde_json::{Map, Value};

use crate::condition::{parse_condition, Condition};
use crate::definition::{EventMatch, ExitCriterion, ReEntry, TimeZoneName, Trigger, ZoneChoice};
use crate::problems::{duration, join, object, percent, Problems};

type Object = Map<String, Value>;

pub fn name(top: &Object, problems: &mut Problems) -> Option<String> {
    let name = problems.text(top, "name", "")?;
    let ok = name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        problems.add("name", "use 1-64 letters, digits, '_' or '-'");
        return None;
    }
    Some(name.to_owned())
}

pub fn description(top: &Object, problems: &mut Problems) -> Option<Option<String>> {
    match top.get("description") {
        None => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(_) => {
            problems.add("description", "must be a string");
            None
        }
    }
}

/// `event` with optional `where` filters, at `path`.
pub fn event_match(node: &Object, path: &str, problems: &mut Problems) -> Option<EventMatch> {
    let event = problems.text(node, "event", path).map(str::to_owned);
    let filters = match node.get("where") {
        None => Some(Vec::new()),
        Some(Value::Array(list)) => {
            let parsed: Vec<_> = list
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    parse_filter(f, &format!("{path}.where[{i}]"))
                        .map_err(|e| problems.add(&e.path, e.problem))
                        .ok()
                })
                .collect();
            parsed.into_iter().collect()
        }
        Some(_) => {
            problems.add(&join(path, "where"), "must be a list of filters");
            None
        }
    };
    Some(EventMatch {
        event: event?,
        filters: filters?,
    })
}

const TRIGGER_KINDS: [&str; 5] = [
    "event",
    "segment_entered",
    "segment_exited",
    "api",
    "schedule",
];

pub fn trigger(top: &Object, problems: &mut Problems) -> Option<Trigger> {
    let Some(value) = top.get("trigger") else {
        problems.add("", "trigger is required");
        return None;
    };
    let node = object(value, "trigger", problems)?;
    let kind = one_kind(node, &TRIGGER_KINDS)
        .map_err(|problem| problems.add("trigger", problem))
        .ok()?;
    match kind {
        "event" => {
            problems.only_keys(node, &["event", "where"], "trigger");
            event_match(node, "trigger", problems).map(Trigger::Event)
        }
        "schedule" => {
            problems.only_keys(node, &["schedule"], "trigger");
            schedule(&node["schedule"], "trigger.schedule", problems)
        }
        "api" => {
            problems.only_keys(node, &["api"], "trigger");
            if node["api"] != Value::Bool(true) {
                problems.add("trigger.api", "must be true");
                return None;
            }
            Some(Trigger::Api)
        }
        segment => {
            problems.only_keys(node, &[segment], "trigger");
            let name = problems.text(node, segment, "trigger")?.to_owned();
            Some(if segment == "segment_entered" {
                Trigger::SegmentEntered(name)
            } else {
                Trigger::SegmentExited(name)
            })
        }
    }
}

pub fn entry_when(top: &Object, problems: &mut Problems) -> Option<Option<Condition>> {
    match top.get("entry_when") {
        None => Some(None),
        Some(c) => parse_condition(c, "entry_when", problems).map(Some),
    }
}

pub fn re_entry(top: &Object, problems: &mut Problems) -> Option<ReEntry> {
    const HOW: &str = "must be once, one_at_a_time, or {after: DURATION}";
    match top.get("re_entry") {
        None => Some(ReEntry::Once),
        Some(Value::String(s)) if s == "once" => Some(ReEntry::Once),
        Some(Value::String(s)) if s == "one_at_a_time" => Some(ReEntry::OneAtATime),
        Some(Value::Object(o)) if o.len() == 1 && o.contains_key("after") => {
            duration(&o["after"], "re_entry.after", problems).map(ReEntry::After)
        }
        Some(_) => {
            problems.add("re_entry", HOW);
            None
        }
    }
}

pub fn holdout(top: &Object, problems: &mut Problems) -> Option<u32> {
    match top.get("holdout") {
        None => Some(0),
        Some(p) => percent(p, "holdout", problems),
    }
}

pub fn goal(top: &Object, problems: &mut Problems) -> Option<Option<EventMatch>> {
    let Some(value) = top.get("goal") else {
        return Some(None);
    };
    let node = object(value, "goal", problems)?;
    problems.only_keys(node, &["event", "where"], "goal");
    event_match(node, "goal", problems).map(Some)
}

pub fn exit_when(top: &Object, problems: &mut Problems) -> Option<Vec<ExitCriterion>> {
    let Some(value) = top.get("exit_when") else {
        return Some(Vec::new());
    };
    let Some(list) = value.as_array() else {
        problems.add("exit_when", "must be a list");
        return None;
    };
    let parsed: Vec<Option<ExitCriterion>> = list
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let path = format!("exit_when[{i}]");
            let node = object(item, &path, problems)?;
            for segment in ["segment_entered", "segment_exited"] {
                if node.contains_key(segment) {
                    problems.only_keys(node, &[segment], &path);
                    let name = problems.text(node, segment, &path)?.to_owned();
                    return Some(if segment == "segment_entered" {
                        ExitCriterion::SegmentEntered(name)
                    } else {
                        ExitCriterion::SegmentExited(name)
                    });
                }
            }
            problems.only_keys(node, &["event", "where"], &path);
            event_match(node, &path, problems).map(ExitCriterion::Event)
        })
        .collect();
    parsed.into_iter().collect()
}

/// An IANA time zone name, checked against the time zone database.
pub fn zone(value: &Value, path: &str, problems: &mut Problems) -> Option<TimeZoneName> {
    let Some(name) = value.as_str() else {
        problems.add(path, "must be a time zone name such as Europe/Rome");
        return None;
    };
    match jiff::tz::TimeZone::get(name) {
        Ok(zone) => Some(TimeZoneName {
            name: name.to_owned(),
            zone,
        }),
        Err(_) => {
            problems.add(path, format!("unknown time zone {name:?}"));
            None
        }
    }
}

pub fn time_zone(top: &Object, problems: &mut Problems) -> Option<Option<TimeZoneName>> {
    match top.get("time_zone") {
        None => Some(None),
        Some(v) => zone(v, "time_zone", problems).map(Some),
    }
}

pub fn flag(top: &Object, key: &str, problems: &mut Problems) -> Option<bool> {
    match top.get(key) {
        None => Some(false),
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            problems.add(key, "must be true or false");
            None
        }
    }
}

/// `{cron, time_zone, segment}` of a schedule trigger.
fn schedule(value: &Value, path: &str, problems: &mut Problems) -> Option<Trigger> {
    let node = object(value, path, problems)?;
    problems.only_keys(node, &["cron", "time_zone", "segment"], path);
    let cron = problems.text(node, "cron", path).and_then(|text| {
        crate::cron::Cron::parse(text)
            .map_err(|e| problems.add(&join(path, "cron"), e))
            .ok()
    });
    let zone = match node.get("time_zone") {
        None => Some(ZoneChoice::Fixed(TimeZoneName {
            name: "UTC".into(),
            zone: jiff::tz::TimeZone::UTC,
        })),
        Some(Value::String(s)) if s == "customer" => Some(ZoneChoice::Customer),
        Some(other) => zone(other, &join(path, "time_zone"), problems).map(ZoneChoice::Fixed),
    };
    let segment = problems.text(node, "segment", path).map(str::to_owned);
    Some(Trigger::Schedule {
        cron: cron?,
        zone: zone?,
        segment: segment?,
    })
}
