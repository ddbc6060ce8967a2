use std::fmt;

use compact_str::CompactString;

use serde::{Deserialize, Serialize};

/// The kind of an identifier: `user_id`, `anonymous_id`, `email`, `phone`,
/// or a custom kind declared in config or sent in `context.externalIds`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdKind(pub CompactString);

impl IdKind {
    pub const USER_ID: &'static str = "user_id";
    pub const ANONYMOUS_ID: &'static str = "anonymous_id";
    pub const EMAIL: &'static str = "email";
    pub const PHONE: &'static str = "phone";

    pub fn new(kind: &str) -> Self {
        Self(CompactString::new(kind))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One identifier: a kind and a value, normalised so the same person's
/// email typed twice is the same identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Identifier {
    pub kind: IdKind,
    pub value: CompactString,
}

impl Identifier {
    /// Builds an identifier, normalising the value for its kind: emails
    /// are trimmed and lowercased; phones keep a leading `+` and digits.
    pub fn new(kind: &str, value: &str) -> Self {
        let value = match kind {
            IdKind::EMAIL => CompactString::new(value.trim()).to_lowercase(),
            IdKind::PHONE => normalise_phone(value),
            _ => CompactString::new(value.trim()),
        };
        Self {
            kind: IdKind::new(kind),
            value,
        }
    }
}

fn normalise_phone(value: &str) -> CompactString {
    let trimmed = value.trim();
    let sign = trimmed.starts_with('+').then_some('+');
    sign.into_iter()
        .chain(trimmed.chars().filter(char::is_ascii_digit))
        .collect()
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.0, self.value)
    }
}
