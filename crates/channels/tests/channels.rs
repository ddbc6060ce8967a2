//! Delivery against real receivers: an SMTP server (aiosmtpd, from the
//! test venv) and HTTP receivers on loopback, one of which fails and
//! recovers.

mod channels {
    pub mod harness;
    pub mod smtp;
    pub mod webhooks;
}
