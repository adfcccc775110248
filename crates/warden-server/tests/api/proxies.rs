//! Client addresses behind proxies: `X-Forwarded-For` is believed only from a configured
//! trusted proxy (otherwise anyone could pick the address their attempts are counted under).

use warden_server::storage::{AuditFilter, Storage};

use crate::backend::{Options, Server};

async fn failed_login_ip(s: &Server, forwarded: &str) -> Option<String> {
    s.client
        .post(s.url("/token"))
        .header("x-forwarded-for", forwarded)
        .form(&[
            ("grant_type", "password"),
            ("username", "nobody"),
            ("password", "wrong-password"),
        ])
        .send()
        .await
        .unwrap();
    let filter = AuditFilter {
        event: Some("login.failure".into()),
        limit: 1,
        ..AuditFilter::default()
    };
    s.warden.flush_audit().await;
    let events = s.warden.storage().list_audit(&filter).await.unwrap();
    events.first().and_then(|e| e.ip.clone())
}

#[tokio::test]
async fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    let untrusting = Server::sqlite(Options::default()).await;
    assert_eq!(
        failed_login_ip(&untrusting, "203.0.113.7").await.as_deref(),
        Some("127.0.0.1"),
        "a spoofed header from an untrusted peer is ignored"
    );
    untrusting.finish().await;

    let behind_proxy = Server::sqlite(Options {
        trusted_proxies: vec!["127.0.0.1".into()],
        ..Options::default()
    })
    .await;
    assert_eq!(
        failed_login_ip(&behind_proxy, "203.0.113.7")
            .await
            .as_deref(),
        Some("203.0.113.7")
    );
    // The right-most untrusted hop: what the client wrote to the left of it does not count.
    assert_eq!(
        failed_login_ip(&behind_proxy, "198.51.100.1, 203.0.113.9")
            .await
            .as_deref(),
        Some("203.0.113.9")
    );
    behind_proxy.finish().await;
}
