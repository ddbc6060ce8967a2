//! Every step kind and trigger, on a virtual clock.

use percorso_journeys::{Action, Content, ExitReason};
use serde_json::json;

use super::harness::*;

const WAITS: &str = r#"
name: waits
trigger: { event: Signed Up, where: [{ path: properties.plan, equals: pro }] }
re_entry: one_at_a_time
start: pause
steps:
  pause:
    wait: 2h
    next: morning
  morning:
    wait_until: { time: "09:00", time_zone: customer }
    next: hello
  hello:
    send: { channel: email, template: hello }
    next: listen
  listen:
    wait_for: { event: Email Opened, timeout: 1d }
    on_event: opened
    on_timeout: done
  opened:
    update_profile: { set: { engaged: true, via: "{{ event.properties.plan }}" } }
    next: done
  done:
    exit: true
templates:
  hello:
    subject: "Hello {{ profile.first_name | default: 'you' }}"
    text: "Plan {{ event.properties.plan }}"
"#;

#[test]
fn waits_fire_on_the_virtual_clock_in_the_customers_time_zone() {
    let person = profile(
        "prof_1",
        json!({ "email": "ada@example.com", "timezone": "America/New_York", "first_name": "Ada" }),
    );
    let mut sim = sim(&[WAITS], person);
    sim.event(event("Signed Up", 0, json!({ "plan": "free" })))
        .unwrap();
    assert!(path(&sim).is_empty(), "the filter keeps free plans out");

    sim.event(event("Signed Up", MINUTE, json!({ "plan": "pro" })))
        .unwrap();
    // 10:01Z + 2h = 12:01Z = 07:01 in New York: wait for 09:00 there (14:00Z).
    sim.advance_to(START + MINUTE + 2 * HOUR - 1);
    assert_eq!(path(&sim), ["-:entered", "pause:waiting"]);
    sim.advance_to(START + MINUTE + 2 * HOUR);
    assert_eq!(path(&sim).last().unwrap(), "morning:waiting");
    sim.advance_to(START + 4 * HOUR - 1);
    assert!(sim.messages().is_empty());
    sim.advance_to(START + 4 * HOUR);
    let messages = sim.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].at, START + 4 * HOUR);
    let Content::Email {
        to, subject, text, ..
    } = &messages[0].content
    else {
        panic!("an email")
    };
    assert_eq!(
        (to.as_str(), subject.as_str()),
        ("ada@example.com", "Hello Ada")
    );
    assert_eq!(text.as_deref(), Some("Plan pro"));

    // The awaited event within the timeout takes the on_event branch.
    sim.event(event("Email Opened", 5 * HOUR, json!({})))
        .unwrap();
    assert_eq!(sim.profile.traits["engaged"], json!(true));
    assert_eq!(sim.profile.traits["via"], json!("pro"));
    assert_eq!(last_exit(&sim, "waits"), Some(ExitReason::Completed));
    assert!(
        sim.timers.len() == 1,
        "the stale timeout stays armed but does nothing"
    );
    sim.run_out(START + 10 * DAY);
    assert_eq!(sim.messages().len(), 1);
}

#[test]
fn a_wait_for_times_out_and_the_same_customer_may_enter_again() {
    let mut sim = sim(
        &[WAITS],
        profile("prof_2", json!({ "email": "b@example.com" })),
    );
    sim.event(event("Signed Up", 0, json!({ "plan": "pro" })))
        .unwrap();
    sim.event(event("Signed Up", MINUTE, json!({ "plan": "pro" })))
        .unwrap();
    let entered = |sim: &percorso_journeys::Simulation| {
        path(sim).iter().filter(|p| p.ends_with("entered")).count()
    };
    assert_eq!(entered(&sim), 1, "one pass at a time");
    sim.run_out(START + 3 * DAY);
    assert_eq!(last_exit(&sim, "waits"), Some(ExitReason::Completed));
    assert!(
        !sim.profile.traits.contains_key("engaged"),
        "timed out: no update"
    );
    sim.event(event(
        "Signed Up",
        3 * DAY + MINUTE,
        json!({ "plan": "pro" }),
    ))
    .unwrap();
    assert_eq!(entered(&sim), 2);
}

const CHOICES: &str = r#"
name: choices
trigger: { api: true }
re_entry: one_at_a_time
start: route
steps:
  route:
    branch:
      - when: { segment: vip }
        next: vip
      - when: { all: [{ trait: orders, greater_than: 2 }, { event_property: properties.source, equals: app }] }
        next: loyal
    otherwise: test
  vip:
    emit: { event: VIP Routed, properties: { by: "{{ journey.name }}" } }
    next: end
  loyal:
    update_profile: { set: { tier: loyal } }
    next: end
  test:
    split:
      - { variant: A, weight: 1, next: end }
      - { variant: B, weight: 3, next: end }
  end:
    exit: true
"#;

#[test]
fn branches_read_segments_traits_and_the_triggering_event() {
    let mut vip = profile("prof_v", json!({}));
    vip.segments = vec!["vip".into()];
    let mut sim1 = sim(&[CHOICES], vip);
    sim1.enter("choices", json!({})).unwrap();
    assert_eq!(
        path(&sim1),
        [
            "-:entered",
            "route:branch 1",
            "vip:emitted VIP Routed",
            "end:exited Completed"
        ]
    );
    let emitted = sim1.actions.iter().find_map(|(_, a)| match a {
        Action::Emit {
            message_id,
            properties,
            ..
        } => Some((message_id.clone(), properties.clone())),
        _ => None,
    });
    let (id, properties) = emitted.unwrap();
    assert_eq!(properties, json!({ "by": "choices" }));
    assert_eq!(
        id, "choices.1.1.2.prof_v",
        "journey.version.entry.move.profile"
    );

    let mut loyal = profile("prof_l", json!({}));
    loyal.computed.insert("orders".into(), json!(3));
    let mut sim2 = sim(&[CHOICES], loyal.clone());
    sim2.enter("choices", json!({ "properties": { "source": "app" } }))
        .unwrap();
    assert_eq!(path(&sim2)[1], "route:branch 2");
    assert_eq!(sim2.profile.traits["tier"], json!("loyal"));

    let mut sim3 = sim(&[CHOICES], loyal);
    sim3.enter("choices", json!({ "properties": { "source": "web" } }))
        .unwrap();
    assert_eq!(path(&sim3)[1], "route:otherwise");
}

#[test]
fn splits_are_sticky_per_customer_and_follow_the_weights() {
    let variant = |id: &str| {
        let mut sim = sim(&[CHOICES], profile(id, json!({})));
        let mut seen = Vec::new();
        for pass in 0..3 {
            sim.advance_to(START + pass * DAY);
            sim.enter("choices", json!({})).unwrap();
            seen.push(
                path(&sim)
                    .into_iter()
                    .rfind(|p| p.contains("variant"))
                    .unwrap(),
            );
        }
        assert!(
            seen.windows(2).all(|w| w[0] == w[1]),
            "{id} changed variant: {seen:?}"
        );
        seen.pop().unwrap()
    };
    let b = (0..2_000)
        .filter(|i| variant(&format!("prof_{i}")).ends_with('B'))
        .count();
    // Weight 3 of 4: about 1,500 of 2,000 (binomial sd ~19).
    assert!((1_400..1_600).contains(&b), "{b} of 2000 in B");
}

#[test]
fn re_entry_rules_once_and_cool_down() {
    let once = CHOICES.replace("re_entry: one_at_a_time", "re_entry: once");
    let mut sim1 = sim(&[&once], profile("p", json!({})));
    sim1.enter("choices", json!({})).unwrap();
    let refused = sim1.enter("choices", json!({})).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "re-entry is once: already entered before"
    );

    let cool = CHOICES.replace("re_entry: one_at_a_time", "re_entry: { after: 2d }");
    let mut sim2 = sim(&[&cool], profile("p", json!({})));
    sim2.enter("choices", json!({})).unwrap();
    sim2.advance_to(START + 2 * DAY - 1);
    assert!(sim2.enter("choices", json!({})).is_err());
    sim2.advance_to(START + 2 * DAY);
    sim2.enter("choices", json!({})).unwrap();
}

const SEGMENTS: &str = r#"
name: lapsed
trigger: { segment_exited: active }
entry_when: { not: { trait: do_not_disturb, equals: true } }
goal: { event: Order Completed }
exit_when: [{ segment_entered: active }]
re_entry: one_at_a_time
start: wait
steps:
  wait:
    wait: 3d
    next: nudge
  nudge:
    send: { channel: webhook, template: hook }
    next: end
  end:
    exit: true
templates:
  hook:
    url: "http://127.0.0.1:1/lapsed/{{ profile.id }}"
    headers: { X-Reason: "{{ event.properties.segment }}" }
    body: { profile: "{{ profile.id }}", segment: "{{ event.properties.segment }}" }
"#;

fn segment_event(name: &str, segment: &str, offset: i64) -> serde_json::Value {
    event(name, offset, json!({ "segment": segment, "generation": 1 }))
}

#[test]
fn segment_triggers_exit_criteria_goals_and_entry_conditions() {
    let mut sim1 = sim(&[SEGMENTS], profile("p1", json!({})));
    sim1.event(segment_event("Segment Exited", "other", 0))
        .unwrap();
    assert!(path(&sim1).is_empty());
    sim1.event(segment_event("Segment Exited", "active", 0))
        .unwrap();
    sim1.event(segment_event("Segment Entered", "active", DAY))
        .unwrap();
    assert_eq!(last_exit(&sim1, "lapsed"), Some(ExitReason::ExitCriterion));

    sim1.event(segment_event("Segment Exited", "active", 2 * DAY))
        .unwrap();
    sim1.event(event("Order Completed", 3 * DAY, json!({})))
        .unwrap();
    assert_eq!(last_exit(&sim1, "lapsed"), Some(ExitReason::Converted));

    sim1.event(segment_event("Segment Exited", "active", 4 * DAY))
        .unwrap();
    sim1.run_out(START + 10 * DAY);
    let messages = sim1.messages();
    assert_eq!(messages.len(), 1);
    let Content::Webhook {
        url,
        headers,
        body,
        method,
    } = &messages[0].content
    else {
        panic!("a webhook")
    };
    assert_eq!(
        (method.as_str(), url.as_str()),
        ("POST", "http://127.0.0.1:1/lapsed/p1")
    );
    assert_eq!(headers, &[("X-Reason".to_owned(), "active".to_owned())]);
    assert_eq!(body, &Some(json!({ "profile": "p1", "segment": "active" })));
    assert_eq!(messages[0].at, START + 7 * DAY);

    let mut sim2 = sim(
        &[SEGMENTS],
        profile("p2", json!({ "do_not_disturb": true })),
    );
    sim2.event(segment_event("Segment Exited", "active", 0))
        .unwrap();
    assert!(path(&sim2).is_empty(), "the entry condition keeps them out");
}
