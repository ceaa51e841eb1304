//! `flick serve`: wires the SQLite repo and queue, the local blob store, the workers and the HTTP
//! server together, recovers from any previous crash, and shuts down gracefully.

use std::sync::Arc;
use std::time::Duration;

use flick_domain::config::Config;
use flick_http::AppState;
use flick_jobs::Context;
use flick_media::Tools;
use flick_storage::fs::FsStore;
use flick_storage::open_database;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// Why the server could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot use the data folder {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("cannot open the database: {0}")]
    Database(String),
    #[error("{0}")]
    Tools(String),
    #[error("start-up recovery failed: {0}")]
    Recovery(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("server error: {0}")]
    Server(std::io::Error),
}

/// Runs the server until SIGTERM or Ctrl-C.
pub async fn run(config: Config) -> Result<(), ServeError> {
    init_logging(&config);
    let data_dir = config.storage.data_dir.clone();
    let dir_err = |source| ServeError::DataDir { path: data_dir.display().to_string(), source };
    std::fs::create_dir_all(&data_dir).map_err(dir_err)?;

    let db = open_database(&config.database_url(), config.processing.max_attempts)
        .await
        .map_err(|e| ServeError::Database(e.to_string()))?;
    let db = Arc::new(db);
    let store = Arc::new(FsStore::new(data_dir.clone()).map_err(dir_err)?);
    let scratch_dir = store.scratch_dir();
    sweep_partial_uploads(&scratch_dir).await;

    let tools = Tools::from_config(&config.processing);
    if config.processing.workers > 0 {
        tools.check().await.map_err(|e| {
            ServeError::Tools(format!(
                "{}. Install ffmpeg (e.g. `apt-get install -y ffmpeg`) or set processing.ffmpeg_path.",
                e.user_message()
            ))
        })?;
    }
    let node = format!("{}/serve/", hostname());
    let ctx = Arc::new(Context {
        repo: db.clone(),
        store: store.clone(),
        queue: db.clone(),
        tools,
        settings: config.processing.clone(),
        work_dir: data_dir.join("work"),
        node: node.clone(),
    });
    flick_jobs::recover(&ctx).await.map_err(|e| ServeError::Recovery(e.to_string()))?;

    let addr = format!("{}:{}", config.server.host, config.server.port);
    let listener =
        tokio::net::TcpListener::bind(&addr).await.map_err(|source| ServeError::Bind { addr: addr.clone(), source })?;
    let local = listener.local_addr().map_err(ServeError::Server)?;
    let mut config = config;
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
    let state = AppState {
        repo: db.clone(),
        store: store.clone(),
        queue: db.clone(),
        uploads: db.clone(),
        upload_locks: Default::default(),
        config: Arc::new(config),
        scratch_dir,
        base_url: base_url.clone(),
        web,
    };

    let shutdown = CancellationToken::new();
    let worker_handles = flick_jobs::spawn_workers(ctx.clone(), workers, shutdown.clone());
    let orphans = flick_http::tus::remove_orphan_partial_uploads(&state).await;
    if orphans > 0 {
        tracing::info!(orphans, "removed partial uploads no record owns");
    }
    // Unfinished resumable uploads past their expiry are deleted in the background.
    let sweeper = tokio::spawn(flick_http::tus::run_upload_sweeper(state.clone()));
    let app = flick_http::router(state);

    // The line `make run` users look for, and tests parse.
    println!("Flick is running at {base_url}/ (listening on http://{local})");
    tracing::info!(%local, %base_url, workers, "listening");

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
    // Interrupted jobs are claimable at once by the next start.
    if let Err(e) = ctx.queue.release_leases_of(&node).await {
        tracing::warn!(error = %e, "could not release job leases");
    }
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// Uploads interrupted by a crash leave `*.part` files in the scratch folder; nobody owns them any more.
async fn sweep_partial_uploads(dir: &std::path::Path) {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else { return };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with("upload-") {
            let _ = tokio::fs::remove_file(entry.path()).await;
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log.filter));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = if config.log.format == "json" { builder.json().try_init() } else { builder.try_init() };
}
