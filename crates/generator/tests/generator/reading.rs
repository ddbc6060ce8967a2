//! Reading the generator's JSONL back: validating each line as a Segment
//! message, and regrouping messages into profiles by identity links alone.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

pub const CHANNELS: [&str; 8] = [
    "web",
    "app",
    "email",
    "sms",
    "ads",
    "social",
    "call_centre",
    "store",
];

/// What the checks need from one line, kept small so the parsed `Value`
/// can be dropped.
#[derive(Debug)]
pub struct Message {
    pub kind: String,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub previous_id: Option<String>,
    pub event: Option<String>,
    pub channel: String,
    pub at_ms: i64,
    pub ticket_id: Option<String>,
    pub call_id: Option<String>,
    pub score: Option<u64>,
    pub resolved: Option<bool>,
}

fn str_at(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Checks one line against the Segment spec and our channel conventions.
pub fn parse_and_validate(
    line_no: usize,
    line: &str,
    start: i64,
    end: i64,
    message_ids: &mut HashSet<String>,
) -> Message {
    let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("line {line_no}: {e}"));
    let at = |what: &str| format!("line {line_no}: {what}: {line}");
    let kind = str_at(&v, "/type").expect("type");
    assert!(
        ["track", "identify", "page", "screen", "alias", "group"].contains(&kind.as_str()),
        "{}",
        at("type")
    );

    let message_id = str_at(&v, "/messageId").unwrap_or_default();
    assert!(is_uuid(&message_id), "{}", at("messageId is a UUID"));
    assert!(
        message_ids.insert(message_id),
        "{}",
        at("messageId is unique")
    );

    let timestamp = str_at(&v, "/timestamp").unwrap_or_default();
    let b = timestamp.as_bytes();
    assert!(
        b.len() == 24 && b[10] == b'T' && b[19] == b'.' && b[23] == b'Z',
        "{}",
        at("timestamp is ISO-8601 UTC with milliseconds")
    );
    let at_ms = timestamp
        .parse::<jiff::Timestamp>()
        .unwrap_or_else(|e| panic!("{}: {e}", at("timestamp parses")))
        .as_millisecond();
    assert!(
        (start..end).contains(&at_ms),
        "{}",
        at("timestamp in window")
    );

    let user_id = str_at(&v, "/userId");
    let anonymous_id = str_at(&v, "/anonymousId");
    assert!(
        user_id.is_some() || anonymous_id.is_some(),
        "{}",
        at("userId or anonymousId")
    );
    let event = str_at(&v, "/event");
    match kind.as_str() {
        "track" => assert!(
            event.as_deref().is_some_and(|e| !e.is_empty()),
            "{}",
            at("event")
        ),
        "page" | "screen" => assert!(str_at(&v, "/name").is_some(), "{}", at("name")),
        "identify" => {
            assert!(user_id.is_some(), "{}", at("identify has userId"));
            for t in [
                "email",
                "phone",
                "firstName",
                "lastName",
                "timezone",
                "country",
            ] {
                assert!(str_at(&v, &format!("/traits/{t}")).is_some(), "{}", at(t));
            }
            let zone = str_at(&v, "/traits/timezone").unwrap_or_default();
            assert!(
                jiff::tz::TimeZone::get(&zone).is_ok(),
                "{}",
                at("IANA zone")
            );
            let created = str_at(&v, "/traits/createdAt").unwrap_or_default();
            assert!(
                created.parse::<jiff::Timestamp>().is_ok(),
                "{}",
                at("createdAt")
            );
        }
        "alias" => {
            assert!(user_id.is_some(), "{}", at("alias has userId"));
            assert!(str_at(&v, "/previousId").is_some(), "{}", at("previousId"));
        }
        "group" => assert!(str_at(&v, "/groupId").is_some(), "{}", at("groupId")),
        _ => unreachable!(),
    }

    let channel = str_at(&v, "/context/channel").unwrap_or_default();
    assert!(
        CHANNELS.contains(&channel.as_str()),
        "{}",
        at("context.channel")
    );
    assert!(
        str_at(&v, "/context/timezone").is_some(),
        "{}",
        at("context.timezone")
    );
    let context = |p: &str| v.pointer(&format!("/context/{p}")).is_some();
    match channel.as_str() {
        "web" => {
            assert!(
                context("userAgent") && context("ip"),
                "{}",
                at("web device")
            );
            assert!(anonymous_id.is_some(), "{}", at("web has anonymousId"));
            if kind == "track" {
                assert!(context("page/url"), "{}", at("web track has context.page"));
            }
        }
        "app" => {
            assert!(
                context("device/id") && context("os/name"),
                "{}",
                at("app device")
            );
            assert!(anonymous_id.is_some(), "{}", at("app has anonymousId"));
        }
        "store" => {
            assert_eq!(
                event.as_deref(),
                Some("Order Completed"),
                "{}",
                at("store event")
            );
            assert!(anonymous_id.is_none(), "{}", at("store has no anonymousId"));
            assert_eq!(
                str_at(&v, "/context/externalIds/0/type").as_deref(),
                Some("loyalty_card"),
                "{}",
                at("loyalty card")
            );
        }
        "call_centre" => assert_eq!(
            str_at(&v, "/context/externalIds/0/type").as_deref(),
            Some("phone"),
            "{}",
            at("phone external id")
        ),
        _ => {}
    }
    let is_touch = matches!(
        event.as_deref(),
        Some(
            "Email Sent"
                | "Email Opened"
                | "Email Link Clicked"
                | "SMS Sent"
                | "SMS Link Clicked"
                | "Ad Clicked"
                | "Social Post Clicked"
        )
    );
    if is_touch {
        for utm in ["name", "source", "medium"] {
            assert!(context(&format!("campaign/{utm}")), "{}", at("campaign"));
        }
    }
    if event.as_deref() == Some("Order Completed") {
        for p in ["order_id", "revenue", "currency", "products"] {
            assert!(
                v.pointer(&format!("/properties/{p}")).is_some(),
                "{}",
                at(p)
            );
        }
    }
    let score = v.pointer("/properties/score").and_then(Value::as_u64);
    match event.as_deref() {
        Some("NPS Survey Answered") => {
            assert!(score.is_some_and(|s| s <= 10), "{}", at("NPS 0-10"))
        }
        Some("CSAT Survey Answered") => {
            assert!(
                score.is_some_and(|s| (1..=5).contains(&s)),
                "{}",
                at("CSAT 1-5")
            )
        }
        _ => {}
    }

    Message {
        kind,
        user_id,
        anonymous_id,
        previous_id: str_at(&v, "/previousId"),
        event,
        channel,
        at_ms,
        ticket_id: str_at(&v, "/properties/ticket_id"),
        call_id: str_at(&v, "/properties/call_id"),
        score,
        resolved: v.pointer("/properties/resolved").and_then(Value::as_bool),
    }
}

/// Union-find over ids that appear on the same message.
#[derive(Default)]
struct IdGraph {
    index: HashMap<String, usize>,
    parent: Vec<usize>,
}

impl IdGraph {
    fn node(&mut self, id: &str) -> usize {
        if let Some(&n) = self.index.get(id) {
            return n;
        }
        let n = self.parent.len();
        self.parent.push(n);
        self.index.insert(id.to_owned(), n);
        n
    }

    fn root(&mut self, mut n: usize) -> usize {
        while self.parent[n] != n {
            self.parent[n] = self.parent[self.parent[n]];
            n = self.parent[n];
        }
        n
    }

    fn join(&mut self, a: usize, b: usize) {
        let (a, b) = (self.root(a), self.root(b));
        self.parent[a] = b;
    }
}

/// Splits messages into profiles by identity links, asserting that every
/// profile's messages are contiguous and in time order.
pub fn profiles(messages: &[Message]) -> Vec<&[Message]> {
    let mut graph = IdGraph::default();
    let first_node: Vec<usize> = messages
        .iter()
        .map(|m| {
            let ids = [&m.user_id, &m.anonymous_id, &m.previous_id];
            let nodes: Vec<usize> = ids
                .iter()
                .filter_map(|id| id.as_deref())
                .map(|id| graph.node(id))
                .collect();
            for pair in nodes.windows(2) {
                graph.join(pair[0], pair[1]);
            }
            nodes[0]
        })
        .collect();
    let roots: Vec<usize> = first_node.iter().map(|&n| graph.root(n)).collect();
    let mut seen = HashSet::new();
    let mut groups = Vec::new();
    let mut begin = 0;
    for i in 1..=messages.len() {
        if i == messages.len() || roots[i] != roots[begin] {
            assert!(
                seen.insert(roots[begin]),
                "profile at line {} is not contiguous",
                begin + 1
            );
            let group = &messages[begin..i];
            assert!(
                group.windows(2).all(|w| w[0].at_ms <= w[1].at_ms),
                "timestamps decrease within the profile at line {}",
                begin + 1
            );
            groups.push(group);
            begin = i;
        }
    }
    groups
}

pub fn is_online(m: &Message) -> bool {
    m.channel == "web" || m.channel == "app"
}
