//! Computed traits declared in `percorso.toml`, one `[[computed_traits]]`
//! table each, with the fields the API takes. The server applies them at
//! start (added, replaced when changed, deleted when gone from the file).
//!
//! ```toml
//! [[computed_traits]]
//! name = "orders_30d"
//! event = "Order Completed"
//! aggregation = "count"
//! window_days = 30
//! ```

use percorso_profiles::ComputedTrait;

use crate::config_file::{Problem, Settings};

const KEY: &str = "computed_traits";

/// The declared traits; each problem is keyed `computed_traits[i]` (or
/// `computed_traits[i].field`), which `locate` turns into the line of the
/// i-th `[[computed_traits]]` header.
pub fn computed_traits(settings: &Settings, problems: &mut Vec<Problem>) -> Vec<ComputedTrait> {
    let mut traits: Vec<ComputedTrait> = Vec::new();
    for (index, table) in settings.tables(KEY).into_iter().enumerate() {
        let key = format!("{KEY}[{index}]");
        let definition = match toml::Value::Table(table.clone()).try_into::<ComputedTrait>() {
            Ok(definition) => definition,
            Err(e) => {
                problems.push(Problem::new(&key, e.message().trim().to_owned()));
                continue;
            }
        };
        if let Err(e) = definition.validate() {
            let field = format!("{key}.{}", e.field);
            problems.push(Problem::new(&field, e.problem));
            continue;
        }
        if traits.iter().any(|t| t.name == definition.name) {
            let field = format!("{key}.name");
            let message = format!("'{}' is declared twice", definition.name);
            problems.push(Problem::new(&field, message));
            continue;
        }
        traits.push(definition);
    }
    traits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config_file::{locate, read_settings};

    fn read(text: &str) -> (Vec<ComputedTrait>, Vec<String>) {
        let table: toml::Table = text.parse().unwrap();
        let (settings, mut problems) = read_settings(&table);
        let traits = computed_traits(&settings, &mut problems);
        locate(&mut problems, text);
        (traits, problems.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn declared_traits_are_read_and_each_problem_names_its_table_and_line() {
        let text = "\
[[computed_traits]]
name = \"orders_30d\"
event = \"Order Completed\"
aggregation = \"count\"
window_days = 30

[[computed_traits]]
name = \"spend\"
aggregation = \"sum\"

[[computed_traits]]
name = \"x\"
aggregation = \"count\"
colour = \"red\"

[[computed_traits]]
name = \"orders_30d\"
aggregation = \"count\"
";
        let (traits, problems) = read(text);
        assert_eq!(traits.len(), 1, "{traits:?}");
        assert_eq!(traits[0].name, "orders_30d");
        assert_eq!(traits[0].window_days, Some(30));
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].starts_with("line 7: computed_traits[1].property: is required"),
            "{problems:?}"
        );
        assert!(
            problems[1].starts_with("line 11: computed_traits[2]: unknown field `colour`"),
            "{problems:?}"
        );
        assert_eq!(
            problems[2],
            "line 16: computed_traits[3].name: 'orders_30d' is declared twice"
        );
        let (_, problems) = read("computed_traits = 3\n");
        assert!(
            problems[0].starts_with("line 1: computed_traits: must be a list of tables"),
            "{problems:?}"
        );
    }
}
