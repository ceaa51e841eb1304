//! `flick worker`: only the job workers (`processing.workers` of them), no HTTP, on the same database and blob
//! store as the `flick serve` processes (API-only ones run `flick serve --no-workers`). SIGTERM or Ctrl-C stops it:
//! running jobs' ffmpeg is killed and their leases released, so another worker takes them at once.

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
    let workers = wiring.config.processing.workers;
    let shutdown = CancellationToken::new();
    let handles = flick_jobs::spawn_workers(ctx.clone(), workers, shutdown.clone());
    wiring.started();
    // The line tests and scripts wait for.
    println!("Flick worker {} running {workers} workers", ctx.node.name());
    tracing::info!(workers, node = %ctx.node.name(), "worker process started");

    wait_for_signal().await;
    tracing::info!("shutting down");
    shutdown.cancel();
    for h in handles {
        let _ = h.await;
    }
    wiring.stop().await;
    tracing::info!("stopped");
    Ok(())
}
