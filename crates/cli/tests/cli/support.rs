//! Starting and stopping `percorso serve` as a child process, and talking to it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

pub fn percorso() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_percorso"));
    command
        .env_remove("PERCORSO_CONFIG")
        .env_remove("PERCORSO_DATA")
        .env_remove("PERCORSO_LISTEN");
    command.env("PERCORSO_LOG", "warn");
    command
}

/// A running `percorso serve` on a free loopback port.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    pub fn start(data: &Path) -> Server {
        Self::launch(data, Some(ADMIN_TOKEN), None)
    }

    /// Starts with `PERCORSO_ADMIN_TOKEN` set to `token`, or unset.
    pub fn start_with_admin_token(data: &Path, token: Option<&str>) -> Server {
        Self::launch(data, token, None)
    }

    /// Starts with a configuration file.
    pub fn start_with_config(data: &Path, config: &Path) -> Server {
        Self::launch(data, Some(ADMIN_TOKEN), Some(config))
    }

    fn launch(data: &Path, token: Option<&str>, config: Option<&Path>) -> Server {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data.with_extension("stderr.log"))
            .expect("stderr log");
        let mut command = percorso();
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        match token {
            Some(token) => command.env("PERCORSO_ADMIN_TOKEN", token),
            None => command.env_remove("PERCORSO_ADMIN_TOKEN"),
        };
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn percorso serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| {
                    panic!(
                        "percorso serve exited; see {}",
                        data.with_extension("stderr.log").display()
                    )
                })
                .expect("read stdout");
            if let Some(rest) = line.strip_prefix("percorso listening on ") {
                break rest.split_whitespace().next().expect("address").to_owned();
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, base }
    }

    /// SIGTERM, then waits for the process to exit; returns whether it
    /// exited successfully within `patience`.
    pub fn terminate(mut self, patience: Duration) -> bool {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(sent.success());
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill9(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("wait");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The write key of the `default` source the server made on first start.
pub fn default_write_key(data: &Path) -> String {
    let text = std::fs::read_to_string(data.join("sources.json")).expect("sources.json");
    let value: Value = serde_json::from_str(&text).expect("sources json");
    value["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .find(|s| s["name"] == "default")
        .and_then(|s| s["write_key"].as_str())
        .expect("default source")
        .to_owned()
}

/// Every stored event of a user id, via the admin API.
pub async fn events_of(client: &reqwest::Client, server: &Server, user_id: &str) -> Vec<Value> {
    let response = client
        .get(server.url("/api/v1/events"))
        .query(&[("user_id", user_id), ("limit", "10000")])
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("events request");
    assert!(
        response.status().is_success(),
        "events: {}",
        response.status()
    );
    let page: Value = response.json().await.expect("events json");
    page["events"].as_array().expect("events array").clone()
}

/// An admin API GET that must succeed, as JSON.
pub(crate) fn get(server: &Server, path: &str) -> Value {
    runtime().block_on(async {
        let response = reqwest::Client::new()
            .get(server.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    })
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Path of the repository root (for scripts and the test venv).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// A JSON `POST` to the admin API: status and body.
pub fn post(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    runtime().block_on(async {
        let response = reqwest::Client::new()
            .post(server.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}

/// The rows of `sql` on the server once `ready` holds of them.
pub fn sql_rows_when(server: &Server, sql: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, answer) = post(server, "/api/v1/sql", &json!({ "sql": sql }));
        assert_eq!(status, 200, "{answer}");
        if ready(&answer["rows"]) {
            return answer["rows"].clone();
        }
        assert!(Instant::now() < deadline, "{sql}: still {answer}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
