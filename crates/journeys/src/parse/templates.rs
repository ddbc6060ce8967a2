//! The `templates` section: named message templates, each compiled as
//! Liquid; which members a template has says which channels it fits.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::problems::{join, object, Problems};
use crate::template::{MessageTemplate, Text, ValueTemplate};

const METHODS: [&str; 5] = ["POST", "PUT", "PATCH", "GET", "DELETE"];

pub fn templates(
    value: &Value,
    problems: &mut Problems,
) -> Option<BTreeMap<String, Arc<MessageTemplate>>> {
    let all = object(value, "templates", problems)?;
    let mut out = BTreeMap::new();
    let mut clean = true;
    for (name, body) in all {
        match template(body, &format!("templates.{name}"), problems) {
            Some(t) => {
                out.insert(name.clone(), Arc::new(t));
            }
            None => clean = false,
        }
    }
    clean.then_some(out)
}

fn text(node: &Map<String, Value>, key: &str, path: &str, problems: &mut Problems) -> Option<Text> {
    let source = problems.text(node, key, path)?;
    Text::compile(source)
        .map_err(|e| problems.add(&join(path, key), e))
        .ok()
}

/// `Some(None)` when absent, `None` on a problem.
fn optional_text(
    node: &Map<String, Value>,
    key: &str,
    path: &str,
    problems: &mut Problems,
) -> Option<Option<Text>> {
    if node.contains_key(key) {
        text(node, key, path, problems).map(Some)
    } else {
        Some(None)
    }
}

fn template(value: &Value, path: &str, problems: &mut Problems) -> Option<MessageTemplate> {
    let node = object(value, path, problems)?;
    if node.contains_key("url") {
        problems.only_keys(node, &["method", "url", "headers", "body"], path);
        let method = match node.get("method") {
            None => Some("POST".to_owned()),
            Some(Value::String(m)) if METHODS.contains(&m.to_uppercase().as_str()) => {
                Some(m.to_uppercase())
            }
            Some(_) => {
                problems.add(
                    &join(path, "method"),
                    format!("must be one of {}", METHODS.join(", ")),
                );
                None
            }
        };
        let url = text(node, "url", path, problems);
        let headers = headers(node.get("headers"), &join(path, "headers"), problems);
        let body = match node.get("body") {
            None => Some(None),
            Some(b) => ValueTemplate::compile(b)
                .map(Some)
                .map_err(|e| problems.add(&join(path, "body"), e))
                .ok(),
        };
        return Some(MessageTemplate::Webhook {
            method: method?,
            url: url?,
            headers: headers?,
            body: body?,
        });
    }
    if node.contains_key("subject") {
        problems.only_keys(node, &["to", "subject", "html", "text"], path);
        if !node.contains_key("html") && !node.contains_key("text") {
            problems.add(path, "an email template needs html or text (or both)");
        }
        let to = optional_text(node, "to", path, problems);
        let subject = text(node, "subject", path, problems);
        let html = optional_text(node, "html", path, problems);
        let body = optional_text(node, "text", path, problems);
        return Some(MessageTemplate::Email {
            to: to?,
            subject: subject?,
            html: html?,
            text: body?,
        });
    }
    if node.contains_key("text") {
        problems.only_keys(node, &["to", "title", "text"], path);
        let to = optional_text(node, "to", path, problems);
        let title = optional_text(node, "title", path, problems);
        let body = text(node, "text", path, problems);
        return Some(MessageTemplate::Notification {
            to: to?,
            title: title?,
            text: body?,
        });
    }
    problems.add(
        path,
        "a template needs url (webhook), subject (email) or text (SMS, push)",
    );
    None
}

fn headers(
    value: Option<&Value>,
    path: &str,
    problems: &mut Problems,
) -> Option<Vec<(String, Text)>> {
    let Some(value) = value else {
        return Some(Vec::new());
    };
    let node = object(value, path, problems)?;
    let parsed: Vec<Option<(String, Text)>> = node
        .keys()
        .map(|name| {
            let valid = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
            if !valid {
                problems.add(&join(path, name), "not a valid header name");
                return None;
            }
            text(node, name, path, problems).map(|t| (name.clone(), t))
        })
        .collect();
    parsed.into_iter().collect()
}
