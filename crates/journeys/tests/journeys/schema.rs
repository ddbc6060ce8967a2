//! The published JSON Schema and the parser agree: the shipped examples
//! and other good journeys validate against the schema; bad ones the
//! schema can express are refused by both. Checked with the reference
//! Python `jsonschema` (installed by scripts/setup-test-env.sh).

use percorso_journeys::parse_journey;
use serde_json::{json, Value};

fn root() -> String {
    format!("{}/../..", env!("CARGO_MANIFEST_DIR"))
}

fn schema_verdicts(documents: &[Value]) -> Vec<Value> {
    let schema = std::path::Path::new(&root()).join("docs/schemas/journey.schema.json");
    percorso_testkit::schema_verdicts(&schema, documents)
}

#[test]
fn the_schema_and_the_parser_agree() {
    let mut documents: Vec<Value> = std::fs::read_dir(format!("{}/examples/journeys", root()))
        .unwrap()
        .map(|f| {
            serde_yaml::from_str(&std::fs::read_to_string(f.unwrap().path()).unwrap()).unwrap()
        })
        .collect();
    let good = documents.len();
    let minimal =
        json!({ "name": "m", "trigger": { "api": true }, "steps": { "end": { "exit": true } } });
    // `minimal` with the member at `pointer` set (added if missing).
    let with = |pointer: &str, value: Value| {
        let mut doc = minimal.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        doc.pointer_mut(parent).unwrap()[key] = value;
        doc
    };
    documents.push(minimal.clone());
    documents.push(with(
        "/trigger",
        json!({ "schedule": { "cron": "0 9 * * 1", "time_zone": "customer", "segment": "vips" } }),
    ));
    let bad = [
        with("/name", json!("two words")),
        with("/trigger", json!({ "event": "A", "api": true })),
        with("/trigger", json!({ "api": false })),
        with("/steps", json!({})),
        with("/steps/end", json!({ "exit": true, "next": "end" })),
        with("/steps/end", json!({ "wait": "1h" })),
        with(
            "/steps/end",
            json!({ "send": { "channel": "fax", "template": "t" }, "next": "end" }),
        ),
        with(
            "/steps/end",
            json!({ "split": [{ "weight": 1, "next": "end" }] }),
        ),
        with(
            "/steps/end",
            json!({ "wait_until": { "time": "25:00" }, "next": "end" }),
        ),
        with("/re_entry", json!("sometimes")),
        with("/holdout", json!(101)),
        with("/entry_when", json!({ "trait": "plan" })),
        with(
            "/entry_when",
            json!({ "segment": "a", "trait": "b", "equals": 1 }),
        ),
        {
            let mut doc = minimal.clone();
            doc["colour"] = json!("blue");
            doc
        },
    ];
    documents.extend(bad);
    let verdicts = schema_verdicts(&documents);
    for (document, verdict) in documents.iter().zip(&verdicts) {
        let parsed = parse_journey(&document.to_string());
        assert_eq!(
            parsed.is_ok(),
            verdict.is_null(),
            "parser: {:?}; schema: {verdict}; for {document}",
            parsed.err()
        );
    }
    assert_eq!(
        verdicts.iter().filter(|v| v.is_null()).count(),
        good + 2,
        "{verdicts:?}"
    );
}
