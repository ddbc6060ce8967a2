//! The generator's contract, checked from its JSONL output alone: valid
//! Segment messages, determinism, and realised truths that an independent
//! reading of the text reproduces exactly.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::sync::OnceLock;

use percorso_generator::{generate, GenerateSummary, GeneratorConfig};
use reading::{is_online, parse_and_validate, profiles, Message, CHANNELS};

#[path = "generator/reading.rs"]
mod reading;

const FUNNEL: [&str; 5] = [
    "Product Viewed",
    "Product Added",
    "Checkout Started",
    "Payment Info Entered",
    "Order Completed",
];
const EXPOSURES: [(&str, &str); 4] = [
    ("email", "Email Link Clicked"),
    ("sms", "SMS Link Clicked"),
    ("ads", "Ad Clicked"),
    ("social", "Social Post Clicked"),
];

fn config(profiles: u64, days: u32, seed: u64, threads: usize) -> GeneratorConfig {
    GeneratorConfig {
        threads,
        ..GeneratorConfig::new(profiles, days, seed)
    }
}

fn render(cfg: &GeneratorConfig) -> (Vec<u8>, GenerateSummary) {
    let mut out = Vec::new();
    let summary = generate(cfg, &mut out).expect("writing to a Vec cannot fail");
    (out, summary)
}

struct Dataset {
    cfg: GeneratorConfig,
    summary: GenerateSummary,
    messages: Vec<Message>,
}

/// One mid-sized output shared by the tests that read it.
fn dataset() -> &'static Dataset {
    static DATASET: OnceLock<Dataset> = OnceLock::new();
    DATASET.get_or_init(|| {
        let cfg = config(2_500, 30, 20_260_101, 2);
        let (bytes, summary) = render(&cfg);
        let text = String::from_utf8(bytes).expect("output is UTF-8");
        let start = cfg.start.as_millisecond();
        let end = start + i64::from(cfg.days) * 86_400_000;
        let mut message_ids = HashSet::new();
        let messages = text
            .lines()
            .enumerate()
            .map(|(n, line)| parse_and_validate(n + 1, line, start, end, &mut message_ids))
            .collect();
        Dataset {
            cfg,
            summary,
            messages,
        }
    })
}

#[test]
fn output_is_identical_for_one_and_four_threads() {
    let (one, one_summary) = render(&config(1_200, 30, 99, 1));
    let (four, four_summary) = render(&config(1_200, 30, 99, 4));
    assert!(!one.is_empty());
    assert!(one == four, "bytes differ between 1 and 4 threads");
    assert_eq!(
        serde_json::to_string(&one_summary).unwrap(),
        serde_json::to_string(&four_summary).unwrap()
    );
    assert_eq!(one_summary.bytes, one.len() as u64);
    assert_eq!(
        one_summary.events,
        one.iter().filter(|&&b| b == b'\n').count() as u64
    );
}

#[test]
fn different_seeds_give_different_output() {
    let (a, _) = render(&config(50, 30, 1, 2));
    let (b, _) = render(&config(50, 30, 2, 2));
    let first_line = |bytes: &[u8]| bytes.split(|&b| b == b'\n').next().unwrap().to_vec();
    assert_ne!(first_line(&a), first_line(&b));
    assert_ne!(a, b);
}

#[test]
fn every_line_is_a_valid_segment_message_and_all_channels_appear() {
    let data = dataset();
    assert_eq!(data.summary.events, data.messages.len() as u64);
    let per_profile = data.messages.len() as f64 / data.cfg.profiles as f64;
    assert!(
        (20.0..=60.0).contains(&per_profile),
        "{per_profile} events per profile"
    );
    let channels: HashSet<&str> = data.messages.iter().map(|m| m.channel.as_str()).collect();
    assert_eq!(channels.len(), CHANNELS.len(), "{channels:?}");
    let kinds: HashSet<&str> = data.messages.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds.len(), 6, "{kinds:?}");
}

#[test]
fn profiles_are_contiguous_and_match_the_profile_count() {
    let data = dataset();
    assert_eq!(profiles(&data.messages).len() as u64, data.cfg.profiles);
}

#[test]
fn identity_truths_are_reproduced_from_the_text() {
    let data = dataset();
    let truth = &data.summary.truths.identity;
    let (mut identified, mut anonymous_only, mut multi_device, mut with_alias) = (0, 0, 0, 0);
    for profile in profiles(&data.messages) {
        if profile.iter().all(|m| m.user_id.is_none()) {
            anonymous_only += 1;
            continue;
        }
        identified += 1;
        let devices: HashSet<&str> = profile
            .iter()
            .filter_map(|m| m.anonymous_id.as_deref())
            .collect();
        multi_device += u64::from(devices.len() >= 2);
        with_alias += u64::from(profile.iter().any(|m| m.kind == "alias"));
        // Browsing starts anonymous and is identified later.
        assert!(profile[0].user_id.is_none() && profile[0].anonymous_id.is_some());
    }
    assert_eq!(truth.realised_identified_profiles, identified);
    assert_eq!(truth.realised_anonymous_only_profiles, anonymous_only);
    assert_eq!(truth.realised_multi_device_profiles, multi_device);
    assert_eq!(truth.realised_profiles_with_alias, with_alias);
    let anonymous_share = anonymous_only as f64 / data.cfg.profiles as f64;
    assert!((anonymous_share - truth.planted_anonymous_only_share).abs() < 0.03);
    let multi_share = multi_device as f64 / identified as f64;
    assert_eq!(
        truth.realised_multi_device_share_of_identified,
        Some(multi_share)
    );
    assert!((multi_share - truth.planted_multi_device_share_of_identified).abs() < 0.04);
}

#[test]
fn funnel_counts_match_and_the_planted_step_has_the_lowest_rate() {
    let data = dataset();
    let mut reached = [0u64; 5];
    for profile in profiles(&data.messages) {
        let mut step = 0;
        for m in profile.iter().filter(|m| is_online(m)) {
            if step < FUNNEL.len() && m.event.as_deref() == Some(FUNNEL[step]) {
                step += 1;
            }
        }
        for count in &mut reached[..step] {
            *count += 1;
        }
    }
    let truth = &data.summary.truths.funnel;
    let reported: Vec<u64> = truth.steps.iter().map(|s| s.realised_profiles).collect();
    assert_eq!(reported, reached.to_vec());
    let rates: Vec<f64> = (1..5)
        .map(|k| reached[k] as f64 / reached[k - 1] as f64)
        .collect();
    let lowest = (0..4)
        .min_by(|&a, &b| rates[a].total_cmp(&rates[b]))
        .unwrap();
    assert_eq!(FUNNEL[lowest + 1], truth.drop_off_to, "rates {rates:?}");
    assert_eq!(FUNNEL[lowest], truth.drop_off_from);
    for (k, step) in truth.steps.iter().enumerate().skip(1) {
        let planted = step.planted_rate_from_previous.unwrap();
        assert!((rates[k - 1] - planted).abs() < 0.08, "step {k}: {rates:?}");
    }
}

#[test]
fn channel_effects_match_and_the_bystander_has_no_effect() {
    let data = dataset();
    let truth = &data.summary.truths.channel_effects;
    let mut counts = [[0u64; 4]; 4]; // exposed, exposed converted, unexposed, unexposed converted
    let mut converted_total = 0;
    for profile in profiles(&data.messages) {
        if profile.iter().all(|m| m.user_id.is_none()) {
            continue;
        }
        let converted = profile
            .iter()
            .any(|m| is_online(m) && m.event.as_deref() == Some("Order Completed"));
        converted_total += u64::from(converted);
        for (c, (_, exposure)) in EXPOSURES.iter().enumerate() {
            let exposed = profile.iter().any(|m| m.event.as_deref() == Some(exposure));
            let base = if exposed { 0 } else { 2 };
            counts[c][base] += 1;
            counts[c][base + 1] += u64::from(converted);
        }
    }
    assert_eq!(truth.realised_converted_profiles, converted_total);
    let mut ratios = HashMap::new();
    for (c, (name, _)) in EXPOSURES.iter().enumerate() {
        let reported = &truth.channels[c];
        assert_eq!(reported.channel, *name);
        let r = &reported.realised;
        assert_eq!(
            [
                r.exposed_profiles,
                r.exposed_converted,
                r.unexposed_profiles,
                r.unexposed_converted
            ],
            counts[c]
        );
        let ratio = (counts[c][1] as f64 / counts[c][0] as f64)
            / (counts[c][3] as f64 / counts[c][2] as f64);
        ratios.insert(*name, ratio);
    }
    assert_eq!(truth.bystander_channel, "social");
    assert!((0.7..1.35).contains(&ratios["social"]), "{ratios:?}");
    assert!(
        ratios["email"] > 1.25 && ratios["email"] > ratios["social"],
        "{ratios:?}"
    );
    assert!(ratios["ads"] > 1.1, "{ratios:?}");
}

#[test]
fn open_tickets_lower_nps_by_the_planted_amount() {
    let data = dataset();
    let mut nps = [(0u64, 0u64); 2]; // (responses, sum) without / with an open ticket
    let mut csat = [(0u64, 0u64); 2]; // after an unresolved / resolved call
    for profile in profiles(&data.messages) {
        let mut open = HashSet::new();
        let mut call_resolved = HashMap::new();
        for m in profile {
            match m.event.as_deref() {
                Some("Ticket Opened") => {
                    open.insert(m.ticket_id.clone().unwrap());
                }
                Some("Ticket Resolved") => {
                    open.remove(m.ticket_id.as_ref().unwrap());
                }
                Some("Call Ended") => {
                    call_resolved.insert(m.call_id.clone().unwrap(), m.resolved.unwrap());
                }
                Some("NPS Survey Answered") => {
                    let bucket = &mut nps[usize::from(!open.is_empty())];
                    bucket.0 += 1;
                    bucket.1 += m.score.unwrap();
                }
                Some("CSAT Survey Answered") => {
                    let resolved = call_resolved[m.call_id.as_ref().unwrap()];
                    let bucket = &mut csat[usize::from(resolved)];
                    bucket.0 += 1;
                    bucket.1 += m.score.unwrap();
                }
                _ => {}
            }
        }
    }
    let truth = &data.summary.truths.satisfaction;
    let pair = |g: &percorso_generator::ScoreGroup| (g.responses, g.score_sum);
    assert_eq!(pair(&truth.nps_without_open_ticket), nps[0]);
    assert_eq!(pair(&truth.nps_with_open_ticket), nps[1]);
    assert_eq!(pair(&truth.csat_after_unresolved_call), csat[0]);
    assert_eq!(pair(&truth.csat_after_resolved_call), csat[1]);
    assert!(
        nps[1].0 >= 50,
        "too few answers with an open ticket: {nps:?}"
    );
    let mean = |(n, sum): (u64, u64)| sum as f64 / n as f64;
    let difference = mean(nps[0]) - mean(nps[1]);
    let planted = f64::from(truth.nps_planted_open_ticket_penalty);
    assert!(
        (difference - planted).abs() < 0.6,
        "difference {difference}"
    );
    assert!(mean(csat[1]) > mean(csat[0]) + 1.5);
}

#[test]
fn short_and_empty_windows_work() {
    let cfg = config(300, 1, 5, 2);
    let (bytes, summary) = render(&cfg);
    let start = cfg.start.as_millisecond();
    let mut ids = HashSet::new();
    let messages: Vec<Message> = String::from_utf8(bytes)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(n, line)| parse_and_validate(n + 1, line, start, start + 86_400_000, &mut ids))
        .collect();
    assert_eq!(summary.events, messages.len() as u64);
    assert_eq!(profiles(&messages).len(), 300);

    let (bytes, summary) = render(&config(10, 0, 5, 2));
    assert!(bytes.is_empty() && summary.events == 0);
    let (bytes, summary) = render(&config(0, 30, 5, 2));
    assert!(bytes.is_empty() && summary.profiles == 0);
}

/// A writer that fails once it has taken `budget` bytes.
struct FailingWriter {
    budget: usize,
}

impl Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() > self.budget {
            return Err(io::Error::other("disk full"));
        }
        self.budget -= buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn write_errors_are_returned_without_hanging() {
    let result = generate(
        &config(3_000, 30, 1, 2),
        FailingWriter { budget: 1_000_000 },
    );
    let error = result.expect_err("the writer failed");
    assert_eq!(error.to_string(), "disk full");
}
