//! The `[identity]` section of `percorso.toml`: which identifiers win a
//! conflict, how many of a kind one profile may hold, which values
//! identify nobody, and which traits are identifiers of a custom kind.
//!
//! ```toml
//! [identity]
//! priority = ["user_id", "email", "phone"]    # highest first
//! limits = { email = 3, anonymous_id = 20 }    # user_id is always 1
//! blocked = ['^[0-]*$', '(?i)^test@']          # replaces the defaults
//! custom = ["loyalty_card"]                    # traits that identify
//! ```

use percorso_identity::{IdentityRules, RulesError, DEFAULT_BLOCKED};

use crate::config_file::{Problem, Settings};

/// The rules and custom identifier kinds the settings describe; problems
/// are reported with the key they came from.
pub fn identity_rules(
    settings: &Settings,
    problems: &mut Vec<Problem>,
) -> (IdentityRules, Vec<String>) {
    let priority = settings
        .texts("identity.priority")
        .unwrap_or_else(|| vec!["user_id", "email"]);
    let limits: Vec<(&str, usize)> = settings
        .counts("identity.limits")
        .into_iter()
        .map(|(kind, n)| (kind, n as usize))
        .collect();
    let blocked = settings
        .texts("identity.blocked")
        .unwrap_or_else(|| DEFAULT_BLOCKED.to_vec());
    let custom: Vec<String> = settings
        .texts("identity.custom")
        .unwrap_or_default()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let rules = match IdentityRules::new(&priority, &limits, &blocked) {
        Ok(rules) => rules,
        Err(e) => {
            let key = match e {
                RulesError::UserIdLimit | RulesError::ZeroLimit(_) => "identity.limits",
                RulesError::BadPattern { .. } => "identity.blocked",
            };
            problems.push(Problem::new(key, e.to_string()));
            IdentityRules::default()
        }
    };
    (rules, custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config_file::read_settings;

    fn rules_of(text: &str) -> (Vec<Problem>, Vec<String>) {
        let table: toml::Table = text.parse().unwrap();
        let (settings, mut problems) = read_settings(&table);
        let (_, custom) = identity_rules(&settings, &mut problems);
        (problems, custom)
    }

    #[test]
    fn the_identity_section_is_read_and_bad_rules_name_their_key() {
        let (problems, custom) = rules_of(
            "[identity]\npriority = [\"user_id\", \"loyalty_card\"]\nlimits = { email = 2 }\ncustom = [\"loyalty_card\"]\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(custom, ["loyalty_card"]);
        let (problems, _) = rules_of("[identity]\nlimits = { user_id = 2 }\n");
        assert_eq!(problems[0].key, "identity.limits", "{problems:?}");
        let (problems, _) = rules_of("[identity]\nblocked = [\"(\"]\n");
        assert_eq!(problems[0].key, "identity.blocked", "{problems:?}");
        let (problems, _) = rules_of("[identity]\npriority = \"email\"\n");
        assert_eq!(problems[0].key, "identity.priority", "{problems:?}");
    }
}
