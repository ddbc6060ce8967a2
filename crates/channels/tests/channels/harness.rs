//! Real receivers for the tests: aiosmtpd in a child process, and an HTTP
//! server on loopback that records every request and can be told to fail.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use percorso_channels::{Deliverer, Executor, Outcome, Report, RetryPolicy};
use percorso_journeys::{Content, Message};
use serde_json::Value;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// aiosmtpd listening on a free loopback port; every message it receives,
/// parsed by Python's `email` package, as JSON.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    pub received: Arc<Mutex<Vec<Value>>>,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    pub fn start() -> Self {
        let python = repo_root().join(".venv/bin/python");
        assert!(
            python.exists(),
            "run scripts/setup-test-env.sh first (no {})",
            python.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let port_file = dir.path().join("port");
        let mut child = Command::new(python)
            .arg(repo_root().join("tests/python/smtp_sink.py"))
            .arg(&port_file)
            .stdout(Stdio::piped())
            .spawn()
            .expect("aiosmtpd starts");
        let received = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let sink = received.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock()
                    .unwrap()
                    .push(serde_json::from_str(&line).unwrap());
            }
        });
        let started = Instant::now();
        let port = loop {
            if let Some(port) = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|p| p.trim().parse().ok())
            {
                break port;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Self {
            child,
            port,
            received,
            _dir: dir,
        }
    }

    /// Waits until `count` messages arrived (or 10 s passed), returns them.
    pub fn wait_for(&self, count: usize) -> Vec<Value> {
        wait_until(|| self.received.lock().unwrap().len() >= count);
        self.received.lock().unwrap().clone()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `done` (an outside process or server to catch up), at most 10 s.
pub fn wait_until(mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub status: u16,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP receiver on loopback: answers `status` (200 by default) after
/// failing the first `fail_next` requests with 503.
#[derive(Clone, Default)]
pub struct Receiver {
    pub requests: Arc<Mutex<Vec<Request>>>,
    pub fail_next: Arc<AtomicUsize>,
    pub status: Arc<AtomicU16>,
}

impl Receiver {
    pub async fn start() -> (Self, SocketAddr) {
        let receiver = Receiver::default();
        receiver.status.store(200, Ordering::SeqCst);
        let state = receiver.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: String| {
                let state = state.clone();
                async move {
                    let failing = state
                        .fail_next
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    let status = if failing {
                        503
                    } else {
                        state.status.load(Ordering::SeqCst)
                    };
                    state.requests.lock().unwrap().push(Request {
                        method: method.to_string(),
                        path: uri.path().to_owned(),
                        headers: headers
                            .iter()
                            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
                            .collect(),
                        body: serde_json::from_str(&body).unwrap_or(Value::Null),
                        status,
                    });
                    StatusCode::from_u16(status).unwrap()
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, address)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

/// Outcomes as reported: (message key, outcome).
pub type Outcomes = Arc<Mutex<Vec<(String, Outcome)>>>;

/// An executor whose outcomes are collected.
pub fn executor(deliverer: Deliverer, policy: RetryPolicy) -> (Executor, Outcomes) {
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let sink = outcomes.clone();
    let report: Report = Arc::new(move |message: &Message, outcome| {
        sink.lock().unwrap().push((message.key.clone(), outcome))
    });
    let executor = Executor::new(
        deliverer,
        policy,
        8,
        report,
        tokio::runtime::Handle::current(),
    );
    (executor, outcomes)
}

/// Waits (without blocking the runtime) until `count` outcomes are in.
pub async fn outcomes(collected: &Outcomes, count: usize) -> Vec<(String, Outcome)> {
    let started = Instant::now();
    while collected.lock().unwrap().len() < count && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    collected.lock().unwrap().clone()
}

pub fn message(key: &str, content: Content) -> Message {
    Message {
        key: key.to_owned(),
        journey: "test_journey".into(),
        version: 1,
        step: "send".into(),
        profile: "prof_1".into(),
        at: 0,
        content,
    }
}

/// Quick retries for tests.
pub fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base: Duration::from_millis(5),
        cap: Duration::from_millis(40),
    }
}
