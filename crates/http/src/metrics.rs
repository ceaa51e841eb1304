//! `GET /metrics`: this process's counters and histograms, and the job queue's gauges read from the database at
//! scrape time, in the Prometheus text format. Unauthenticated: no label names a video, a title or an address.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use flick_domain::ports::{JobQueue, Repo, Store};

use crate::error::ApiError;
use crate::state::AppState;

/// A scrape does not wait longer than this for the database: the gauges are left out instead.
const QUEUE_LIMIT: Duration = Duration::from_secs(2);

/// `GET /metrics` on `flick serve`.
pub async fn metrics(State(state): State<AppState>) -> Response {
    render(state.queue.as_ref()).await
}

/// What the routes of [`ops_router`] reach.
#[derive(Clone)]
struct Ops {
    repo: Arc<dyn Repo>,
    store: Arc<dyn Store>,
    queue: Arc<dyn JobQueue>,
    ready: crate::ready::ReadyCache,
}

/// The routes of a process without the API (`flick worker`): `/healthz`, `/readyz` and `/metrics`.
pub fn ops_router(repo: Arc<dyn Repo>, store: Arc<dyn Store>, queue: Arc<dyn JobQueue>) -> Router {
    Router::new()
        .route("/healthz", get(crate::pages::healthz))
        .route(
            "/readyz",
            get(|State(ops): State<Ops>| async move { ops.ready.answer(ops.repo.as_ref(), ops.store.as_ref()).await }),
        )
        .route("/metrics", get(|State(ops): State<Ops>| async move { render(ops.queue.as_ref()).await }))
        .fallback(|| async { ApiError::NotFound })
        .layer(axum::middleware::from_fn(crate::headers::security_headers))
        .layer(axum::middleware::from_fn(crate::headers::request_span))
        .with_state(Ops { repo, store, queue, ready: Default::default() })
}

async fn render(queue: &dyn JobQueue) -> Response {
    let stats = match tokio::time::timeout(QUEUE_LIMIT, queue.stats()).await {
        Ok(Ok(stats)) => Some(stats),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics: cannot read the job queue");
            None
        }
        Err(_) => {
            tracing::warn!("metrics: the job queue did not answer within 2 s");
            None
        }
    };
    let text = flick_telemetry::metrics().render(stats.as_ref());
    ([(header::CONTENT_TYPE, flick_telemetry::CONTENT_TYPE), (header::CACHE_CONTROL, "no-store")], text).into_response()
}
