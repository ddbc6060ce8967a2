//! The shipped example journeys, each driven through its story.

use percorso_journeys::{Content, ExitReason};
use serde_json::json;

use super::harness::*;

fn example(name: &str) -> String {
    let path = format!(
        "{}/../../examples/journeys/{name}.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn abandoned_cart_emails_after_an_hour_then_texts_a_day_later() {
    let yaml = example("abandoned_cart");
    // A customer outside the 10% control group.
    let id = (0..)
        .map(|i| format!("prof_{i}"))
        .find(|id| !percorso_journeys::in_share(&format!("holdout:abandoned_cart:{id}"), 1_000))
        .unwrap();
    let person = profile(
        &id,
        json!({ "email": "ada@example.com", "phone": "+391234", "first_name": "Ada" }),
    );
    let mut sim = sim(&[&yaml], person);
    let checkout =
        json!({ "products": [{ "sku": "a" }, { "sku": "b" }], "value": 80, "currency": "EUR" });
    sim.event(event("Checkout Started", 0, checkout)).unwrap();
    sim.advance_to(START + HOUR);
    let messages = sim.messages();
    assert_eq!(messages.len(), 1);
    let Content::Email { subject, text, .. } = &messages[0].content else {
        panic!()
    };
    assert_eq!(subject, "Ada, your basket is waiting");
    assert_eq!(text.as_deref(), Some("You left 2 item(s) worth 80 EUR."));
    sim.advance_to(START + HOUR + DAY);
    let messages = sim.messages();
    assert_eq!(messages.len(), 2);
    assert!(matches!(&messages[1].content, Content::Sms { to, .. } if to == "+391234"));
    assert_eq!(
        last_exit(&sim, "abandoned_cart"),
        Some(ExitReason::Completed)
    );
}

#[test]
fn abandoned_cart_ends_as_converted_on_purchase() {
    let mut sim = sim(
        &[&example("abandoned_cart")],
        profile("prof_x", json!({ "email": "x@example.com" })),
    );
    sim.event(event("Checkout Started", 0, json!({}))).unwrap();
    sim.event(event("Order Completed", 2 * HOUR, json!({})))
        .unwrap();
    assert_eq!(
        last_exit(&sim, "abandoned_cart"),
        Some(ExitReason::Converted)
    );
    sim.run_out(START + 5 * DAY);
    assert!(sim.messages().len() <= 1, "nothing after the purchase");
}

#[test]
fn welcome_series_splits_subjects_and_sends_tips_in_the_morning() {
    let mut subjects = std::collections::BTreeSet::new();
    for i in 0..40 {
        let person = profile(
            &format!("p{i}"),
            json!({ "email": "x@example.com", "timezone": "Europe/Rome" }),
        );
        let mut sim = sim(&[&example("welcome_series")], person);
        sim.event(event("Signed Up", 0, json!({}))).unwrap();
        sim.run_out(START + 5 * DAY);
        let messages = sim.messages();
        assert_eq!(messages.len(), 2);
        let Content::Email { subject, .. } = &messages[0].content else {
            panic!()
        };
        subjects.insert(subject.clone());
        // Two days after 10:00Z is 11:00 in Rome: the tips wait for 09:30 the day after.
        assert_eq!(messages[1].at, START + 3 * DAY - 90 * MINUTE);
    }
    assert_eq!(
        subjects.len(),
        2,
        "both subject lines are used: {subjects:?}"
    );
}

#[test]
fn failed_checkout_then_a_call_within_the_hour_flags_the_profile_and_tells_the_contact_centre() {
    let yaml = example("failed_checkout_callback");
    let person = profile("prof_c", json!({ "email": "c@example.com" }));
    let mut sim1 = sim(&[&yaml], person.clone());
    sim1.event(event("Payment Info Entered", 0, json!({ "value": 120 })))
        .unwrap();
    sim1.event(event("Call Started", 40 * MINUTE, json!({})))
        .unwrap();
    assert_eq!(sim1.profile.traits["route_to_agent"], json!(true));
    let messages = sim1.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].at,
        START + 40 * MINUTE,
        "at the call, not later"
    );
    let Content::Webhook { body, .. } = &messages[0].content else {
        panic!()
    };
    assert_eq!(body.as_ref().unwrap()["basket_value"], json!("120"));
    assert_eq!(body.as_ref().unwrap()["skip_bot"], json!(true));

    // Paid after all: nothing happens on a later call.
    let mut sim2 = sim(&[&yaml], person.clone());
    sim2.event(event("Payment Info Entered", 0, json!({})))
        .unwrap();
    sim2.event(event("Order Completed", 5 * MINUTE, json!({})))
        .unwrap();
    sim2.event(event("Call Started", 30 * MINUTE, json!({})))
        .unwrap();
    assert!(sim2.messages().is_empty());

    // A call more than an hour after the failure is not flagged.
    let mut sim3 = sim(&[&yaml], person);
    sim3.event(event("Payment Info Entered", 0, json!({})))
        .unwrap();
    sim3.event(event("Call Started", 2 * HOUR, json!({})))
        .unwrap();
    assert!(sim3.messages().is_empty());
    assert!(!sim3.profile.traits.contains_key("route_to_agent"));
}

#[test]
fn win_back_offers_on_leaving_the_active_segment_and_nudges_the_engaged() {
    let yaml = example("win_back");
    let left = event(
        "Segment Exited",
        0,
        json!({ "segment": "active_customers", "generation": 1 }),
    );
    let mut engaged = profile("p1", json!({ "email": "e@example.com" }));
    engaged
        .computed
        .insert("emails_opened_30d".into(), json!(2));
    let mut sim1 = sim(&[&yaml], engaged);
    sim1.event(left.clone()).unwrap();
    sim1.run_out(START + 20 * DAY);
    let at: Vec<i64> = sim1.messages().iter().map(|m| m.at - START).collect();
    assert_eq!(at, [3 * DAY, 10 * DAY]);

    let mut sim2 = sim(&[&yaml], profile("p2", json!({ "email": "q@example.com" })));
    sim2.event(left).unwrap();
    sim2.run_out(START + 20 * DAY);
    assert_eq!(
        sim2.messages().len(),
        1,
        "no nudge for someone who opens nothing"
    );
}
