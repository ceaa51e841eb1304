//! `flick serve`: the HTTP server (API, pages, streams) and, unless `processing.workers` is 0
//! (`flick serve --no-workers`), in-process workers; recovers from any previous crash and shuts down gracefully.

use std::time::Duration;

use flick_domain::config::Config;
use flick_http::AppState;
use tokio_util::sync::CancellationToken;

pub use crate::wiring::ServeError;
use crate::wiring::{Wiring, wait_for_signal};

/// What the HTTP layer reaches, from what [`Wiring`] opened and the configuration in force (its port the real one).
pub(crate) fn app_state(wiring: &Wiring, config: Config, web: flick_http::WebUi) -> AppState {
    let base_url = config.server.base_url();
    let gate = flick_http::Gate::new(&wiring.signing_key, base_url.starts_with("https://"));
    AppState {
        repo: wiring.db.clone(),
        store: wiring.store.clone(),
        queue: wiring.db.clone(),
        uploads: wiring.db.clone(),
        spool: wiring.spool.clone(),
        upload_locks: Default::default(),
        packages: wiring.packages.clone(),
        scratch_dir: wiring.scratch_dir.clone(),
        config: std::sync::Arc::new(config),
        base_url,
        web,
        gate,
        ready: Default::default(),
    }
}

/// Runs the server until SIGTERM or Ctrl-C.
pub async fn run(config: Config) -> Result<(), ServeError> {
    let mut wiring = Wiring::open(config).await?;
    let ctx = wiring.ctx.clone();
    let config = &wiring.config;

    let addr = format!("{}:{}", config.server.host, config.server.port);
    let listener =
        tokio::net::TcpListener::bind(&addr).await.map_err(|source| ServeError::Bind { addr: addr.clone(), source })?;
    let local = listener.local_addr().map_err(ServeError::Server)?;
    let mut config = config.clone();
    if config.server.public_url.is_none() {
        // Port 0 asks the OS for a free port: links must name the real one.
        config.server.port = local.port();
    }
    let base_url = config.server.base_url();
    let web = flick_http::WebUi::from_config(config.web.dist.as_deref());
    let grace = Duration::from_secs(config.server.shutdown_grace_seconds);
    let timeouts = crate::http_server::Timeouts {
        header_read: Duration::from_secs(config.server.header_read_timeout_seconds),
        idle: Duration::from_secs(config.server.idle_timeout_seconds),
    };
    let workers = config.processing.workers;
    // A node that runs no worker runs no live one either (`--no-workers`: an API node).
    let live_workers = if workers == 0 { 0 } else { config.processing.live_workers };
    let state = app_state(&wiring, config, web);

    let shutdown = CancellationToken::new();
    let worker_handles = flick_jobs::spawn_workers(ctx.clone(), workers, live_workers, shutdown.clone());
    // Partial uploads are another API node's business when the data folder is shared.
    if wiring.alone {
        let orphans = flick_http::tus::remove_orphan_partial_uploads(&state).await;
        if orphans > 0 {
            tracing::info!(orphans, "removed partial uploads no record owns");
        }
    }
    wiring.started();
    // Unfinished resumable uploads past their expiry are deleted in the background.
    let sweeper = tokio::spawn(flick_http::tus::run_upload_sweeper(state.clone()));
    // Deleted, expired and used-up videos are purged in the background (every API node sweeps; purges are
    // idempotent).
    let purger = tokio::spawn(flick_http::run_sweeper(state.clone()));
    let app = flick_http::router(state);

    // The line `make run` users look for, and tests parse.
    println!("Flick is running at {base_url}/ (listening on http://{local})");
    tracing::info!(%local, %base_url, workers, node = %ctx.node.name(), "listening");

    let stop = shutdown.clone();
    // hyper-util's server rather than axum::serve: header-read and idle timeouts, peer addresses.
    let server = crate::http_server::serve(listener, app, timeouts, async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        stop.cancel();
    });
    let server = tokio::spawn(server);
    shutdown.cancelled().await;
    // In-flight requests get `grace` to finish; workers stop at once (their ffmpeg is killed).
    for h in worker_handles {
        let _ = h.await;
    }
    match tokio::time::timeout(grace, server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "server ended with an error"),
        Ok(Err(e)) => tracing::warn!(error = %e, "server task failed"),
        Err(_) => tracing::warn!("in-flight requests did not finish within the grace period"),
    }
    sweeper.abort();
    purger.abort();
    // Interrupted jobs are claimable at once by any other worker or the next start.
    wiring.stop().await;
    tracing::info!("stopped");
    Ok(())
}
