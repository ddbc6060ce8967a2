//! Computed traits: checked against a brute-force recomputation over the
//! raw events, as time passes and windows slide.

use std::collections::HashSet;

use percorso_profiles::{
    Aggregation, Comparison, ComputedTrait, PropertyFilter, TraitState, DAY_MILLIS,
};
use proptest::prelude::*;
use serde_json::{json, Value};

fn definition(aggregation: Aggregation, window_days: Option<u32>) -> ComputedTrait {
    ComputedTrait {
        name: "t".into(),
        event: Some("Order Completed".into()),
        filters: vec![PropertyFilter {
            path: "context.channel".into(),
            comparison: Comparison::NotEquals,
            value: json!("test"),
        }],
        aggregation,
        property: Some("properties.value".into()),
        window_days,
    }
}

/// The answer computed from scratch: every matching event still in the
/// window at `now`, in arrival order.
fn reference(definition: &ComputedTrait, events: &[(i64, Value)], now: i64) -> Value {
    let oldest_day = definition
        .window_days
        .map_or(i64::MIN, |w| now.div_euclid(DAY_MILLIS) - i64::from(w) + 1);
    let counted: Vec<(usize, i64, &Value)> = events
        .iter()
        .enumerate()
        .filter(|(_, (ts, e))| definition.matches(e) && ts.div_euclid(DAY_MILLIS) >= oldest_day)
        .map(|(i, (ts, e))| (i, *ts, e))
        .collect();
    let values: Vec<(usize, i64, &Value)> = counted
        .iter()
        .filter_map(|&(i, ts, e)| definition.input(e).map(|v| (i, ts, v)))
        .collect();
    let numbers: Vec<f64> = values.iter().filter_map(|(_, _, v)| v.as_f64()).collect();
    let number = |n: f64| serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number);
    match definition.aggregation {
        Aggregation::Count => json!(counted.len()),
        Aggregation::Sum => number(numbers.iter().sum()),
        Aggregation::Min => numbers
            .iter()
            .copied()
            .reduce(f64::min)
            .map_or(Value::Null, number),
        Aggregation::Max => numbers
            .iter()
            .copied()
            .reduce(f64::max)
            .map_or(Value::Null, number),
        Aggregation::Average if numbers.is_empty() => Value::Null,
        Aggregation::Average => number(numbers.iter().sum::<f64>() / numbers.len() as f64),
        Aggregation::First => values
            .iter()
            .min_by_key(|(i, ts, _)| (*ts, *i))
            .map_or(Value::Null, |v| v.2.clone()),
        Aggregation::Last => values
            .iter()
            .max_by_key(|(i, ts, _)| (*ts, *i))
            .map_or(Value::Null, |v| v.2.clone()),
        Aggregation::DistinctCount => {
            json!(values
                .iter()
                .map(|(_, _, v)| v.to_string())
                .collect::<HashSet<_>>()
                .len())
        }
    }
}

/// Sums may differ in the last bits with the order of additions.
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        _ => a == b,
    }
}

fn event_strategy() -> impl Strategy<Value = (i64, Value)> {
    let value = prop_oneof![
        (-1000i64..1000).prop_map(|n| json!(n)),
        (-1000.0f64..1000.0).prop_map(|n| json!(n)),
        "[a-c]".prop_map(|s| json!(s)),
        Just(Value::Null),
    ];
    let name = prop_oneof![Just("Order Completed"), Just("Product Viewed")];
    let channel = prop_oneof![Just("web"), Just("test")];
    (0i64..40 * DAY_MILLIS, name, channel, value).prop_map(|(ts, name, channel, value)| {
        (ts, json!({ "type": "track", "event": name, "context": { "channel": channel }, "properties": { "value": value } }))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Events arrive in time order with a little disorder; the clock is the
    /// latest arrival. At every step, and at any later time, the
    /// incremental value equals the recomputation, whether or not expiry
    /// timers ran in between.
    #[test]
    fn incremental_values_match_a_recomputation_as_windows_slide(
        mut events in prop::collection::vec(event_strategy(), 0..60),
        aggregation in prop::sample::select(Aggregation::ALL.to_vec()),
        window in prop::option::of(1u32..15),
        expire_every in 1usize..10,
        later in 0i64..30 * DAY_MILLIS,
    ) {
        events.sort_by_key(|(ts, _)| *ts);
        for pair in events.chunks_mut(3) {
            pair.reverse(); // some arrive out of order
        }
        let definition = definition(aggregation, window);
        let mut state = TraitState::default();
        let mut clock = 0;
        for (n, (ts, event)) in events.iter().enumerate() {
            clock = clock.max(*ts);
            state.apply(&definition, event, *ts, clock);
            if n % expire_every == 0 {
                let before = state.value(&definition, clock);
                state.expire(&definition, clock);
                prop_assert!(same(&before, &state.value(&definition, clock)), "expiry changed the value");
            }
            let expected = reference(&definition, &events[..=n], clock);
            prop_assert!(same(&state.value(&definition, clock), &expected));
        }
        let end = clock + later;
        let expected = reference(&definition, &events, end);
        prop_assert!(same(&state.value(&definition, end), &expected), "at a later time");
        state.expire(&definition, end);
        prop_assert!(same(&state.value(&definition, end), &expected), "after expiry");
    }
}

#[test]
fn the_expiry_timer_fires_when_the_oldest_day_leaves_the_window() {
    let definition = definition(Aggregation::Count, Some(7));
    let mut state = TraitState::default();
    let order = json!({ "event": "Order Completed", "properties": { "value": 1 } });
    let day = |d: i64| d * DAY_MILLIS;
    state.apply(&definition, &order, day(10) + 5, day(10) + 5);
    state.apply(&definition, &order, day(12), day(12));
    let due = state
        .next_expiry(&definition)
        .expect("a windowed trait with events has a timer");
    assert_eq!(due, day(17), "day 10 is in the window through day 16");
    assert_eq!(state.value(&definition, due - 1), json!(2));
    assert_eq!(state.value(&definition, due), json!(1));
    assert_eq!(state.expire(&definition, due), 1);
    assert_eq!(state.next_expiry(&definition), Some(day(19)));
    assert_eq!(state.expire(&definition, day(19)), 1);
    assert!(state.is_empty() && state.next_expiry(&definition).is_none());
    assert_eq!(state.value(&definition, day(19)), json!(0));
    let all_time = ComputedTrait {
        window_days: None,
        ..definition
    };
    assert_eq!(TraitState::default().next_expiry(&all_time), None);
}

#[test]
fn invalid_definitions_name_the_offending_field() {
    let bad = |edit: fn(&mut ComputedTrait)| {
        let mut d = definition(Aggregation::Sum, Some(30));
        edit(&mut d);
        d.validate().unwrap_err().to_string()
    };
    assert!(bad(|d| d.property = None).contains("property: is required"));
    assert!(bad(|d| d.property = Some("properties..x".into()))
        .contains("property: must be a dotted path"));
    assert!(bad(|d| d.window_days = Some(0)).contains("window_days: must be from 1"));
    assert!(bad(|d| d.name = "has space".into()).contains("name:"));
    assert!(definition(Aggregation::Sum, Some(30)).validate().is_ok());
    let count = ComputedTrait {
        property: None,
        ..definition(Aggregation::Count, None)
    };
    assert!(count.validate().is_ok(), "count needs no property");
    let parsed: ComputedTrait = serde_json::from_value(json!({
        "name": "revenue_30d", "event": "Order Completed", "aggregation": "sum",
        "property": "properties.revenue", "window_days": 30,
        "filters": [{ "path": "properties.currency", "comparison": "equals", "value": "EUR" }]
    }))
    .unwrap();
    assert!(parsed.validate().is_ok());
    let unknown =
        serde_json::from_value::<ComputedTrait>(json!({ "name": "x", "aggregation": "median" }));
    assert!(unknown.unwrap_err().to_string().contains("median"));
}
