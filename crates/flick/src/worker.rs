//! `flick worker`: only the job workers (`processing.workers` of them), on the same database and blob store as the
//! `flick serve` processes (API-only ones run `flick serve --no-workers`). Its only HTTP is `/healthz`, `/readyz` and
//! `/metrics` on `server.worker_port`. SIGTERM or Ctrl-C stops it: running jobs' ffmpeg is killed and their leases released, so
//! another worker takes them at once.

use std::time::Duration;

use flick_domain::config::Config;
use tokio_util::sync::CancellationToken;

use crate::wiring::{ServeError, Wiring, wait_for_signal};

/// Runs the workers until SIGTERM or Ctrl-C.
pub async fn run(config: Config) -> Result<(), ServeError> {
    if config.processing.workers == 0 {
        return Err(ServeError::Config(
            "processing.workers is 0: a worker process with no workers has nothing to do".to_owned(),
        ));
    }
    let mut wiring = Wiring::open(config).await?;
    let ctx = wiring.ctx.clone();
    let server_config = &wiring.config.server;
    let addr = format!("{}:{}", server_config.host, server_config.worker_port);
    let listener =
        tokio::net::TcpListener::bind(&addr).await.map_err(|source| ServeError::Bind { addr: addr.clone(), source })?;
    let local = listener.local_addr().map_err(ServeError::Server)?;
    let timeouts = crate::http_server::Timeouts {
        header_read: Duration::from_secs(server_config.header_read_timeout_seconds),
        idle: Duration::from_secs(server_config.idle_timeout_seconds),
    };
    let grace = Duration::from_secs(server_config.shutdown_grace_seconds);
    let workers = wiring.config.processing.workers;
    // A node that runs no worker runs no live one either (`--no-workers`: an API node).
    let live_workers = if workers == 0 { 0 } else { wiring.config.processing.live_workers };
    let shutdown = CancellationToken::new();
    let handles = flick_jobs::spawn_workers(ctx.clone(), workers, live_workers, shutdown.clone());
    wiring.started();
    let stop = shutdown.clone();
    let app = flick_http::ops_router(ctx.repo.clone(), ctx.store.clone(), ctx.queue.clone());
    let server =
        tokio::spawn(crate::http_server::serve(listener, app, timeouts, async move { stop.cancelled().await }));
    // The line tests and scripts wait for.
    println!("Flick worker {} running {workers} workers (listening on http://{local})", ctx.node.name());
    tracing::info!(workers, node = %ctx.node.name(), %local, "worker process started");

    wait_for_signal().await;
    tracing::info!("shutting down");
    shutdown.cancel();
    for h in handles {
        let _ = h.await;
    }
    match tokio::time::timeout(grace, server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "server ended with an error"),
        Ok(Err(e)) => tracing::warn!(error = %e, "server task failed"),
        Err(_) => tracing::warn!("in-flight requests did not finish within the grace period"),
    }
    wiring.stop().await;
    tracing::info!("stopped");
    Ok(())
}
