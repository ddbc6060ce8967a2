//! Journeys in a real server: journey files deployed over the API, events
//! sent over the tracking API, emails received by a real SMTP server
//! (aiosmtpd) and webhooks by a real HTTP receiver — once each, also when
//! the server is killed with SIGKILL again and again.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use percorso_testkit::{blocking, Receiver, SmtpServer};
use serde_json::{json, Value};

use super::support::{default_write_key, get, runtime, Server, ADMIN_TOKEN};

const WELCOME: &str = r#"
name: welcome
trigger: { event: Signed Up }
steps:
  hello:
    send: { channel: email, template: hello }
    next: done
  done:
    exit: true
start: hello
templates:
  hello:
    subject: "Welcome, {{ profile.first_name | default: 'friend' }}"
    text: "Your plan: {{ event.properties.plan }}"
    html: "<p>Your plan: <b>{{ event.properties.plan }}</b></p>"
"#;

fn callback(url: &str) -> String {
    format!(
        r#"
name: callback
trigger: {{ event: Checkout Failed }}
re_entry: one_at_a_time
start: tell
steps:
  tell:
    send: {{ channel: webhook, template: hook }}
    next: done
  done:
    exit: true
templates:
  hook:
    url: "{url}/contact-centre"
    headers: {{ X-Source: percorso }}
    body: {{ user: "{{{{ event.userId }}}}", value: "{{{{ event.properties.value }}}}" }}
"#
    )
}

fn admin_post(server: &Server, path: &str, body: String) -> (u16, Value) {
    runtime().block_on(async {
        let response = reqwest::Client::new()
            .post(server.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}

/// The status an admin request without a body gets.
fn admin_status(server: &Server, method: reqwest::Method, path: &str) -> reqwest::StatusCode {
    runtime().block_on(async {
        let request = reqwest::Client::new().request(method, server.url(path));
        request
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .status()
    })
}

fn batch(server: &Server, key: &str, items: Vec<Value>) -> bool {
    runtime().block_on(async {
        reqwest::Client::new()
            .post(server.url("/v1/batch"))
            .basic_auth(key, Some(""))
            .json(&json!({ "batch": items }))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
}

/// Polls `done` for up to `seconds` (a real server to catch up).
fn eventually(seconds: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

/// A data directory with its configuration, beside a webhook receiver.
struct Fixture {
    receiver: Receiver,
    address: std::net::SocketAddr,
    _receiver_runtime: tokio::runtime::Runtime,
    data: std::path::PathBuf,
    config: std::path::PathBuf,
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(extra_config: &str) -> Self {
        let ((receiver, address), _receiver_runtime) = blocking(Receiver::start());
        let dir = tempfile::tempdir().unwrap();
        let (data, config) = (dir.path().join("data"), dir.path().join("percorso.toml"));
        write_config(&config, extra_config);
        Fixture {
            receiver,
            address,
            _receiver_runtime,
            data,
            config,
            dir,
        }
    }
}

/// A `Ping` from `user`; whether it was acknowledged.
fn ping(server: &Server, key: &str, user: &str) -> bool {
    batch(
        server,
        key,
        vec![json!({ "type": "track", "event": "Ping", "userId": user })],
    )
}

fn dead_letters(server: &Server) -> Vec<Value> {
    get(server, "/api/v1/dead-letters")["dead_letters"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn write_config(path: &Path, extra: &str) {
    std::fs::write(path, format!("[channels]\nretry_base = \"10ms\"\nretry_cap = \"200ms\"\nretry_attempts = 60\n{extra}")).unwrap();
}

#[test]
fn a_deployed_journey_sends_real_emails_and_webhooks_once_each() {
    let smtp = SmtpServer::start();
    let ((receiver, address), _receiver_runtime) = blocking(Receiver::start());
    let dir = tempfile::tempdir().unwrap();
    let (data, config) = (dir.path().join("data"), dir.path().join("percorso.toml"));
    let smtp_settings = format!("smtp_host = \"127.0.0.1\"\nsmtp_port = {}\nsmtp_security = \"none\"\nemail_from = \"Shop <news@shop.example>\"\n", smtp.port);
    write_config(&config, &smtp_settings);
    let server = Server::start_with_config(&data, &config);
    let key = default_write_key(&data);

    let (status, body) = admin_post(
        &server,
        "/api/v1/journeys",
        "name: broken\nsteps: {}\n".into(),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "invalid_journey");
    assert!(body["problems"].as_array().unwrap().len() >= 2, "{body}");
    for journey in [WELCOME.to_owned(), callback(&format!("http://{address}"))] {
        let (status, body) = admin_post(&server, "/api/v1/journeys", journey);
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["status"], "published");
    }
    let people = 10;
    let mut items = Vec::new();
    for i in 0..people {
        let user = format!("u{i}");
        items.push(json!({ "type": "identify", "userId": user, "traits": { "email": format!("p{i}@example.com"), "first_name": format!("Name{i}") } }));
        items.push(json!({ "type": "track", "userId": user, "event": "Signed Up", "properties": { "plan": "pro" } }));
        items.push(json!({ "type": "track", "userId": user, "event": "Checkout Failed", "properties": { "value": i * 10 } }));
    }
    assert!(batch(&server, &key, items));

    let mails = smtp.wait_for(people);
    assert!(eventually(20, || receiver.accepted_keys().len() == people));
    assert_eq!(mails.len(), people);
    let mut to: Vec<&str> = mails
        .iter()
        .map(|m| m["rcpt_tos"][0].as_str().unwrap())
        .collect();
    to.sort_unstable();
    let mut expected: Vec<String> = (0..people).map(|i| format!("p{i}@example.com")).collect();
    expected.sort();
    assert_eq!(to, expected);
    for mail in &mails {
        let n: String = mail["rcpt_tos"][0]
            .as_str()
            .unwrap()
            .trim_start_matches('p')
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        assert_eq!(mail["subject"], format!("Welcome, Name{n}"));
        assert_eq!(mail["text"].as_str().unwrap().trim_end(), "Your plan: pro");
        assert_eq!(
            mail["html"].as_str().unwrap().trim_end(),
            "<p>Your plan: <b>pro</b></p>"
        );
        let id = mail["message_id"].as_str().unwrap();
        assert!(
            id.starts_with("<welcome.1.1.1.prof_") && id.ends_with("@shop.example>"),
            "{id}"
        );
    }
    let requests = receiver.requests();
    assert!(requests
        .iter()
        .all(|r| r.header("x-source") == Some("percorso") && r.path == "/contact-centre"));
    let users: BTreeSet<String> = requests
        .iter()
        .map(|r| r.body["user"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(users.len(), people);
    assert_eq!(
        requests[0].body["value"]
            .as_str()
            .map(|v| v.parse::<u64>().is_ok()),
        Some(true)
    );

    // Each message's end is recorded: counters, and the outbox drains.
    assert!(eventually(20, || get(&server, "/api/v1/journeys/welcome")
        ["totals"]["delivered"]
        == people));
    let profile = get(&server, "/api/v1/profiles?user_id=u3");
    let id = profile["profile_id"].as_str().unwrap();
    let journeys = get(&server, &format!("/api/v1/profiles/{id}/journeys"));
    let path: Vec<&str> = journeys["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["what"].as_str().unwrap())
        .collect();
    assert!(
        path.contains(&"sent") && path.contains(&"exited"),
        "{path:?}"
    );
    assert!(eventually(20, || {
        let events = get(&server, &format!("/api/v1/profiles/{id}/events"));
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == "Message Sent")
            .count()
            == 2
    }));
    let metrics = runtime().block_on(async {
        reqwest::get(server.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    for line in [
        format!("percorso_journey_customers{{journey=\"welcome\",step=\"hello\",what=\"delivered\"}} {people}"),
        format!("percorso_journey_customers{{journey=\"callback\",step=\"\",what=\"entered\"}} {people}"),
    ] {
        assert!(metrics.lines().any(|l| l == line), "no {line} in\n{metrics}");
    }
    // Nothing is sent twice once recorded.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(smtp.received.lock().unwrap().len(), people);
    assert_eq!(receiver.accepted_keys().values().sum::<usize>(), people);
}

const PING: &str = r#"
name: ping
trigger: { event: Ping }
re_entry: once
start: tell
steps:
  tell:
    send: { channel: webhook, template: hook }
    next: done
  done:
    exit: true
templates:
  hook:
    url: "URL/ping"
    body: { user: "{{ event.userId }}" }
"#;

const MAIL: &str = r#"
name: mail
trigger: { event: Ping }
start: tell
steps:
  tell:
    send: { channel: email, template: note }
    next: done
  done:
    exit: true
templates:
  note:
    to: "{{ event.userId }}@example.com"
    subject: "Ping received"
    text: "Hello {{ event.userId }}"
"#;

/// Sends a Ping for new people until the server dies; returns the users
/// whose Ping was acknowledged and those sent at all.
fn ping_until_killed(
    server: &Server,
    key: &str,
    round: u64,
    acked: Arc<Mutex<Vec<String>>>,
    sent: Arc<Mutex<Vec<String>>>,
) -> std::thread::JoinHandle<()> {
    let (url, key) = (server.url("/v1/batch"), key.to_owned());
    std::thread::spawn(move || {
        runtime().block_on(async move {
            let client = reqwest::Client::new();
            for n in 0u64.. {
                let users: Vec<String> = (0..20).map(|i| format!("r{round}-n{n}-u{i}")).collect();
                sent.lock().unwrap().extend(users.iter().cloned());
                let batch: Vec<Value> = users
                    .iter()
                    .map(|u| json!({ "type": "track", "event": "Ping", "userId": u }))
                    .collect();
                let answer = client
                    .post(&url)
                    .basic_auth(&key, Some(""))
                    .json(&json!({ "batch": batch }))
                    .send()
                    .await;
                if !answer.is_ok_and(|r| r.status().is_success()) {
                    return;
                }
                acked.lock().unwrap().extend(users);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
    })
}

#[test]
fn every_message_is_delivered_once_across_kill_9() {
    let ((receiver, address), _receiver_runtime) = blocking(Receiver::start());
    // The receiver is down for a while too: retries overlap the kills.
    receiver.fail_next.store(40, Ordering::SeqCst);
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let (data, config) = (dir.path().join("data"), dir.path().join("percorso.toml"));
    let settings = format!(
        "smtp_host = \"127.0.0.1\"\nsmtp_port = {}\nsmtp_security = \"none\"\nemail_from = \"Shop <news@shop.example>\"\n\n[engine]\ncache_profiles = 100\ncheckpoint_interval = \"50ms\"\n",
        smtp.port
    );
    write_config(&config, &settings);
    let acked = Arc::new(Mutex::new(Vec::new()));
    let sent = Arc::new(Mutex::new(Vec::new()));
    for round in 0..3u64 {
        let server = Server::start_with_config(&data, &config);
        let key = default_write_key(&data);
        if round == 0 {
            // A wait first: passes are mid-journey, timers armed, at each kill.
            let journey = PING
                .replace("start: tell", "start: later")
                .replace(
                    "steps:\n",
                    "steps:\n  later:\n    wait: 1s\n    next: tell\n",
                )
                .replace("URL", &format!("http://{address}"));
            let (status, body) = admin_post(&server, "/api/v1/journeys", journey);
            assert_eq!(status, 201, "{body}");
            assert_eq!(admin_post(&server, "/api/v1/journeys", MAIL.into()).0, 201);
        }
        let sender = ping_until_killed(&server, &key, round, acked.clone(), sent.clone());
        std::thread::sleep(Duration::from_millis(700 + 300 * round));
        server.kill9();
        sender.join().unwrap();
    }
    let server = Server::start_with_config(&data, &config);
    let acked: BTreeSet<String> = acked.lock().unwrap().iter().cloned().collect();
    let sent: BTreeSet<String> = sent.lock().unwrap().iter().cloned().collect();
    assert!(
        acked.len() >= 100,
        "only {} pings acknowledged",
        acked.len()
    );
    let per_user = || {
        let mut keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for request in receiver.requests().iter().filter(|r| r.status == 200) {
            let user = request.body["user"].as_str().unwrap_or_default().to_owned();
            keys.entry(user)
                .or_default()
                .insert(request.header("idempotency-key").unwrap().to_owned());
        }
        keys
    };
    let delivered = eventually(90, || {
        let keys = per_user();
        acked.iter().all(|u| keys.contains_key(u))
    });
    let keys = per_user();
    let missing: Vec<&String> = acked.iter().filter(|u| !keys.contains_key(*u)).collect();
    assert!(
        delivered,
        "{} acknowledged people got no message, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    // Exactly one message (one key) per person, and only to people pinged.
    for (user, user_keys) in &keys {
        assert!(
            sent.contains(user),
            "a message to {user}, who was never pinged"
        );
        assert_eq!(user_keys.len(), 1, "{user} got {user_keys:?}");
    }
    let accepted: usize = receiver.accepted_keys().values().sum();
    let duplicates = accepted - keys.len();
    eprintln!(
        "kill -9 x3: {} people acknowledged, {} messages, {} repeats dropped by idempotency key, {} refused attempts",
        acked.len(),
        keys.len(),
        duplicates,
        receiver.requests().iter().filter(|r| r.status == 503).count()
    );
    // The same for email, counted by Message-ID at a real SMTP server.
    let per_recipient = || {
        let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for mail in smtp.received.lock().unwrap().iter() {
            let to = mail["rcpt_tos"][0]
                .as_str()
                .unwrap_or_default()
                .trim_end_matches("@example.com")
                .to_owned();
            ids.entry(to)
                .or_default()
                .insert(mail["message_id"].as_str().unwrap_or_default().to_owned());
        }
        ids
    };
    let mailed = eventually(120, || {
        let ids = per_recipient();
        acked.iter().all(|u| ids.contains_key(u))
    });
    let ids = per_recipient();
    assert!(
        mailed,
        "{} acknowledged people got no email",
        acked.iter().filter(|u| !ids.contains_key(*u)).count()
    );
    for (user, user_ids) in &ids {
        assert!(
            sent.contains(user),
            "an email to {user}, who was never pinged"
        );
        assert_eq!(user_ids.len(), 1, "{user} got {user_ids:?}");
    }
    let mails = smtp.received.lock().unwrap().len();
    eprintln!(
        "  emails: {} people, {} Message-IDs, {} repeats of a Message-ID",
        ids.len(),
        ids.len(),
        mails - ids.len()
    );
    // Nobody is stuck: everyone who entered has left, nothing waits.
    assert!(
        eventually(30, || {
            let totals = get(&server, "/api/v1/journeys/ping")["totals"].clone();
            let mail = get(&server, "/api/v1/journeys/mail")["totals"].clone();
            totals["entered"] == totals["exited"]
                && totals["entered"].as_u64() == Some(keys.len() as u64)
                && totals["delivered"].as_u64() == Some(keys.len() as u64)
                && mail["delivered"].as_u64() == Some(ids.len() as u64)
                && mail["entered"] == mail["exited"]
        }),
        "{}",
        get(&server, "/api/v1/journeys/ping")
    );
}

fn cli(server: &Server, args: &[&str]) -> std::process::Output {
    super::support::percorso()
        .arg("journeys")
        .args(args)
        .args(["--url", &server.base, "--admin-token", ADMIN_TOKEN])
        .output()
        .unwrap()
}

#[test]
fn the_cli_deploys_pauses_enters_and_shows_a_journey() {
    let fixture = Fixture::new("");
    let (receiver, address) = (&fixture.receiver, fixture.address);
    let (data, config) = (&fixture.data, &fixture.config);
    let server = Server::start_with_config(data, config);
    let file = fixture.dir.path().join("ping.yaml");
    std::fs::write(
        &file,
        PING.replace("trigger: { event: Ping }", "trigger: { api: true }")
            .replace("URL", &format!("http://{address}")),
    )
    .unwrap();
    let bad = fixture.dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "name: bad\ntrigger: { event: X }\nstart: a\nsteps:\n  a:\n    wait: soon\n    next: b\n",
    )
    .unwrap();

    let refused = cli(&server, &["deploy", bad.to_str().unwrap()]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stdout);
    assert!(
        said.contains("bad.yaml:6: steps.a.wait: not a duration"),
        "{said}"
    );
    assert!(
        said.contains("bad.yaml:7: steps.a.next: unknown step \"b\""),
        "{said}"
    );

    let deployed = cli(&server, &["deploy", file.to_str().unwrap(), "--draft"]);
    assert!(
        deployed.status.success(),
        "{}",
        String::from_utf8_lossy(&deployed.stderr)
    );
    assert!(String::from_utf8_lossy(&deployed.stdout)
        .contains("deployed journey 'ping' version 1 (draft)"));
    let key = default_write_key(data);
    assert!(batch(
        &server,
        &key,
        vec![
            json!({ "type": "identify", "userId": "ada", "traits": { "email": "ada@example.com" } })
        ]
    ));

    let early = cli(
        &server,
        &["enter", "ping", "--who", "email=ada@example.com"],
    );
    assert!(!early.status.success(), "a draft takes no entries");
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("draft, not published"),
        "{}",
        String::from_utf8_lossy(&early.stderr)
    );
    assert!(cli(&server, &["publish", "ping"]).status.success());
    let entered = cli(
        &server,
        &[
            "enter",
            "ping",
            "--who",
            "email=ada@example.com",
            "--context",
            r#"{"reason":"test"}"#,
        ],
    );
    assert!(
        entered.status.success(),
        "{}",
        String::from_utf8_lossy(&entered.stderr)
    );
    assert!(eventually(20, || receiver.accepted_keys().len() == 1));
    assert_eq!(receiver.requests()[0].body["user"], "ada");

    let again = cli(
        &server,
        &["enter", "ping", "--who", "email=ada@example.com"],
    );
    assert!(!again.status.success());
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains("cannot enter 'ping': re-entry is once"),
        "{said}"
    );
    let paused = cli(&server, &["pause", "ping"]);
    assert!(String::from_utf8_lossy(&paused.stdout).contains("journey 'ping' is paused"));
    let listed = String::from_utf8_lossy(&cli(&server, &["list"]).stdout).to_string();
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("ping") && l.contains("paused")),
        "{listed}"
    );
    let profile = get(&server, "/api/v1/profiles?user_id=ada")["profile_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = String::from_utf8_lossy(&cli(&server, &["path", &profile]).stdout).to_string();
    assert!(
        path.contains("ping v1 #1") && path.contains("sent") && path.contains("exited"),
        "{path}"
    );
    assert!(eventually(20, || String::from_utf8_lossy(
        &cli(&server, &["show", "ping"]).stdout
    )
    .lines()
    .any(
        |l| l.starts_with("tell") && l.split_whitespace().nth(6) == Some("1")
    )));
}

/// Erasing a person takes their journey data too: dead letters (which hold
/// the rendered message), armed timers and the pass in progress.
#[test]
fn erasing_a_person_removes_their_dead_letters_and_timers() {
    let fixture = Fixture::new("");
    let (receiver, address) = (&fixture.receiver, fixture.address);
    let (data, config) = (&fixture.data, &fixture.config);
    receiver.status.store(422, Ordering::SeqCst);
    let server = Server::start_with_config(data, config);
    let hook = PING.replace("URL", &format!("http://{address}"));
    let slow = "name: slow\ntrigger: { event: Ping }\nstart: pause\nsteps:\n  pause:\n    wait: 1h\n    next: done\n  done:\n    exit: true\n";
    for journey in [hook, slow.to_owned()] {
        assert_eq!(admin_post(&server, "/api/v1/journeys", journey).0, 201);
    }
    let key = default_write_key(data);
    assert!(ping(&server, &key, "eve"));
    assert!(eventually(20, || dead_letters(&server).len() == 1));
    let id = get(&server, "/api/v1/profiles?user_id=eve")["profile_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        get(&server, &format!("/api/v1/profiles/{id}/journeys"))["journeys"]["journeys"]["slow"]
            ["active"]["step"],
        "pause"
    );
    let erased = admin_status(
        &server,
        reqwest::Method::DELETE,
        &format!("/api/v1/profiles/{id}"),
    );
    assert!(erased.is_success(), "{erased}");
    assert_eq!(
        get(&server, "/api/v1/dead-letters")["dead_letters"],
        json!([])
    );
    // A restart replays nothing of theirs back.
    assert!(server.terminate(Duration::from_secs(10)));
    let server = Server::start_with_config(data, config);
    assert_eq!(
        get(&server, "/api/v1/dead-letters")["dead_letters"],
        json!([])
    );
    let status = admin_status(
        &server,
        reqwest::Method::GET,
        &format!("/api/v1/profiles/{id}/journeys"),
    );
    assert_eq!(status, 404);
}

/// A timer that came due while the server was down fires when it is back,
/// and the message goes out once.
#[test]
fn a_timer_due_while_the_server_was_down_fires_after_the_restart() {
    let fixture = Fixture::new("");
    let (receiver, address) = (&fixture.receiver, fixture.address);
    let (data, config) = (&fixture.data, &fixture.config);
    let server = Server::start_with_config(data, config);
    let later = PING
        .replace("start: tell", "start: later")
        .replace(
            "steps:\n",
            "steps:\n  later:\n    wait: 2s\n    next: tell\n",
        )
        .replace("URL", &format!("http://{address}"));
    assert_eq!(admin_post(&server, "/api/v1/journeys", later).0, 201);
    let key = default_write_key(data);
    assert!(ping(&server, &key, "tim"));
    let id = get(&server, "/api/v1/profiles?user_id=tim")["profile_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pass = get(&server, &format!("/api/v1/profiles/{id}/journeys"));
    assert_eq!(
        pass["journeys"]["journeys"]["ping"]["active"]["step"],
        "later"
    );
    server.kill9();
    // Down past the timer's due time.
    std::thread::sleep(Duration::from_millis(2_500));
    assert!(receiver.requests().is_empty());
    let server = Server::start_with_config(data, config);
    assert!(
        eventually(20, || receiver.accepted_keys().len() == 1),
        "the timer never fired"
    );
    assert!(eventually(20, || get(&server, "/api/v1/journeys/ping")
        ["totals"]["delivered"]
        == 1));
    assert_eq!(receiver.requests().len(), 1, "sent once");
    assert_eq!(receiver.requests()[0].body["user"], "tim");
}

/// `simulate --recorded` replays a real customer's recorded events through
/// a journey file on a virtual clock, sending nothing.
#[test]
fn a_recorded_customer_is_simulated_without_sending() {
    let dir = tempfile::tempdir().unwrap();
    let (data, config) = (dir.path().join("data"), dir.path().join("percorso.toml"));
    write_config(&config, "");
    let server = Server::start_with_config(&data, &config);
    let key = default_write_key(&data);
    assert!(batch(
        &server,
        &key,
        vec![
            json!({ "type": "identify", "userId": "sam", "traits": { "email": "sam@example.com" } }),
            json!({ "type": "track", "userId": "sam", "event": "Payment Info Entered", "timestamp": "2026-03-01T10:00:00Z", "properties": { "value": 75 } }),
            json!({ "type": "track", "userId": "sam", "event": "Call Started", "timestamp": "2026-03-01T10:40:00Z" }),
        ]
    ));
    let id = get(&server, "/api/v1/profiles?user_id=sam")["profile_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let example =
        super::support::repo_root().join("examples/journeys/failed_checkout_callback.yaml");
    let output = cli(
        &server,
        &["simulate", example.to_str().unwrap(), "--recorded", &id],
    );
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        said.contains("2026-03-01T10:15:00.000Z  failed_checkout_callback v1 #1  wait_for_call"),
        "{said}"
    );
    assert!(
        said.contains("2026-03-01T10:40:00.000Z  failed_checkout_callback v1  tell_contact_centre"),
        "{said}"
    );
    assert!(
        said.contains("SEND webhook POST http://127.0.0.1:9000/contact-centre/priority"),
        "{said}"
    );
    assert!(said.contains("1 message(s) would be sent"), "{said}");
}

/// A dead letter can be inspected and sent again once the receiver
/// accepts it; it then arrives once, with its original key.
#[test]
fn a_dead_letter_is_sent_again_on_request() {
    let fixture = Fixture::new("");
    let (receiver, address) = (&fixture.receiver, fixture.address);
    let (data, config) = (&fixture.data, &fixture.config);
    receiver.status.store(422, Ordering::SeqCst);
    let server = Server::start_with_config(data, config);
    let hook = PING.replace("URL", &format!("http://{address}"));
    assert_eq!(admin_post(&server, "/api/v1/journeys", hook).0, 201);
    let key = default_write_key(data);
    assert!(ping(&server, &key, "dee"));
    assert!(eventually(20, || dead_letters(&server).len() == 1));
    let letter = get(&server, "/api/v1/dead-letters")["dead_letters"][0].clone();
    assert!(
        letter["reason"].as_str().unwrap().contains("422"),
        "{letter}"
    );
    assert_eq!(letter["attempts"], 1, "a 422 is not retried");
    let message_key = letter["item"]["key"].as_str().unwrap().to_owned();
    let listed = String::from_utf8_lossy(&cli(&server, &["dead-letters"]).stdout).to_string();
    assert!(
        listed.contains(&message_key) && listed.contains("422"),
        "{listed}"
    );

    receiver.status.store(200, Ordering::SeqCst);
    let retried = cli(&server, &["retry", &message_key]);
    assert!(
        retried.status.success(),
        "{}",
        String::from_utf8_lossy(&retried.stderr)
    );
    assert!(eventually(20, || receiver
        .accepted_keys()
        .get(&message_key)
        == Some(&1)));
    assert!(eventually(20, || get(&server, "/api/v1/journeys/ping")
        ["totals"]["delivered"]
        == 1));
    assert_eq!(
        get(&server, "/api/v1/dead-letters")["dead_letters"],
        json!([])
    );
    assert_eq!(
        get(&server, "/api/v1/journeys/ping")["totals"]["dead_lettered"],
        1
    );
}
