//! Segment definitions: parsing with pointed errors, and membership that
//! follows events and the passing of time (a manual clock, no sleeping).

use std::borrow::Cow;

use percorso_profiles::segment::{parse_segment, CompiledSegment, Facts};
use percorso_profiles::{TraitState, DAY_MILLIS};
use serde_json::{json, Map, Value};

const ENGAGED: &str = r#"
name: engaged_web_buyers
description: Pro customers who ordered twice in 30 days, shop on the web, and are not reading our e-mails
rule:
  all:
    - trait: plan
      equals: pro
    - event: Order Completed
      at_least: 2
      within_days: 30
      where:
        - path: properties.revenue
          greater_than: 0
    - not:
        event: Email Opened
        within_days: 14
    - last_seen:
        path: context.channel
        equals: web
"#;

/// One profile: its traits and the state of each implied computed trait.
struct Profile<'a> {
    segment: &'a CompiledSegment,
    traits: Map<String, Value>,
    states: Vec<TraitState>,
    now: i64,
}

impl<'a> Profile<'a> {
    fn new(segment: &'a CompiledSegment) -> Self {
        Self {
            segment,
            traits: Map::new(),
            states: vec![TraitState::default(); segment.implied.len()],
            now: 0,
        }
    }

    fn event(&mut self, at: i64, event: Value) -> bool {
        self.now = at;
        for (state, definition) in self.states.iter_mut().zip(&self.segment.implied) {
            state.apply(definition, &event, at, at);
        }
        self.segment.evaluate(self)
    }

    /// The earliest timer any implied trait asks for.
    fn next_timer(&self) -> Option<i64> {
        self.states
            .iter()
            .zip(&self.segment.implied)
            .filter_map(|(state, definition)| state.next_expiry(definition))
            .min()
    }

    /// Fires the next timer: the clock moves there and windows slide.
    fn fire_timer(&mut self) -> Option<(i64, bool)> {
        let due = self.next_timer()?;
        self.now = due;
        for (state, definition) in self.states.iter_mut().zip(&self.segment.implied) {
            state.expire(definition, due);
        }
        Some((due, self.segment.evaluate(self)))
    }
}

impl Facts for Profile<'_> {
    fn trait_value(&self, name: &str) -> Option<Cow<'_, Value>> {
        self.traits.get(name).map(Cow::Borrowed)
    }

    fn implied_value(&self, index: usize) -> Value {
        self.states[index].value(&self.segment.implied[index], self.now)
    }
}

fn order(revenue: f64, channel: &str) -> Value {
    json!({ "type": "track", "event": "Order Completed", "properties": { "revenue": revenue }, "context": { "channel": channel } })
}

#[test]
fn membership_follows_events_and_the_passing_of_time() {
    let segment = CompiledSegment::compile(parse_segment(ENGAGED).unwrap());
    assert_eq!(
        segment.implied.len(),
        3,
        "two event conditions and one last-seen"
    );
    let mut ada = Profile::new(&segment);
    ada.traits.insert("plan".into(), json!("pro"));
    let day = |d: i64| d * DAY_MILLIS;

    assert!(
        !ada.event(day(1), order(20.0, "web")),
        "one order is not two"
    );
    assert!(
        !ada.event(day(2), order(0.0, "web")),
        "a free order does not count"
    );
    assert!(
        ada.event(day(3), order(35.0, "web")),
        "entered: two paid orders, on the web"
    );
    let opened =
        json!({ "type": "track", "event": "Email Opened", "context": { "channel": "email" } });
    assert!(
        !ada.event(day(4), opened),
        "exited: opened an e-mail, and was last seen on e-mail"
    );
    assert!(
        !ada.event(
            day(5),
            json!({ "type": "page", "context": { "channel": "web" } })
        ),
        "still read an e-mail within 14 days"
    );

    // From here only time passes: timers decide.
    let (when, member) = ada.fire_timer().expect("the e-mail leaves its window");
    assert_eq!(
        (when, member),
        (day(18), true),
        "re-entered 14 days after the e-mail"
    );
    let (when, member) = ada.fire_timer().expect("the first order leaves its window");
    assert_eq!(
        (when, member),
        (day(31), false),
        "exited: only one paid order left in the 30 days"
    );
    assert_eq!(
        ada.fire_timer(),
        Some((day(33), false)),
        "the free order never counted; the second paid order leaves"
    );
    assert_eq!(ada.fire_timer(), None, "nothing left to expire");

    ada.traits.insert("plan".into(), json!("free"));
    assert!(
        !ada.event(day(40), order(10.0, "web")) && !ada.event(day(41), order(10.0, "web")),
        "a trait condition too"
    );
}

#[test]
fn yaml_and_json_definitions_are_the_same() {
    let json_text = json!({
        "name": "engaged_web_buyers",
        "description": "Pro customers who ordered twice in 30 days, shop on the web, and are not reading our e-mails",
        "rule": { "all": [
            { "trait": "plan", "equals": "pro" },
            { "event": "Order Completed", "at_least": 2, "within_days": 30,
              "where": [{ "path": "properties.revenue", "greater_than": 0 }] },
            { "not": { "event": "Email Opened", "within_days": 14 } },
            { "last_seen": { "path": "context.channel", "equals": "web" } }
        ]}
    })
    .to_string();
    assert_eq!(
        parse_segment(&json_text).unwrap(),
        parse_segment(ENGAGED).unwrap()
    );
}

#[test]
fn invalid_definitions_point_at_the_offending_part() {
    let cases = [
        ("name: x\n", "rule is required"),
        (
            "name: bad name\nrule: {trait: a, exists: true}\n",
            "name: use 1-64",
        ),
        (
            "name: x\nrule: {}\n",
            "rule: needs exactly one of all, any, not, trait, event, last_seen; found none",
        ),
        (
            "name: x\nrule: {all: [], any: []}\n",
            "rule: needs exactly one of all, any, not, trait, event, last_seen; found all and any",
        ),
        (
            "name: x\nrule: {all: []}\n",
            "rule.all: must be a non-empty list",
        ),
        (
            "name: x\nrule: {all: [{trait: plan}]}\n",
            "rule.all[0]: needs exactly one comparison",
        ),
        (
            "name: x\nrule: {all: [{trait: plan, equals: 1}, {event: E, within_days: 0}]}\n",
            "rule.all[1].within_days: must be from 1 to 3650",
        ),
        (
            "name: x\nrule: {event: E, at_least: 1, at_most: 3}\n",
            "rule: give at most one of at_least, at_most, exactly",
        ),
        (
            "name: x\nrule: {event: E, at_least: -1}\n",
            "rule.at_least: must be a whole number",
        ),
        (
            "name: x\nrule: {not: {event: E, where: [{path: p, bigger: 1}]}}\n",
            "rule.not.where[0].bigger: unknown key",
        ),
        (
            "name: x\nrule: {trait: plan, exists: false}\n",
            "rule.exists: must be true",
        ),
        (
            "name: x\nrule: {last_seen: {equals: web}}\n",
            "rule.last_seen: path is required",
        ),
        (
            "name: x\nrule: {trait: plan, equals: pro, colour: red}\n",
            "rule.colour: unknown key",
        ),
        ("name: x\nrule: [1, 2\n", "not valid YAML or JSON"),
    ];
    for (text, expected) in cases {
        let error = parse_segment(text).expect_err(text).to_string();
        assert!(
            error.contains(expected),
            "{text:?}: expected '{expected}' in '{error}'"
        );
    }
}

#[test]
fn the_published_json_schema_knows_every_condition_and_comparison() {
    let schema_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/schemas/segment.schema.json"
    );
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let text = schema.to_string();
    for word in [
        "all",
        "any",
        "not",
        "trait",
        "event",
        "last_seen",
        "within_days",
        "at_least",
        "at_most",
        "exactly",
        "where",
    ] {
        assert!(
            text.contains(&format!("\"{word}\"")),
            "the schema lacks {word}"
        );
    }
    for comparison in percorso_profiles::Comparison::ALL {
        assert!(
            text.contains(&format!("\"{}\"", comparison.name())),
            "the schema lacks {}",
            comparison.name()
        );
    }
}

/// The schema and the parser must agree: every definition the parser
/// accepts validates against the schema, and the bad ones the schema can
/// express are refused by both. Checked with the reference Python
/// `jsonschema` (installed by scripts/setup-test-env.sh).
#[test]
fn the_json_schema_agrees_with_the_parser_on_examples() {
    let engaged: Value = serde_yaml::from_str(ENGAGED).unwrap();
    let documents = vec![
        engaged,
        json!({ "name": "any_of", "rule": { "any": [{ "trait": "vip", "exists": true }, { "event": "Signed Up", "exactly": 1 }] } }),
        json!({ "name": "x" }),
        json!({ "name": "x", "rule": { "all": [], "any": [] } }),
        json!({ "name": "x", "rule": { "all": [] } }),
        json!({ "name": "x", "rule": { "event": "E", "at_least": 1, "at_most": 2 } }),
        json!({ "name": "x", "rule": { "event": "E", "within_days": 0 } }),
        json!({ "name": "x", "rule": { "trait": "plan" } }),
        json!({ "name": "x", "rule": { "trait": "plan", "equals": 1, "colour": "red" } }),
        json!({ "name": "x", "rule": { "last_seen": { "path": "context.channel", "exists": false } } }),
        json!({ "name": "bad name", "rule": { "trait": "a", "exists": true } }),
    ];
    let schema = percorso_testkit::repo_root().join("docs/schemas/segment.schema.json");
    let verdicts = percorso_testkit::schema_verdicts(&schema, &documents);
    for (document, verdict) in documents.iter().zip(&verdicts) {
        let parser = parse_segment(&document.to_string());
        assert_eq!(
            parser.is_ok(),
            verdict.is_null(),
            "parser says {parser:?}, schema says {verdict} for {document}"
        );
    }
    assert_eq!(
        verdicts.iter().filter(|v| v.is_null()).count(),
        2,
        "{verdicts:?}"
    );
}
