//! Parts shared by every report query: time ranges and breakdowns.

use std::ops::Range;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::AnalyticsError;

/// Events with `from <= timestamp < to` (ISO 8601); open ends when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

impl TimeRange {
    pub fn millis(&self) -> Result<Range<i64>, AnalyticsError> {
        let parse = |field: &str, value: &Option<String>, open: i64| match value {
            None => Ok(open),
            Some(text) => percorso_core::parse_timestamp_millis(text)
                .map_err(|e| AnalyticsError::Invalid(format!("{field}: {e}"))),
        };
        Ok(parse("from", &self.from, i64::MIN)?..parse("to", &self.to, i64::MAX)?)
    }
}

/// What splits people into groups: the channel of the event that started
/// their journey, or a property of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Breakdown {
    Channel,
    Property(String),
}

impl Breakdown {
    /// `channel` or `property:<name>` (a dotted path into properties).
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "channel" => Ok(Breakdown::Channel),
            _ => match text.strip_prefix("property:") {
                Some(p) if !p.is_empty() => Ok(Breakdown::Property(p.to_owned())),
                _ => Err(format!(
                    "breakdown '{text}': expected 'channel' or 'property:<name>'"
                )),
            },
        }
    }

    fn text(&self) -> String {
        match self {
            Breakdown::Channel => "channel".into(),
            Breakdown::Property(p) => format!("property:{p}"),
        }
    }
}

impl Serialize for Breakdown {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

impl<'de> Deserialize<'de> for Breakdown {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Breakdown::parse(&text).map_err(serde::de::Error::custom)
    }
}
