//! The `flick` binary: `flick serve`, `flick worker`, `flick upload`, `flick migrate`, `flick print-config`.

mod config;
mod http_server;
mod migrate;
#[cfg(test)]
mod router_tests;
mod serve;
mod upload_cli;
mod wiring;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "flick", version, about = "Private video sharing: upload a video, share a link, watch it at once.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server (API, share pages, streams) and its workers.
    Serve {
        /// Configuration file (default: ./config.yaml when it exists, else built-in defaults).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Run no job workers (an API-only node; `flick worker` processes do the processing). Same as
        /// `processing.workers: 0`.
        #[arg(long)]
        no_workers: bool,
    },
    /// Run only the job workers (`processing.workers` of them), sharing the servers' database and data folder.
    Worker {
        /// Configuration file (default: ./config.yaml when it exists, else built-in defaults).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Upload videos to a Flick server (resumable: re-run after an interruption to continue).
    Upload {
        /// Video files to upload.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The server's address.
        #[arg(long, env = "FLICK_SERVER", default_value = "http://127.0.0.1:8080")]
        server: String,
        /// Wait until each video is playable and say how long that took after its upload ended.
        #[arg(long)]
        wait: bool,
        /// Print one JSON object per file instead of text.
        #[arg(long)]
        json: bool,
        /// Size of each chunk in MiB (a failed chunk is sent again whole).
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1024))]
        chunk_mib: u64,
        /// Send at most this many bytes per second on average.
        #[arg(long)]
        limit_rate: Option<u64>,
    },
    /// Copy this installation (its records and blobs) into another database and blob store, e.g. PostgreSQL and S3.
    /// Stop every Flick process on it first. Resumable: run it again after an interruption.
    Migrate {
        /// Configuration file of the installation to copy (default: ./config.yaml when it exists).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The destination database: postgres://USER:PASSWORD@HOST:PORT/DATABASE (or sqlite://PATH).
        #[arg(long, value_name = "URL")]
        to_database: String,
        /// The destination blob store: s3://BUCKET/PREFIX (endpoint and credentials from storage.s3 or the AWS_*
        /// variables), or a local folder.
        #[arg(long, value_name = "URL")]
        to_blobs: String,
        /// Also compare the SHA-256 of every blob in both stores (reads every byte again), not only its length.
        #[arg(long)]
        verify_content: bool,
    },
    /// Print every configuration key with its default and what it does.
    PrintConfig,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::PrintConfig => {
            print!("{}", config::EXAMPLE);
            ExitCode::SUCCESS
        }
        Command::Upload { files, server, wait, json, chunk_mib, limit_rate } => {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("flick: cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let options = upload_cli::Options { files, server, wait, json, chunk_bytes: chunk_mib << 20, limit_rate };
            if runtime.block_on(upload_cli::run(options)) { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Command::Serve { config: path, no_workers } => run_server(path, |mut config| async move {
            if no_workers {
                config.processing.workers = 0;
            }
            serve::run(config).await
        }),
        Command::Worker { config: path } => run_server(path, worker::run),
        Command::Migrate { config: path, to_database, to_blobs, verify_content } => {
            let options = migrate::Options { to_database, to_blobs, verify_content };
            run_migrate(path, options)
        }
    }
}

/// `flick migrate`: 0 when everything was copied and verified, 1 when it refused or failed, 2 on a bad configuration.
fn run_migrate(path: Option<PathBuf>, options: migrate::Options) -> ExitCode {
    let config = match config::load(path.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("flick migrate: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("flick migrate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(migrate::run(config, options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("flick migrate: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Loads the configuration and runs `run` on a multi-threaded runtime (`flick serve`, `flick worker`).
fn run_server<F, Fut>(path: Option<PathBuf>, run: F) -> ExitCode
where
    F: FnOnce(flick_domain::config::Config) -> Fut,
    Fut: std::future::Future<Output = Result<(), wiring::ServeError>>,
{
    let config = match config::load(path.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("flick: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("flick: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("flick: {e}");
            ExitCode::FAILURE
        }
    }
}
