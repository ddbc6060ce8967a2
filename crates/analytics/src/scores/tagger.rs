//! Marks journey starts, completions, contacts and survey answers; puts a
//! survey's score (plus one) or the start event's breakdown value in the
//! row's group.

use std::collections::HashSet;

use serde_json::Value;

use crate::codebook::Codebook;
use crate::conditions::{ConditionTagger, EventCondition};
use crate::scores::kernel::{CSAT, NPS, START};
use crate::tagger::{Tag, Tagger};

#[derive(Debug)]
pub struct ScoreTagger<'a> {
    conditions: ConditionTagger<'a>,
    per_row: HashSet<String>,
    score_property: String,
    breakdown: Option<(&'a str, &'a Codebook)>,
}

impl<'a> ScoreTagger<'a> {
    /// `conditions` in bit order: start, complete, nps, csat, contacts...
    pub fn new(
        conditions: Vec<EventCondition>,
        score_property: &str,
        breakdown: Option<(&'a str, &'a Codebook)>,
    ) -> Result<Self, String> {
        let mut per_row: HashSet<String> = HashSet::new();
        per_row.insert(conditions[2].event.clone());
        per_row.insert(conditions[3].event.clone());
        if breakdown.is_some() {
            per_row.insert(conditions[0].event.clone());
        }
        Ok(ScoreTagger {
            conditions: ConditionTagger::new(conditions, None)?,
            per_row,
            score_property: score_property.to_owned(),
            breakdown,
        })
    }
}

impl Tagger for ScoreTagger<'_> {
    fn activity(&self, name: &str) -> Tag {
        if self.per_row.contains(name) {
            Tag::PerRow
        } else {
            self.conditions.activity(name)
        }
    }

    fn row(&self, activity: &str, properties: Option<&str>) -> (u64, u32) {
        let (mask, _) = self.conditions.row(activity, properties);
        if mask & (NPS | CSAT | START) == 0 {
            return (mask, 0);
        }
        let value: Value = properties
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or(Value::Null);
        if mask & (NPS | CSAT) != 0 {
            let score = value.get(&self.score_property).and_then(|s| {
                s.as_f64()
                    .or_else(|| s.as_str().and_then(|t| t.parse().ok()))
            });
            let group = match score {
                Some(s) if s.fract() == 0.0 && (0.0..=10.0).contains(&s) => s as u32 + 1,
                _ => 0,
            };
            return (mask, group);
        }
        let group = match self.breakdown {
            Some((property, book)) => match property.split('.').try_fold(&value, |v, p| v.get(p)) {
                Some(Value::String(s)) => book.code(s),
                Some(Value::Null) | None => 0,
                Some(other) => book.code(&other.to_string()),
            },
            None => 0,
        };
        (mask, group)
    }

    fn wants_properties(&self) -> bool {
        true
    }
}
