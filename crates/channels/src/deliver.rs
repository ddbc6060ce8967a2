//! One attempt to deliver one message on its channel. The message's key
//! travels with it — the `Idempotency-Key` header of every HTTP request,
//! the `Message-ID` of every email — so a receiver can drop a repeat.

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use percorso_journeys::{Content, Message};
use serde_json::json;

use crate::config::{ChannelsConfig, ProviderWebhook, SmtpConfig, SmtpSecurity};

/// Why an attempt failed, and whether another could succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth retrying: the receiver was down, slow, overloaded (5xx, 408,
    /// 429), or the connection failed.
    #[error("{0}")]
    Retryable(String),
    /// Retrying cannot help: the request itself is refused (other 4xx), the
    /// address is invalid, or the channel is not configured.
    #[error("{0}")]
    Permanent(String),
}

impl DeliveryError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, DeliveryError::Retryable(_))
    }
}

/// Delivers messages with one shared HTTP client and SMTP transport.
#[derive(Debug, Clone)]
pub struct Deliverer {
    http: reqwest::Client,
    smtp: Option<(AsyncSmtpTransport<Tokio1Executor>, Mailbox, String)>,
    sms: Option<ProviderWebhook>,
    push: Option<ProviderWebhook>,
}

impl Deliverer {
    pub fn new(config: &ChannelsConfig) -> Result<Self, String> {
        let timeout = config
            .http_timeout
            .unwrap_or(std::time::Duration::from_secs(10));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let smtp = config.smtp.as_ref().map(smtp_transport).transpose()?;
        Ok(Self {
            http,
            smtp,
            sms: config.sms.clone(),
            push: config.push.clone(),
        })
    }

    pub async fn deliver(&self, message: &Message) -> Result<(), DeliveryError> {
        match &message.content {
            Content::Email { .. } => self.email(message).await,
            Content::Webhook {
                method,
                url,
                headers,
                body,
            } => {
                let method = reqwest::Method::from_bytes(method.as_bytes())
                    .map_err(|_| DeliveryError::Permanent(format!("bad method {method}")))?;
                let mut request = self.http.request(method, url);
                for (name, value) in headers {
                    request = request.header(name, value);
                }
                if let Some(body) = body {
                    request = request.json(body);
                }
                self.http_send(request, &message.key).await
            }
            Content::Sms { to, text } => {
                let provider = self.sms.as_ref().ok_or_else(|| not_configured("sms"))?;
                let body = json!({ "to": to, "text": text, "key": message.key, "journey": message.journey, "step": message.step, "profile": message.profile });
                self.provider(provider, body, &message.key).await
            }
            Content::Push { to, title, text } => {
                let provider = self.push.as_ref().ok_or_else(|| not_configured("push"))?;
                let body = json!({ "to": to, "title": title, "text": text, "key": message.key, "journey": message.journey, "step": message.step, "profile": message.profile });
                self.provider(provider, body, &message.key).await
            }
        }
    }

    async fn provider(
        &self,
        provider: &ProviderWebhook,
        body: serde_json::Value,
        key: &str,
    ) -> Result<(), DeliveryError> {
        let mut request = self.http.post(&provider.url).json(&body);
        for (name, value) in &provider.headers {
            request = request.header(name, value);
        }
        self.http_send(request, key).await
    }

    async fn http_send(
        &self,
        request: reqwest::RequestBuilder,
        key: &str,
    ) -> Result<(), DeliveryError> {
        let response = request
            .header("Idempotency-Key", key)
            .send()
            .await
            .map_err(|e| DeliveryError::Retryable(format!("request failed: {e}")))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let reason = format!("the receiver answered {status}");
        let retry = status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429;
        Err(if retry {
            DeliveryError::Retryable(reason)
        } else {
            DeliveryError::Permanent(reason)
        })
    }

    async fn email(&self, message: &Message) -> Result<(), DeliveryError> {
        let Content::Email {
            to,
            subject,
            html,
            text,
        } = &message.content
        else {
            unreachable!("called for email only")
        };
        let (transport, from, domain) = self
            .smtp
            .as_ref()
            .ok_or_else(|| not_configured("email (smtp)"))?;
        let to: Mailbox = to
            .parse()
            .map_err(|e| DeliveryError::Permanent(format!("bad recipient {to:?}: {e}")))?;
        let builder = lettre::Message::builder()
            .from(from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<{}@{domain}>", message.key)));
        let text_part = |body: &str| {
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(body.to_owned())
        };
        let html_part = |body: &str| {
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(body.to_owned())
        };
        let email = match (text, html) {
            (Some(t), Some(h)) => builder.multipart(
                MultiPart::alternative()
                    .singlepart(text_part(t))
                    .singlepart(html_part(h)),
            ),
            (None, Some(h)) => builder.singlepart(html_part(h)),
            (Some(t), None) => builder.singlepart(text_part(t)),
            (None, None) => builder.singlepart(text_part("")),
        }
        .map_err(|e| DeliveryError::Permanent(format!("cannot build the email: {e}")))?;
        transport.send(email).await.map(|_| ()).map_err(|e| {
            // 5xx replies are permanent in SMTP; anything else (4xx,
            // connection trouble) may pass later.
            if e.is_permanent() {
                DeliveryError::Permanent(format!("SMTP refused: {e}"))
            } else {
                DeliveryError::Retryable(format!("SMTP failed: {e}"))
            }
        })
    }
}

fn not_configured(channel: &str) -> DeliveryError {
    DeliveryError::Permanent(format!("the {channel} channel is not configured"))
}

fn smtp_transport(
    config: &SmtpConfig,
) -> Result<(AsyncSmtpTransport<Tokio1Executor>, Mailbox, String), String> {
    let from: Mailbox = config
        .from
        .parse()
        .map_err(|e| format!("smtp from {:?}: {e}", config.from))?;
    let domain = from.email.domain().to_owned();
    let builder = match config.security {
        SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
        SmtpSecurity::StartTls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                .map_err(|e| format!("smtp host {}: {e}", config.host))?
        }
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)
            .map_err(|e| format!("smtp host {}: {e}", config.host))?,
    };
    let mut builder = builder.port(config.port).timeout(Some(config.timeout));
    if let (Some(user), Some(password)) = (&config.username, &config.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok((builder.build(), from, domain))
}
