//! Prometheus metrics: the process-wide recorder, the request-tracking middleware and
//! `GET /metrics`.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `http_requests_total` | counter | `method`, `route`, `status` |
//! | `http_request_duration_seconds` | histogram | `method`, `route` |
//! | `warden_logins_total` | counter | `outcome` (`success`, `failure`, `throttled`) |
//! | `warden_password_hash_queue_depth` | gauge, read at scrape time | |
//! | `warden_password_hash_in_flight` | gauge, read at scrape time | |
//!
//! `route` is the route's template (`/admin/users/{username}`) from [`MatchedPath`], never
//! the request's path: ids and names would make the label's values unbounded. A request no
//! route matched is `route="unmatched"`; a method outside the standard ones is
//! `method="OTHER"`.
//!
//! The endpoint itself is left out of the OpenAPI document. It has no authentication:
//! expose it to the scraper only (a private network, or a proxy that refuses `/metrics`).

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{Method, header};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::AppState;
use crate::domain::{LOGIN_OUTCOMES, LOGINS_METRIC};

const REQUESTS: &str = "http_requests_total";
const DURATION: &str = "http_request_duration_seconds";
const HASH_QUEUE: &str = "warden_password_hash_queue_depth";
const HASH_IN_FLIGHT: &str = "warden_password_hash_in_flight";
/// The `route` of a request no route matched (a 404, or a redirect before routing).
const UNMATCHED: &str = "unmatched";
/// Latency buckets, seconds: from a cached metadata read to a request timing out (30 s).
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// How often histogram samples are folded in between scrapes, so memory stays bounded when
/// nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);
/// The media type of Prometheus' text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's Prometheus recorder, installed as the global `metrics` recorder on first
/// use. Later calls (every server a process starts, as the tests do) share it.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(install)
}

fn install() -> PrometheusHandle {
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(DURATION.to_owned()), BUCKETS)
        // Only an empty bucket list is refused; ours is a constant.
        .unwrap_or_else(|_| PrometheusBuilder::new());
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    if let Err(error) = metrics::set_global_recorder(recorder) {
        // Someone else's recorder: counters go there; /metrics still shows the gauges.
        tracing::warn!(%error, "a metrics recorder is already installed; /metrics shows only the gauges");
    }
    metrics::describe_counter!(REQUESTS, "HTTP requests by method, route and status.");
    metrics::describe_histogram!(
        DURATION,
        metrics::Unit::Seconds,
        "HTTP request latency by method and route."
    );
    metrics::describe_counter!(LOGINS_METRIC, "Password logins by outcome.");
    for outcome in LOGIN_OUTCOMES {
        // Present from the start, so a rate over them is defined before the first login.
        metrics::counter!(LOGINS_METRIC, "outcome" => *outcome).increment(0);
    }
    let upkeep = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "cannot start the metrics upkeep thread; scrapes still do it");
    }
    handle
}

/// Where the route-level middleware ([`matched_route`]) leaves the matched route for
/// [`track`], which runs outside routing and so never sees [`MatchedPath`] itself.
#[derive(Clone, Default)]
struct RouteSlot(Arc<OnceLock<MatchedPath>>);

/// The outermost middleware: counts and times every request, including the ones answered
/// before reaching a handler (timeouts, 404s, oversized bodies).
pub async fn track(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let slot = RouteSlot::default();
    request.extensions_mut().insert(slot.clone());
    let response = next.run(request).await;
    let route = slot
        .0
        .get()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_owned();
    let status = response.status().as_u16().to_string();
    metrics::histogram!(DURATION, "method" => method, "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!(REQUESTS, "method" => method, "route" => route, "status" => status)
        .increment(1);
    response
}

/// The route-level middleware (`route_layer`): hands the matched route's template to
/// [`track`].
pub async fn matched_route(request: Request, next: Next) -> Response {
    if let (Some(slot), Some(path)) = (
        request.extensions().get::<RouteSlot>(),
        request.extensions().get::<MatchedPath>(),
    ) {
        // Set once: a nested router would see the same request again.
        let _ = slot.0.set(path.clone());
    }
    next.run(request).await
}

/// A bounded label for a method: the standard ones by name, any extension method as `OTHER`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}

/// `GET /metrics`: the Prometheus text format, with this server's hashing pool read now.
pub async fn render(State(state): State<AppState>) -> Response {
    let mut text = handle().render();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    let pool = state.warden.passwords();
    gauge(
        &mut text,
        HASH_QUEUE,
        "Password hashing jobs waiting for a worker.",
        pool.queue_depth(),
    );
    gauge(
        &mut text,
        HASH_IN_FLIGHT,
        "Password hashing jobs being computed.",
        pool.in_flight(),
    );
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response()
}

/// Appends one unlabelled gauge. Written here rather than through the global recorder so
/// that each server (a process may run several) reports its own pool.
fn gauge(text: &mut String, name: &str, help: &str, value: usize) {
    // Writing to a `String` cannot fail.
    let _ = write!(
        text,
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n\n"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        let custom = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&custom), "OTHER");
    }

    #[test]
    fn gauges_are_in_the_text_format() {
        let mut text = String::new();
        gauge(&mut text, "x_depth", "Depth.", 3);
        assert_eq!(
            text,
            "# HELP x_depth Depth.\n# TYPE x_depth gauge\nx_depth 3\n\n"
        );
    }
}
