//! The `flick` binary: `flick serve`, `flick print-config`.

mod config;
mod serve;

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
        Command::Serve { config: path } => {
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
            match runtime.block_on(serve::run(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("flick: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
