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
            IdKind::EMAIL => lowercase(value.trim()),
            IdKind::PHONE => normalise_phone(value),
            _ => CompactString::new(value.trim()),
        };
        Self {
            kind: IdKind::new(kind),
            value,
        }
    }
}

/// As `str::to_lowercase`: compact_str's own lowercases in blocks and can
/// read a final capital sigma differently, and a stored email must keep
/// matching.
fn lowercase(value: &str) -> CompactString {
    if value.is_ascii() {
        let mut lower = CompactString::new(value);
        lower.make_ascii_lowercase();
        lower
    } else {
        CompactString::from(value.to_lowercase())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_lowercase_as_the_standard_library_does() {
        // A capital sigma ends a word here: std writes the final form ς.
        // compact_str's block-wise lowercasing wrote σ after 16 bytes.
        for email in [
            " Ada@Example.COM ",
            "abcdefghijklmnopΣ@x.gr",
            "ΟΔΥΣΣΕΥΣ@example.gr",
            "ÅSA@example.se",
        ] {
            let identifier = Identifier::new(IdKind::EMAIL, email);
            assert_eq!(identifier.value, email.trim().to_lowercase(), "{email}");
        }
    }
}
