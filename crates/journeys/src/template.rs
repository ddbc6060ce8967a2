//! Liquid templates for messages: email (subject, HTML, text), text
//! messages (SMS, push) and webhooks (method, URL, headers, JSON body).
//!
//! Variables: `profile` (traits, plus `id`), `event` (the event that
//! started this pass through the journey) and `journey` (`name`,
//! `version`, `step`). A member the customer lacks renders as nothing, as
//! in Shopify's Liquid and the journey tools built on it, so
//! `{{ profile.first_name | default: "there" }}` works; liquid-rust itself
//! refuses unknown members, so each path a template names is filled with
//! nil before rendering.

use std::fmt;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Map, Value};

/// One Liquid text, compiled.
pub struct Text {
    source: String,
    compiled: liquid::Template,
    /// Member paths under the known roots that the text reads.
    paths: Vec<Vec<String>>,
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Text").field(&self.source).finish()
    }
}

fn parser() -> &'static liquid::Parser {
    static PARSER: OnceLock<liquid::Parser> = OnceLock::new();
    PARSER.get_or_init(|| {
        liquid::ParserBuilder::with_stdlib()
            .build()
            .expect("the standard library builds")
    })
}

/// Paths such as `profile.first_name` or `event.properties["sku"]` inside
/// `{{ }}` and `{% %}`.
fn referenced_paths(source: &str) -> Vec<Vec<String>> {
    static TAG: OnceLock<Regex> = OnceLock::new();
    static PATH: OnceLock<Regex> = OnceLock::new();
    static PART: OnceLock<Regex> = OnceLock::new();
    let tag = TAG.get_or_init(|| Regex::new(r"(?s)\{\{.*?\}\}|\{%.*?%\}").expect("valid"));
    let path = PATH.get_or_init(|| {
        Regex::new(
            r#"\b(profile|event|journey)((?:\.[A-Za-z_][A-Za-z0-9_-]*|\[\s*["'][^"']*["']\s*\])+)"#,
        )
        .expect("valid")
    });
    let part = PART.get_or_init(|| {
        Regex::new(r#"\.([A-Za-z_][A-Za-z0-9_-]*)|\[\s*["']([^"']*)["']\s*\]"#).expect("valid")
    });
    let mut found = Vec::new();
    for code in tag.find_iter(source) {
        for m in path.captures_iter(code.as_str()) {
            let mut segments = vec![m[1].to_owned()];
            for p in part.captures_iter(&m[2]) {
                let name = p.get(1).or(p.get(2)).map_or("", |g| g.as_str());
                segments.push(name.to_owned());
            }
            found.push(segments);
        }
    }
    found.sort();
    found.dedup();
    found
}

impl Text {
    pub fn compile(source: &str) -> Result<Text, String> {
        let compiled = parser()
            .parse(source)
            .map_err(|e| format!("not a valid Liquid template: {}", e.to_string().trim()))?;
        Ok(Text {
            source: source.to_owned(),
            compiled,
            paths: referenced_paths(source),
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The member paths it reads under `profile`, `event` and `journey`
    /// (each from its root: `["event", "properties", "sku"]`).
    pub fn paths(&self) -> &[Vec<String>] {
        &self.paths
    }

    pub fn render(&self, globals: &Value) -> Result<String, String> {
        let mut filled = globals.clone();
        for path in &self.paths {
            fill_with_nil(&mut filled, path);
        }
        let object = liquid::to_object(&filled).map_err(|e| e.to_string())?;
        self.compiled
            .render(&object)
            .map_err(|e| format!("rendering failed: {}", e.to_string().trim()))
    }
}

/// Makes `path` exist in `value`, as nil where it was missing, as long as
/// every step on the way is an object.
fn fill_with_nil(value: &mut Value, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Value::Object(object) = value else {
        return;
    };
    let child = object.entry(first.clone()).or_insert_with(|| {
        if rest.is_empty() {
            Value::Null
        } else {
            Value::Object(Map::new())
        }
    });
    fill_with_nil(child, rest);
}

/// A JSON value whose strings may be Liquid templates (webhook bodies,
/// traits to set, properties of emitted events).
#[derive(Debug)]
pub enum ValueTemplate {
    Literal(Value),
    Text(Text),
    Array(Vec<ValueTemplate>),
    Object(Vec<(String, ValueTemplate)>),
}

impl ValueTemplate {
    pub fn compile(value: &Value) -> Result<ValueTemplate, String> {
        Ok(match value {
            Value::String(s) if s.contains("{{") || s.contains("{%") => {
                ValueTemplate::Text(Text::compile(s)?)
            }
            Value::Array(items) => ValueTemplate::Array(
                items
                    .iter()
                    .map(ValueTemplate::compile)
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(members) => ValueTemplate::Object(
                members
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), ValueTemplate::compile(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => ValueTemplate::Literal(other.clone()),
        })
    }

    pub fn render(&self, globals: &Value) -> Result<Value, String> {
        Ok(match self {
            ValueTemplate::Literal(v) => v.clone(),
            ValueTemplate::Text(t) => Value::String(t.render(globals)?),
            ValueTemplate::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| i.render(globals))
                    .collect::<Result<_, _>>()?,
            ),
            ValueTemplate::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), v.render(globals)?)))
                    .collect::<Result<_, String>>()?,
            ),
        })
    }
}

/// A named message template; its members say which channels it fits.
#[derive(Debug)]
pub enum MessageTemplate {
    /// `subject` with `html` and/or `text`; sent to `to`, else the
    /// profile's `email` trait.
    Email {
        to: Option<Text>,
        subject: Text,
        html: Option<Text>,
        text: Option<Text>,
    },
    /// An SMS or push notification: `text` (and a push `title`); sent to
    /// `to`, else the profile's `phone` trait (SMS) or its id (push).
    Notification {
        to: Option<Text>,
        title: Option<Text>,
        text: Text,
    },
    Webhook {
        method: String,
        url: Text,
        headers: Vec<(String, Text)>,
        body: Option<ValueTemplate>,
    },
}

impl MessageTemplate {
    /// Every Liquid text in it, the webhook body's aside.
    pub fn texts(&self) -> Vec<&Text> {
        match self {
            MessageTemplate::Email {
                to,
                subject,
                html,
                text,
            } => [to.as_ref(), Some(subject), html.as_ref(), text.as_ref()]
                .into_iter()
                .flatten()
                .collect(),
            MessageTemplate::Notification { to, title, text } => {
                [to.as_ref(), title.as_ref(), Some(text)]
                    .into_iter()
                    .flatten()
                    .collect()
            }
            MessageTemplate::Webhook { url, headers, .. } => std::iter::once(url)
                .chain(headers.iter().map(|(_, t)| t))
                .collect(),
        }
    }

    /// What the template is, in the words of the file format.
    pub fn kind(&self) -> &'static str {
        match self {
            MessageTemplate::Email { .. } => "email (subject, html, text)",
            MessageTemplate::Notification { .. } => "notification (text, title)",
            MessageTemplate::Webhook { .. } => "webhook (method, url, headers, body)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_missing_member_renders_as_nothing_and_defaults_apply() {
        let globals = json!({ "profile": { "name": "Ada" }, "event": {} });
        let render = |s: &str| Text::compile(s).unwrap().render(&globals).unwrap();
        assert_eq!(render("Hi {{ profile.name }}"), "Hi Ada");
        assert_eq!(
            render("Hi {{ profile.first | default: 'there' }}"),
            "Hi there"
        );
        assert_eq!(render("[{{ event.properties.sku }}]"), "[]");
        assert_eq!(render(r#"{{ event.properties["a b"] | default: 1 }}"#), "1");
        assert_eq!(
            render("{% if profile.vip %}VIP{% else %}std{% endif %}"),
            "std"
        );
    }

    #[test]
    fn broken_templates_are_refused_when_compiled() {
        let error = Text::compile("{{ 1 | plus: }}").unwrap_err();
        assert!(error.starts_with("not a valid Liquid template"), "{error}");
    }

    #[test]
    fn json_templates_keep_their_shape() {
        let body = ValueTemplate::compile(&json!({
            "profile": "{{ profile.id }}", "n": 3, "tags": ["x", "{{ journey.step }}"]
        }))
        .unwrap();
        let out = body
            .render(&json!({ "profile": { "id": "prof_1" }, "journey": { "step": "s" } }))
            .unwrap();
        assert_eq!(
            out,
            json!({ "profile": "prof_1", "n": 3, "tags": ["x", "s"] })
        );
    }
}
