//! Real receivers for end-to-end tests: aiosmtpd in a child process (from
//! the venv `scripts/setup-test-env.sh` makes), and an HTTP server on
//! loopback that records every request and can be told to fail.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::Value;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `start` for a receiver on its own runtime thread (for tests that
/// are not async themselves); the runtime lives as long as the value.
pub fn blocking<T>(start: impl std::future::Future<Output = T>) -> (T, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let value = runtime.block_on(start);
    (value, runtime)
}

/// aiosmtpd listening on a free loopback port; every message it receives,
/// parsed by Python's `email` package, as JSON.
#[derive(Debug)]
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
#[derive(Debug, Clone, Default)]
pub struct Receiver {
    pub requests: Arc<Mutex<Vec<Request>>>,
    pub fail_next: Arc<AtomicUsize>,
    pub status: Arc<AtomicU16>,
}

impl Receiver {
    /// Every accepted (2xx) request's `Idempotency-Key`, with how often.
    pub fn accepted_keys(&self) -> std::collections::BTreeMap<String, usize> {
        let mut keys = std::collections::BTreeMap::new();
        for request in self.requests() {
            if (200..300).contains(&request.status) {
                let key = request
                    .header("idempotency-key")
                    .unwrap_or_default()
                    .to_owned();
                *keys.entry(key).or_insert(0) += 1;
            }
        }
        keys
    }

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

/// Each document checked against a JSON Schema by the reference Python
/// `jsonschema` (tests/python/validate_schema.py): `null` if valid, else
/// the first error.
pub fn schema_verdicts(schema: &std::path::Path, documents: &[Value]) -> Vec<Value> {
    let python = repo_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup-test-env.sh",
        python.display()
    );
    let mut child = Command::new(python)
        .arg(repo_root().join("tests/python/validate_schema.py"))
        .arg(schema)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run python");
    let input = Value::from(documents.to_vec()).to_string();
    std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), input.as_bytes())
        .expect("write");
    drop(child.stdin.take());
    let output = child.wait_with_output().expect("python");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    serde_json::from_slice(&output.stdout).expect("verdicts")
}
