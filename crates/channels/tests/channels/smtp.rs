//! Email through a real SMTP server.

use std::time::Duration;

use percorso_channels::{ChannelsConfig, Deliverer, Outcome, SmtpConfig, SmtpSecurity};
use percorso_journeys::Content;
use serde_json::json;

use super::harness::*;

fn smtp_config(port: u16) -> ChannelsConfig {
    ChannelsConfig {
        smtp: Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            security: SmtpSecurity::None,
            username: None,
            password: None,
            from: "Percorso Shop <news@shop.example>".into(),
            timeout: Duration::from_secs(5),
        }),
        ..ChannelsConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_arrives_with_its_subject_both_bodies_and_the_key_as_message_id() {
    let server = SmtpServer::start();
    let deliverer = Deliverer::new(&smtp_config(server.port)).unwrap();
    let (executor, collected) = executor(deliverer, fast_retries(3));
    let email = Content::Email {
        to: "ada@example.com".into(),
        subject: "Ada, your basket is waiting".into(),
        html: Some("<p>2 items</p>".into()),
        text: Some("2 items".into()),
    };
    assert!(executor.submit(message("cart.1.1.3.prof_1", email)));
    let done = outcomes(&collected, 1).await;
    assert_eq!(
        done,
        [(
            "cart.1.1.3.prof_1".to_owned(),
            Outcome::Delivered { attempts: 1 }
        )]
    );
    let received = server.wait_for(1);
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(mail["rcpt_tos"], json!(["ada@example.com"]));
    assert_eq!(mail["mail_from"], json!("news@shop.example"));
    assert_eq!(mail["from"], json!("Percorso Shop <news@shop.example>"));
    assert_eq!(mail["subject"], json!("Ada, your basket is waiting"));
    assert_eq!(
        mail["message_id"],
        json!("<cart.1.1.3.prof_1@shop.example>")
    );
    assert_eq!(mail["text"].as_str().unwrap().trim_end(), "2 items");
    assert_eq!(mail["html"].as_str().unwrap().trim_end(), "<p>2 items</p>");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_smtp_server_is_retried_then_dead_lettered() {
    // A port nobody listens on: connection refused on every attempt.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let deliverer = Deliverer::new(&smtp_config(port)).unwrap();
    let (executor, collected) = executor(deliverer, fast_retries(3));
    let email = Content::Email {
        to: "a@example.com".into(),
        subject: "s".into(),
        html: None,
        text: Some("t".into()),
    };
    executor.submit(message("k1", email));
    let done = outcomes(&collected, 1).await;
    match &done[0].1 {
        Outcome::DeadLettered { attempts, reason } => {
            assert_eq!(*attempts, 3);
            assert!(reason.contains("SMTP"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_address_or_a_missing_channel_fails_at_once() {
    let server = SmtpServer::start();
    let deliverer = Deliverer::new(&smtp_config(server.port)).unwrap();
    let (executor, collected) = executor(deliverer, fast_retries(5));
    let email = Content::Email {
        to: "not an address".into(),
        subject: "s".into(),
        html: None,
        text: Some("t".into()),
    };
    executor.submit(message("bad", email));
    executor.submit(message(
        "sms",
        Content::Sms {
            to: "+39".into(),
            text: "hi".into(),
        },
    ));
    let mut done = outcomes(&collected, 2).await;
    done.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(
        matches!(&done[0].1, Outcome::DeadLettered { attempts: 1, reason } if reason.contains("bad recipient")),
        "{done:?}"
    );
    assert!(
        matches!(&done[1].1, Outcome::DeadLettered { attempts: 1, reason } if reason.contains("sms channel is not configured")),
        "{done:?}"
    );
    assert!(server.received.lock().unwrap().is_empty());
}
