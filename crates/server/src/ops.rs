//! Health and metrics.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::json;

use crate::app::AppState;

static METRICS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide Prometheus recorder (once; later calls reuse it).
pub fn install_metrics() -> Option<&'static PrometheusHandle> {
    METRICS
        .get_or_init(|| {
            let fsync_buckets = [
                0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                1.0,
            ];
            let group_buckets = [
                1.0, 10.0, 100.0, 500.0, 1_000.0, 5_000.0, 10_000.0, 50_000.0,
            ];
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("percorso_log_fsync_seconds".into()),
                    &fsync_buckets,
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("percorso_log_group_records".into()),
                        &group_buckets,
                    )
                })
                .and_then(|b| b.install_recorder())
                .map_err(|e| tracing::warn!(error = %e, "metrics recorder not installed"))
                .ok()
        })
        .as_ref()
}

/// `200 {"status":"ok"}`, or `503` with the reason when events can no
/// longer be stored, so a load balancer stops sending here.
pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.collector.health() {
        Ok(()) => Json(json!({ "status": "ok" })).into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "failing", "code": "storage_unavailable", "message": reason, "type": "internal" })),
        )
            .into_response(),
    }
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = match install_metrics() {
        Some(handle) => {
            handle.run_upkeep();
            handle.render()
        }
        None => String::new(),
    };
    text.push_str(&journey_metrics(&state.engine.journey_stats()));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// Per journey and step: `percorso_journey_customers{journey, step, what}`,
/// read from the engine's counters at scrape time.
fn journey_metrics(stats: &percorso_engine::JourneyStats) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if stats.is_empty() {
        return out;
    }
    out.push_str("# HELP percorso_journey_customers Customers per journey step: entered, waiting (now), exited, converted, sent, delivered, dead_lettered, suppressed, held_out, failed.\n");
    out.push_str("# TYPE percorso_journey_customers gauge\n");
    for (journey, steps) in stats {
        for (step, c) in steps {
            let counts = [
                ("entered", c.entered as i64),
                ("waiting", c.waiting),
                ("exited", c.exited as i64),
                ("converted", c.converted as i64),
                ("sent", c.sent as i64),
                ("delivered", c.delivered as i64),
                ("dead_lettered", c.dead_lettered as i64),
                ("suppressed", c.suppressed as i64),
                ("held_out", c.held_out as i64),
                ("failed", c.failed as i64),
            ];
            for (what, n) in counts.iter().filter(|(_, n)| *n != 0) {
                let _ = writeln!(
                    out,
                    "percorso_journey_customers{{journey=\"{}\",step=\"{}\",what=\"{what}\"}} {n}",
                    label(journey),
                    label(step)
                );
            }
        }
    }
    out
}

/// A Prometheus label value, escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
