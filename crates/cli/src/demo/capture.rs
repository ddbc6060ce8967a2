//! The demo's built-in capture sink: an SMTP server and an HTTP receiver on
//! loopback that keep every message the journeys send, as JSON lines the
//! user can read (`emails.jsonl`, `webhooks.jsonl`), so the demo needs no
//! outside server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

/// Where the captured messages go, and the addresses to send them to.
#[derive(Debug, Clone)]
pub struct Capture {
    pub smtp: SocketAddr,
    pub http: SocketAddr,
    pub emails: PathBuf,
    pub webhooks: PathBuf,
}

type Sink = Arc<Mutex<std::fs::File>>;

fn open(path: &Path) -> std::io::Result<Sink> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    Ok(Arc::new(Mutex::new(file)))
}

async fn append(sink: &Sink, line: serde_json::Value) {
    use std::io::Write;
    let mut file = sink.lock().await;
    let _ = writeln!(file, "{line}");
}

/// Starts both receivers on `runtime`, writing into `dir`.
pub async fn start(dir: &Path) -> anyhow::Result<Capture> {
    std::fs::create_dir_all(dir)?;
    let capture = Capture {
        emails: dir.join("emails.jsonl"),
        webhooks: dir.join("webhooks.jsonl"),
        smtp: "127.0.0.1:0".parse()?,
        http: "127.0.0.1:0".parse()?,
    };
    let smtp = TcpListener::bind(capture.smtp).await?;
    let http = TcpListener::bind(capture.http).await?;
    let (smtp_addr, http_addr) = (smtp.local_addr()?, http.local_addr()?);
    let emails = open(&capture.emails)?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = smtp.accept().await {
            let emails = emails.clone();
            tokio::spawn(async move {
                let _ = smtp_session(stream, emails).await;
            });
        }
    });
    let webhooks = open(&capture.webhooks)?;
    let app = axum::Router::new()
        .fallback(receive_webhook)
        .with_state(webhooks);
    tokio::spawn(async move {
        let _ = axum::serve(http, app).await;
    });
    Ok(Capture {
        smtp: smtp_addr,
        http: http_addr,
        ..capture
    })
}

async fn receive_webhook(
    State(sink): State<Sink>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> &'static str {
    let body: serde_json::Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into_owned()));
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    append(
        &sink,
        json!({ "path": uri.path(), "idempotency_key": key, "body": body }),
    )
    .await;
    "ok"
}

/// Just enough SMTP for a client that sends plain mail on loopback.
async fn smtp_session(stream: TcpStream, sink: Sink) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write
        .write_all(b"220 percorso-demo ESMTP capture\r\n")
        .await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-percorso-demo\r\n250 8BITMIME\r\n",
            "HELO" | "RSET" | "NOOP" => b"250 OK\r\n",
            "MAIL" => {
                from = command[command.find(':').map_or(0, |i| i + 1)..]
                    .trim()
                    .to_owned();
                to.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                to.push(
                    command[command.find(':').map_or(0, |i| i + 1)..]
                        .trim()
                        .to_owned(),
                );
                b"250 OK\r\n"
            }
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut message = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    message.push_str(
                        line.strip_prefix('.')
                            .filter(|_| line.starts_with(".."))
                            .unwrap_or(&line),
                    );
                }
                let header = |name: &str| {
                    message
                        .lines()
                        .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
                        .unwrap_or_default()
                };
                let record = json!({
                    "from": from, "to": to, "subject": header("Subject:"),
                    "message_id": header("Message-ID:"), "bytes": message.len(),
                });
                append(&sink, record).await;
                b"250 OK queued\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}
