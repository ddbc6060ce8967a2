use std::fmt;

use serde::{Deserialize, Serialize};

/// The kind of an identifier: `user_id`, `anonymous_id`, `email`, `phone`,
/// or a custom kind declared in config or sent in `context.externalIds`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdKind(pub String);

impl IdKind {
    pub const USER_ID: &'static str = "user_id";
    pub const ANONYMOUS_ID: &'static str = "anonymous_id";
    pub const EMAIL: &'static str = "email";
    pub const PHONE: &'static str = "phone";

    pub fn new(kind: &str) -> Self {
        Self(kind.to_owned())
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
    pub value: String,
}

impl Identifier {
    /// Builds an identifier, normalising the value for its kind: emails
    /// are trimmed and lowercased; phones keep a leading `+` and digits.
    pub fn new(kind: &str, value: &str) -> Self {
        let value = match kind {
            IdKind::EMAIL => value.trim().to_lowercase(),
            IdKind::PHONE => normalise_phone(value),
            _ => value.trim().to_owned(),
        };
        Self {
            kind: IdKind::new(kind),
            value,
        }
    }
}

fn normalise_phone(value: &str) -> String {
    let trimmed = value.trim();
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    if trimmed.starts_with('+') {
        format!("+{digits}")
    } else {
        digits
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.0, self.value)
    }
}
