//! Flick end to end: the real `flick` binary on 127.0.0.1, real ffmpeg on real clips, real tus clients, real
//! PostgreSQL and S3 when `make test-scaled` provides them. One test binary (one link), one module per story.

mod common;

mod access;
mod attacks;
mod bad_input;
mod cluster;
mod crash;
mod download;
mod fairness;
mod formats;
mod ladder;
mod live;
mod logs;
mod metrics;
mod migrate;
mod privacy;
mod scale_out;
mod tus;
mod tus_interop;
mod upload_cli;
mod viewer_extras;
