//! Parts shared by every report query: the scope (time range and
//! segment) and breakdowns.

use std::ops::Range;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codebook::Codebook;
use crate::error::AnalyticsError;
use crate::segments::{segment_members, Members, SegmentSplit};
use crate::store::Snapshot;

/// What a report reads: events with `from <= timestamp < to` (ISO 8601;
/// open ends when absent) of the people in `segment` now (everyone when
/// absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
}

/// A scope read against a snapshot.
#[derive(Debug, Clone)]
pub struct ResolvedScope {
    pub time: Range<i64>,
    pub people: Option<Members>,
}

impl Scope {
    pub fn resolve(&self, snapshot: &Snapshot) -> Result<ResolvedScope, AnalyticsError> {
        let time = self.millis()?;
        let people = match &self.segment {
            None => None,
            Some(name) => Some(segment_members(snapshot, name)?),
        };
        Ok(ResolvedScope { time, people })
    }

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
/// their journey, a property of it, or whether they are in a segment now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Breakdown {
    Channel,
    Property(String),
    Segment(String),
}

impl Breakdown {
    /// `channel`, `property:<name>` (a dotted path into properties) or
    /// `segment:<name>`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let named = |prefix: &str| text.strip_prefix(prefix).filter(|n| !n.is_empty());
        if text == "channel" {
            Ok(Breakdown::Channel)
        } else if let Some(p) = named("property:") {
            Ok(Breakdown::Property(p.to_owned()))
        } else if let Some(s) = named("segment:") {
            Ok(Breakdown::Segment(s.to_owned()))
        } else {
            Err(format!(
                "breakdown '{text}': expected 'channel', 'property:<name>' or 'segment:<name>'"
            ))
        }
    }

    /// The split of a `segment:<name>` breakdown, its values coded in
    /// `groups`; `None` for the other kinds.
    pub fn segment_split(
        breakdown: Option<&Breakdown>,
        snapshot: &Snapshot,
        groups: &Codebook,
    ) -> Result<Option<SegmentSplit>, AnalyticsError> {
        match breakdown {
            Some(Breakdown::Segment(name)) => Ok(Some(SegmentSplit::new(snapshot, name, groups)?)),
            _ => Ok(None),
        }
    }

    fn text(&self) -> String {
        match self {
            Breakdown::Channel => "channel".into(),
            Breakdown::Property(p) => format!("property:{p}"),
            Breakdown::Segment(s) => format!("segment:{s}"),
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
