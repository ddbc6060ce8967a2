//! The rules identity resolution follows, from config.

use std::cmp::Ordering;
use std::collections::HashMap;

use regex::Regex;

use crate::identifier::{IdKind, Identifier};

/// Values that identify nobody: placeholders SDKs and forms send when they
/// have no real id. Matched against the whole value.
pub const DEFAULT_BLOCKED: [&str; 3] = [
    r"^[0-]*$",
    r"^-1$",
    r"(?i)^(null|undefined|anonymous|none|nil|n/a|unknown)$",
];

const DEFAULT_LIMIT: usize = 5;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RulesError {
    #[error("identity.limits.user_id must be 1: a profile never holds two different user ids")]
    UserIdLimit,
    #[error("identity.limits.{0}: a limit must be at least 1")]
    ZeroLimit(String),
    #[error("identity.blocked: '{pattern}' is not a valid regular expression: {reason}")]
    BadPattern { pattern: String, reason: String },
}

/// Priority order, per-kind limits and blocked values.
#[derive(Debug, Clone)]
pub struct IdentityRules {
    /// Kinds in priority order, highest first; kinds not listed come after,
    /// ordered by name so the order is total and stable.
    priority: Vec<IdKind>,
    limits: HashMap<IdKind, usize>,
    blocked: Vec<Regex>,
}

impl Default for IdentityRules {
    fn default() -> Self {
        Self::new(&[IdKind::USER_ID, IdKind::EMAIL], &[], &DEFAULT_BLOCKED)
            .unwrap_or_else(|e| unreachable!("the default rules are valid: {e}"))
    }
}

impl IdentityRules {
    /// `priority`: kinds, highest first. `limits`: most identifiers of a
    /// kind one profile may hold (default 5; `user_id` is always 1).
    /// `blocked`: regular expressions of values that identify nobody.
    pub fn new(
        priority: &[&str],
        limits: &[(&str, usize)],
        blocked: &[&str],
    ) -> Result<Self, RulesError> {
        let mut limit_map = HashMap::new();
        limit_map.insert(IdKind::new(IdKind::USER_ID), 1);
        for &(kind, limit) in limits {
            if limit == 0 {
                return Err(RulesError::ZeroLimit(kind.to_owned()));
            }
            if kind == IdKind::USER_ID && limit != 1 {
                return Err(RulesError::UserIdLimit);
            }
            limit_map.insert(IdKind::new(kind), limit);
        }
        let blocked = blocked
            .iter()
            .map(|pattern| {
                Regex::new(pattern).map_err(|e| RulesError::BadPattern {
                    pattern: (*pattern).to_owned(),
                    reason: e.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            priority: priority.iter().map(|k| IdKind::new(k)).collect(),
            limits: limit_map,
            blocked,
        })
    }

    pub fn limit(&self, kind: &IdKind) -> usize {
        self.limits.get(kind).copied().unwrap_or(DEFAULT_LIMIT)
    }

    /// Whether a value identifies nobody (and so must never join anything).
    pub fn is_blocked(&self, identifier: &Identifier) -> bool {
        identifier.value.is_empty() || self.blocked.iter().any(|re| re.is_match(&identifier.value))
    }

    /// Orders identifiers from highest to lowest priority.
    pub fn by_priority(&self, a: &Identifier, b: &Identifier) -> Ordering {
        self.rank(&a.kind)
            .cmp(&self.rank(&b.kind))
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.value.cmp(&b.value))
    }

    fn rank(&self, kind: &IdKind) -> usize {
        self.priority
            .iter()
            .position(|k| k == kind)
            .unwrap_or(self.priority.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_blocked_and_real_values_are_not() {
        let rules = IdentityRules::default();
        for value in [
            "",
            "0",
            "0000",
            "-1",
            "--",
            "null",
            "NULL",
            "Anonymous",
            "undefined",
        ] {
            assert!(
                rules.is_blocked(&Identifier::new("anonymous_id", value)),
                "{value:?}"
            );
        }
        for value in ["u-1", "0a", "ada@example.com", "10"] {
            assert!(
                !rules.is_blocked(&Identifier::new("user_id", value)),
                "{value:?}"
            );
        }
    }

    #[test]
    fn user_ids_come_first_then_emails_then_the_rest_by_name() {
        let rules = IdentityRules::default();
        let mut ids = [
            Identifier::new("phone", "+1"),
            Identifier::new("anonymous_id", "a"),
            Identifier::new("email", "e@x"),
            Identifier::new("user_id", "u"),
        ];
        ids.sort_by(|a, b| rules.by_priority(a, b));
        let kinds: Vec<_> = ids.iter().map(|i| i.kind.as_str()).collect();
        assert_eq!(kinds, ["user_id", "email", "anonymous_id", "phone"]);
    }

    #[test]
    fn bad_rules_are_refused_with_the_offending_part() {
        assert_eq!(
            IdentityRules::new(&[], &[("user_id", 2)], &[]).unwrap_err(),
            RulesError::UserIdLimit
        );
        assert_eq!(
            IdentityRules::new(&[], &[("email", 0)], &[]).unwrap_err(),
            RulesError::ZeroLimit("email".into())
        );
        let error = IdentityRules::new(&[], &[], &["("]).unwrap_err();
        assert!(error.to_string().contains("'('"), "{error}");
    }
}
