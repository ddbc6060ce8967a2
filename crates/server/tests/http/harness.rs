//! One app per test: a temporary data directory, a manual clock, a source
//! named `web`, and requests sent straight into the router (no socket).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use base64::Engine;
use percorso_collect::{CollectConfig, Collector, DataDir, Source, SourceRegistry};
use percorso_core::{parse_timestamp_millis, Clock, ManualClock};
use percorso_engine::Engine as ProfileEngine;
use percorso_log::{LogOptions, OpenMode};
use percorso_server::{AppState, Limits};
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt;

pub const ADMIN_TOKEN: &str = "test-admin-token";

pub const DAY: i64 = 86_400_000;

/// The server's clock at the start of every test.
pub const T0: &str = "2026-01-01T12:00:00Z";

pub fn millis(timestamp: &str) -> i64 {
    parse_timestamp_millis(timestamp).expect("test timestamps are valid")
}

/// Two partitions whatever the machine, so routing is the same everywhere.
pub fn config() -> CollectConfig {
    CollectConfig {
        log: LogOptions {
            partitions: 2,
            ..LogOptions::default()
        },
        // Once written, people leave memory: lookups read them back.
        identity_cache_profiles: 1,
        ..CollectConfig::default()
    }
}

/// What the API answered.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    /// `Value::Null` when the body is not JSON.
    pub json: Value,
}

impl Reply {
    /// Asserts the stable error shape `{code, message, type}`.
    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, code: &str, kind: &str) {
        assert_eq!(self.status, status, "status of {}", self.text);
        assert_eq!(self.json["code"], code, "code of {}", self.text);
        assert_eq!(self.json["type"], kind, "type of {}", self.text);
        let message = self.json["message"].as_str().unwrap_or_default();
        assert!(
            !message.is_empty(),
            "an error says what went wrong: {}",
            self.text
        );
    }

    #[track_caller]
    pub fn assert_ok_status(&self, status: StatusCode) {
        assert_eq!(self.status, status, "{}", self.text);
    }

    #[track_caller]
    pub fn assert_ok(&self) {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text);
        assert_eq!(self.json["success"], true, "{}", self.text);
    }
}

/// How a request presents its write key.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    Basic(&'a str),
    Bearer(&'a str),
    /// No Authorization header at all.
    None,
}

impl Key<'_> {
    pub fn header(self) -> Option<String> {
        match self {
            Key::Basic(key) => {
                let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
                Some(format!("Basic {encoded}"))
            }
            Key::Bearer(key) => Some(format!("Bearer {key}")),
            Key::None => None,
        }
    }
}

#[derive(Debug)]
pub struct TestApp {
    pub dir: TempDir,
    pub clock: ManualClock,
    pub config: CollectConfig,
    pub state: AppState,
    /// The source every helper sends as.
    pub source: Arc<Source>,
}

impl TestApp {
    pub fn new() -> Self {
        Self::with_config(config())
    }

    pub fn with_config(config: CollectConfig) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let clock = ManualClock::new(millis(T0));
        let state = open_state(&dir, &clock, &config);
        let source = state
            .sources
            .create("web", T0.to_owned())
            .expect("source is created");
        Self {
            dir,
            clock,
            config,
            state,
            source,
        }
    }

    /// Stops the app (dropping the collector and its directory lock) and
    /// starts a new one on the same data directory and clock.
    pub fn restart(self) -> Self {
        self.restart_after(|| {})
    }

    /// [`TestApp::restart`], doing `while_stopped` in between (say, to
    /// leave the data directory as a crash would).
    pub fn restart_after(self, while_stopped: impl FnOnce()) -> Self {
        let Self {
            dir,
            clock,
            config,
            state,
            source,
        } = self;
        drop(state);
        while_stopped();
        let state = open_state(&dir, &clock, &config);
        Self {
            dir,
            clock,
            config,
            state,
            source,
        }
    }

    /// The server's time now, in epoch milliseconds.
    pub fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    /// The digest of the derived state `percorso_engine::rebuild` makes
    /// from the log alone under `definitions`, reading the partitions in
    /// `order`.
    pub fn rebuilt_digest(
        &self,
        definitions: percorso_engine::Definitions,
        order: &[u16],
    ) -> BTreeMap<String, Value> {
        let log = self.state.collector.log();
        percorso_engine::rebuild(log, definitions, order, self.now())
            .expect("the log rebuilds")
            .digest(self.now())
    }

    /// Has the collector write its event index, identity graph and
    /// deduplication keys to the state store now (as its writer thread
    /// does every few seconds).
    pub async fn write_state(&self) {
        let collector = self.state.collector.clone();
        tokio::task::spawn_blocking(move || {
            collector.write_index().unwrap();
            collector.write_identity().unwrap();
        })
        .await
        .unwrap();
    }

    /// The log's partitions in order.
    pub fn partitions(&self) -> Vec<u16> {
        (0..self.state.collector.log().partition_count()).collect()
    }

    pub fn write_key(&self) -> &str {
        &self.source.write_key
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = percorso_server::router(self.state.clone())
            .oneshot(request)
            .await
            .expect("the router never fails");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("response body");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            json,
        }
    }

    /// POSTs raw bytes with the given key and extra headers.
    pub async fn post_raw(
        &self,
        path: &str,
        key: Key<'_>,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Reply {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(auth) = key.header() {
            request = request.header(header::AUTHORIZATION, auth);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::from(body)).expect("request"))
            .await
    }

    /// POSTs JSON as the `web` source (write key as Basic user name).
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        let key = self.write_key().to_owned();
        self.post_raw(path, Key::Basic(&key), &[], body.to_string().into_bytes())
            .await
    }

    /// POSTs raw bytes as the `web` source, with extra headers.
    pub async fn post_bytes(&self, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
        let key = self.write_key().to_owned();
        self.post_raw(path, Key::Basic(&key), headers, body).await
    }

    /// A request to the admin API with the right token.
    pub async fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
            .header(header::CONTENT_TYPE, "application/json");
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        self.send(request.body(body).expect("request")).await
    }

    /// POSTs a text body (a YAML segment, say) to the admin API.
    pub async fn admin_text(&self, path: &str, text: &str) -> Reply {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
            .header(header::CONTENT_TYPE, "application/yaml");
        self.send(request.body(Body::from(text.to_owned())).expect("request"))
            .await
    }

    pub async fn admin_get(&self, path: &str) -> Reply {
        self.admin(Method::GET, path, None).await
    }

    /// Every stored event of a user id, in the order the API gives them.
    pub async fn events_of(&self, user_id: &str) -> Vec<Value> {
        self.events_by("user_id", user_id).await
    }

    pub async fn events_by(&self, param: &str, id: &str) -> Vec<Value> {
        let reply = self
            .admin_get(&format!("/api/v1/events?{param}={id}&limit=10000"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let events = reply.json["events"].as_array().cloned().unwrap_or_default();
        assert_eq!(reply.json["total"], events.len(), "{}", reply.text);
        events
    }

    /// Every quarantined entry, oldest first.
    pub async fn quarantine(&self) -> Vec<Value> {
        let reply = self.admin_get("/api/v1/quarantine?limit=10000").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.json["items"].as_array().cloned().unwrap_or_default()
    }
}

fn open_state(dir: &TempDir, clock: &ManualClock, config: &CollectConfig) -> AppState {
    let data = DataDir::new(dir.path());
    let collector = Collector::open(
        &data,
        config.clone(),
        Arc::new(clock.clone()),
        OpenMode::ReadWrite,
    )
    .expect("collector opens");
    let sources = SourceRegistry::open(data.sources()).expect("sources open");
    let collector = Arc::new(collector);
    let engine = ProfileEngine::start_for(
        &collector,
        &data,
        Arc::new(clock.clone()),
        tokio::runtime::Handle::current(),
        percorso_engine::EngineOptions::default(),
    )
    .expect("engine starts");
    AppState {
        engine,
        collector,
        sources: Arc::new(sources),
        admin_token: Arc::from(ADMIN_TOKEN),
        limits: Limits::default(),
        analytics: Arc::new(
            percorso_analytics::ColumnarStore::open_read_only(&dir.path().join("analytics"))
                .expect("empty columnar store"),
        ),
    }
}

/// Compresses with gzip.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

/// A track event of `user` with a fixed message id.
pub fn track(user: &str, message_id: &str) -> Value {
    serde_json::json!({
        "userId": user,
        "event": "Order Completed",
        "messageId": message_id,
        "properties": { "revenue": 12.5 },
    })
}

/// `value` without the field `key`.
pub fn without(mut value: Value, key: &str) -> Value {
    if let Some(fields) = value.as_object_mut() {
        fields.remove(key);
    }
    value
}
