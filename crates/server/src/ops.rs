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

pub async fn metrics() -> impl IntoResponse {
    let text = match install_metrics() {
        Some(handle) => {
            handle.run_upkeep();
            handle.render()
        }
        None => String::new(),
    };
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
