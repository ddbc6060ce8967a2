//! `parse_journey` refuses bad files and names every problem's place.

use percorso_journeys::parse_journey;

fn problems(yaml: &str) -> Vec<String> {
    match parse_journey(yaml) {
        Ok(_) => panic!("accepted:\n{yaml}"),
        Err(p) => p.0.iter().map(ToString::to_string).collect(),
    }
}

fn has(problems: &[String], wanted: &str) {
    assert!(
        problems.iter().any(|p| p.contains(wanted)),
        "no problem containing {wanted:?} in {problems:#?}"
    );
}

#[test]
fn every_problem_in_the_steps_is_reported_at_once() {
    let found = problems(
        r#"
name: broken
trigger: { event: Signed Up }
start: first
steps:
  first:
    wait: 3 fortnights
    next: second
  second:
    send: { channel: email, template: nowhere }
    next: third
  third:
    wait: 1h
    next: ghost
  fourth:
    exit: true
  fifth:
    emit: { event: Message Sent }
    next: fifth
templates: {}
"#,
    );
    has(&found, "steps.first.wait: not a duration");
    has(
        &found,
        r#"steps.second.send.template: missing template "nowhere""#,
    );
    has(&found, r#"steps.third.next: unknown step "ghost""#);
    has(
        &found,
        r#"steps.fifth.emit.event: "Message Sent" is an event Percorso itself records"#,
    );
    assert!(found.len() >= 3, "{found:#?}");
}

#[test]
fn graph_problems_name_unreachable_steps_and_loops_without_a_wait() {
    let found = problems(
        r#"
name: loops
trigger: { event: Signed Up }
start: a
steps:
  a:
    branch:
      - when: { trait: plan, equals: pro }
        next: b
    otherwise: c
  b:
    update_profile: { set: { seen: true } }
    next: a
  c:
    wait: 1d
    next: c
  orphan:
    exit: true
"#,
    );
    has(&found, "steps.orphan: unreachable");
    has(&found, "a loop with no wait step: a -> b -> a");
    assert!(
        !found.iter().any(|p| p.contains("steps.c:")),
        "a loop through a wait is fine: {found:#?}"
    );
}

#[test]
fn templates_must_fit_their_channel_and_compile() {
    let found = problems(
        r#"
name: templates
trigger: { api: true }
start: sms
steps:
  sms:
    send: { channel: sms, template: mail }
    next: hook
  hook:
    send: { channel: webhook, template: hook }
    next: end
  end:
    exit: true
templates:
  mail:
    subject: "Hi {{ profile.name }"
    text: fine
  hook:
    url: "http://x/{{ profile.id }}"
    method: TELEPORT
"#,
    );
    has(
        &found,
        "templates.mail.subject: not a valid Liquid template",
    );
    has(&found, "templates.hook.method: must be one of POST");
}

#[test]
fn top_level_settings_are_checked() {
    let found = problems(
        r#"
name: "has spaces"
trigger: { event: A, segment_entered: b }
re_entry: sometimes
holdout: 120
time_zone: Mars/Olympus
goal: { event: "" }
colour: blue
steps:
  only:
    exit: true
"#,
    );
    has(&found, "name: use 1-64 letters");
    has(
        &found,
        "trigger: needs exactly one of event, segment_entered, segment_exited, api",
    );
    has(&found, "re_entry: must be once, one_at_a_time");
    has(&found, "holdout: must be a number from 0 to 100");
    has(&found, r#"time_zone: unknown time zone "Mars/Olympus""#);
    has(&found, "goal.event: must be a non-empty string");
    has(&found, "colour: unknown key");
}

#[test]
fn conditions_and_waits_name_the_field() {
    let found = problems(
        r#"
name: fields
trigger: { event: A }
start: w
steps:
  w:
    wait_until: { time: "25:00", time_zone: customer }
    next: f
  f:
    wait_for: { event: B }
    on_event: b
    on_timeout: b
  b:
    branch:
      - when: { trait: plan, bigger_than: 3 }
        next: e
    otherwise: e
  e:
    exit: true
"#,
    );
    has(
        &found,
        "steps.w.wait_until.time: must be a time of day as HH:MM",
    );
    has(&found, "steps.f.wait_for: timeout is required");
    has(&found, "steps.b.branch[0].when.bigger_than: unknown key");
}

#[test]
fn schedule_triggers_check_their_cron_zone_and_segment() {
    let ok = "name: s\ntrigger: { schedule: { cron: \"0 9 * * MON-FRI\", time_zone: customer, segment: vips } }\nsteps:\n  end:\n    exit: true\n";
    assert!(parse_journey(ok).is_ok());
    let found = problems("name: s\ntrigger: { schedule: { cron: \"0 25 * * *\", time_zone: Moon/Base } }\nsteps:\n  end:\n    exit: true\n");
    has(&found, "trigger.schedule.cron: hour \"25\"");
    has(
        &found,
        "trigger.schedule.time_zone: unknown time zone \"Moon/Base\"",
    );
    has(&found, "trigger.schedule: segment is required");
}

#[test]
fn not_yaml_is_one_clear_problem() {
    let found = problems("name: [unclosed");
    assert_eq!(found.len(), 1);
    has(&found, "not valid YAML or JSON");
}

#[test]
fn the_shipped_examples_are_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/journeys");
    let mut checked = 0;
    for file in std::fs::read_dir(dir).unwrap() {
        let path = file.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if let Err(p) = parse_journey(&text) {
            panic!("{}:\n{p}", path.display());
        }
        checked += 1;
    }
    assert_eq!(checked, 4);
}
