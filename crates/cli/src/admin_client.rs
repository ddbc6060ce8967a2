//! A blocking client for a running server's admin API, shared by the
//! `profiles`, `segments` and `traits` commands: the derived state they
//! show lives in the server process, not in the data directory.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use clap::Args;
use percorso_collect::DataDir;
use serde_json::Value;

use crate::config::Config;

/// Where the server is and how to prove we may administer it.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Base URL of the running `percorso serve`.
    /// Default: http://<server.listen> from the configuration.
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,
    /// Admin token. Default: server.admin_token from the configuration,
    /// else the server's <data>/admin-token file.
    #[arg(
        long,
        global = true,
        env = "PERCORSO_ADMIN_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub admin_token: Option<String>,
}

/// An error the server answered with (`{code, message, type}`).
#[derive(Debug)]
pub struct ServerError {
    pub status: reqwest::StatusCode,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ServerError {}

#[derive(Debug)]
pub struct AdminClient {
    client: reqwest::Client,
    base: reqwest::Url,
    token: String,
    runtime: tokio::runtime::Runtime,
}

impl AdminClient {
    pub fn connect(config: &Config, args: &ServerArgs) -> anyhow::Result<Self> {
        let base = match &args.url {
            Some(url) => url.clone(),
            None => format!("http://{}", reachable(config.listen)),
        };
        let base = reqwest::Url::parse(&base).with_context(|| {
            format!("--url '{base}' is not a URL such as http://127.0.0.1:8080")
        })?;
        if base.cannot_be_a_base() {
            bail!("--url '{base}' is not a URL such as http://127.0.0.1:8080");
        }
        Ok(Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
            base,
            token: admin_token(config, args)?,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
        })
    }

    /// `GET` of the path made of `segments` (each escaped, so ids and
    /// names may hold any character).
    pub fn get(&self, segments: &[&str], query: &[(&str, String)]) -> anyhow::Result<Value> {
        let request = self.client.get(self.url(segments)?).query(query);
        self.send(request)
    }

    /// `DELETE` of the path made of `segments`.
    pub fn delete(&self, segments: &[&str]) -> anyhow::Result<Value> {
        let request = self.client.delete(self.url(segments)?);
        self.send(request)
    }

    /// `POST` of `body` as it is, with its content type.
    pub fn post(
        &self,
        segments: &[&str],
        body: String,
        content_type: &str,
    ) -> anyhow::Result<Value> {
        self.post_query(segments, &[], body, content_type)
    }

    /// [`AdminClient::post`] with query parameters.
    pub fn post_query(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
        body: String,
        content_type: &str,
    ) -> anyhow::Result<Value> {
        let request = self
            .client
            .post(self.url(segments)?)
            .query(query)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        self.send(request)
    }

    fn url(&self, segments: &[&str]) -> anyhow::Result<reqwest::Url> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| anyhow!("{} cannot take a path", self.base))?
            .pop_if_empty()
            .extend(["api", "v1"])
            .extend(segments);
        Ok(url)
    }

    fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let bytes = self.send_for_bytes(request)?;
        serde_json::from_slice(&bytes).map_err(|_| {
            anyhow!(
                "{} answered with something other than JSON: {}",
                self.shown(),
                String::from_utf8_lossy(&bytes)
            )
        })
    }

    /// `POST` of a JSON body whose answer is taken as bytes (CSV, Parquet).
    pub fn post_json_for_bytes(&self, segments: &[&str], body: &Value) -> anyhow::Result<Vec<u8>> {
        let request = self.client.post(self.url(segments)?).json(body);
        self.send_for_bytes(request)
    }

    fn send_for_bytes(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Vec<u8>> {
        let request = request.bearer_auth(&self.token);
        self.runtime.block_on(async {
            let response = request.send().await.map_err(|e| self.unreachable(e))?;
            let status = response.status();
            let bytes = response.bytes().await.map_err(|e| self.unreachable(e))?;
            if status.is_success() {
                return Ok(bytes.to_vec());
            }
            let body: Option<Value> = serde_json::from_slice(&bytes).ok();
            let field = |name: &str| {
                body.as_ref()
                    .and_then(|b| b[name].as_str())
                    .map(str::to_owned)
            };
            match (field("code"), field("message")) {
                (Some(code), Some(message)) => Err(ServerError {
                    status,
                    code,
                    message,
                }
                .into()),
                // Not our API's error shape: probably not a percorso server,
                // or one too old to have this endpoint.
                _ => Err(anyhow!(
                    "{} answered {status}: {}",
                    self.shown(),
                    String::from_utf8_lossy(&bytes)
                )),
            }
        })
    }

    /// The base URL as people write it (the parsed form ends in '/').
    fn shown(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    fn unreachable(&self, error: reqwest::Error) -> anyhow::Error {
        if error.is_connect() || error.is_timeout() {
            anyhow!(
                "cannot reach the percorso server at {} ({}); start it with `percorso serve`, \
                 or point --url at a running one",
                self.shown(),
                root_cause(&error)
            )
        } else {
            anyhow!("request to {} failed: {}", self.shown(), root_cause(&error))
        }
    }
}

/// The address to connect to for a listen address: a server listening on
/// every interface is reached over loopback.
fn reachable(listen: SocketAddr) -> SocketAddr {
    let mut addr = listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    addr
}

/// The same token `percorso serve` uses, found the same way, except that
/// one is never generated here.
fn admin_token(config: &Config, args: &ServerArgs) -> anyhow::Result<String> {
    if let Some(token) = args.admin_token.as_ref().or(config.admin_token.as_ref()) {
        return Ok(token.clone());
    }
    let data = DataDir::new(&config.data_dir);
    match crate::serve::stored_admin_token(&data) {
        Some(token) => Ok(token),
        None => bail!(
            "no admin token in {}: give the server's --data directory (`percorso serve` \
             creates the token there on its first start), or pass --admin-token",
            data.admin_token().display()
        ),
    }
}

/// reqwest's own message is generic ("error sending request"); the cause
/// says what actually went wrong, e.g. "Connection refused".
fn root_cause(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Prints `value` as indented JSON.
pub fn print_json(value: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A JSON value for people: strings without quotes, the rest as JSON.
pub fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

/// The array at `key`, or none when the server left it out.
pub fn array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value[key].as_array().map_or(&[], Vec::as_slice)
}
