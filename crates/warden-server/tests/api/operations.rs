//! Operating the server: Prometheus metrics at `/metrics`.
//!
//! The recorder is per process and the scenarios run concurrently, so counts are checked as
//! "at least", never exactly.

use std::collections::BTreeMap;

use crate::backend::Server;

/// One sample of the text exposition format: name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the samples of a Prometheus text exposition (comments and blank lines skipped).
fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("`series value`");
            let value = value.parse().unwrap_or_else(|_| panic!("value of {line}"));
            let Some((name, labels)) = series.split_once('{') else {
                return Sample {
                    name: series.to_owned(),
                    labels: BTreeMap::new(),
                    value,
                };
            };
            let labels = labels.strip_suffix('}').expect("labels end with }");
            let mut parsed = BTreeMap::new();
            let mut rest = labels;
            while !rest.is_empty() {
                let (key, after) = rest.split_once("=\"").expect("key=\"value\"");
                // Our label values hold no escaped quotes.
                let (value, after) = after.split_once('"').expect("closing quote");
                parsed.insert(key.to_owned(), value.to_owned());
                rest = after.strip_prefix(',').unwrap_or(after);
            }
            Sample {
                name: name.to_owned(),
                labels: parsed,
                value,
            }
        })
        .collect()
}

/// The value of the sample `name` whose labels include `labels`, if there is one.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

pub async fn metrics_count_requests_by_route_and_logins_by_outcome(s: &Server) {
    let password = s.user("metered", &[]).await;
    let (status, body) = s
        .token(&[
            ("grant_type", "password"),
            ("username", "metered"),
            ("password", &password),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let (status, _) = s
        .token(&[
            ("grant_type", "password"),
            ("username", "metered"),
            ("password", "not-the-password"),
        ])
        .await;
    assert_eq!(status, 400);
    // A route with an id in its path, and a path no route has.
    let key_id = uuid::Uuid::new_v4().to_string();
    let stray = uuid::Uuid::new_v4().to_string();
    s.client
        .delete(s.url(&format!("/users/me/api-keys/{key_id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let missing = s
        .client
        .get(s.url(&format!("/no-such-thing/{stray}")))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let response = s.client.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();
    let samples = parse(&text);
    let at_least_one = |name: &str, labels: &[(&str, &str)]| {
        let found = value(&samples, name, labels);
        assert!(
            found.is_some_and(|v| v >= 1.0),
            "{name} {labels:?} = {found:?} in\n{text}"
        );
    };

    at_least_one(
        "http_requests_total",
        &[("method", "POST"), ("route", "/token"), ("status", "200")],
    );
    at_least_one(
        "http_requests_total",
        &[("method", "POST"), ("route", "/token"), ("status", "400")],
    );
    at_least_one(
        "http_request_duration_seconds_count",
        &[("method", "POST"), ("route", "/token")],
    );
    assert!(
        value(
            &samples,
            "http_request_duration_seconds_bucket",
            &[("method", "POST"), ("route", "/token"), ("le", "+Inf")],
        )
        .is_some(),
        "latency is a histogram with buckets:\n{text}"
    );
    at_least_one("warden_logins_total", &[("outcome", "success")]);
    at_least_one("warden_logins_total", &[("outcome", "failure")]);
    assert!(
        value(&samples, "warden_logins_total", &[("outcome", "throttled")]).is_some(),
        "every outcome is there from the start"
    );

    // Routes are templates, never the request's path.
    at_least_one(
        "http_requests_total",
        &[("method", "DELETE"), ("route", "/users/me/api-keys/{id}")],
    );
    at_least_one(
        "http_requests_total",
        &[("route", "unmatched"), ("status", "404")],
    );
    assert!(!text.contains(&key_id), "an id in a label:\n{text}");
    assert!(!text.contains(&stray), "a raw path in a label:\n{text}");
    for sample in &samples {
        for (label, value) in &sample.labels {
            assert!(
                value
                    .split('/')
                    .all(|segment| uuid::Uuid::parse_str(segment).is_err()),
                "{}: {label}={value:?} holds an id",
                sample.name
            );
        }
    }

    // This server's hashing pool, read at scrape time.
    for gauge in [
        "warden_password_hash_queue_depth",
        "warden_password_hash_in_flight",
    ] {
        let found = value(&samples, gauge, &[]);
        assert!(found.is_some_and(|v| v >= 0.0), "{gauge}: {found:?}");
    }

    let doc: serde_json::Value = s
        .client
        .get(s.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        doc["paths"].get("/metrics").is_none(),
        "/metrics stays out of the API document"
    );
}
