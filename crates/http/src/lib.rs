//! Flick's HTTP surface: the JSON API, upload intake, HLS and thumbnail serving, and share pages.
//!
//! It depends on the domain's ports (and on `flick-stream` for what can be served of a video now); which database,
//! blob store or queue sits behind them is decided by the binary that builds [`AppState`].
//!
//! - [`client`]: who a request comes from (the peer, or who trusted proxies forwarded for) and its limits' key;
//! - intake: [`upload`] (`POST /api/upload`), [`tus`] (resumable uploads, written once over the upload spool),
//!   `intake` (what both share: names, types, a complete file becoming a video), [`limits`] (abuse limits),
//!   `upload_locks` (one writer per upload in this process);
//! - `videos` (status as viewers may see it, listing), `owner` (title, password, expiry, view limit, revoke, delete),
//!   `gate` (who may see a video: the manage token, password and view cookies), `lifecycle` (ending a video:
//!   tombstone, purge, the sweeper), `links`, `captions` (the owner's caption tracks, and serving them);
//! - `streams` (playlists with blocking reloads, segments from the original or the store, storyboards, thumbnails),
//!   `blobs` (a blob whole or by range), `downloads` (the original, or an MP4 of the stream, as an attachment);
//! - `pages` and `web` (the web app, share and embed pages, health), `ready` (`/readyz`), `metrics`, `headers` (security headers, request spans),
//!   `error` (the one mapping from failures to HTTP), `state`.

mod blobs;
mod captions;
pub mod client;
mod downloads;
mod error;
mod gate;
mod headers;
mod intake;
mod lifecycle;
pub mod limits;
mod links;
mod metrics;
mod owner;
mod pages;
mod ready;
mod state;
mod streams;
pub mod tus;
mod upload;
mod upload_locks;
mod videos;
mod web;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

pub use error::ApiError;
pub use gate::Gate;
pub use lifecycle::{run_sweeper, sweep};
pub use metrics::ops_router;
pub use ready::ReadyCache;
pub use state::AppState;
pub use upload_locks::UploadLocks;
pub use web::WebUi;

/// The whole application router. Tests and the binary both build it from an [`AppState`].
pub fn router(state: AppState) -> Router {
    // Per-address, disk and slow-body limits on every upload route (see limits.rs).
    let limits = limits::UploadLimits::new(&state.config, state.scratch_dir.clone());
    let api = Router::new()
        .route("/api/upload", post(upload::upload).put(upload::upload).layer(DefaultBodyLimit::disable()))
        .route("/api/video/{id}", get(videos::get_video).patch(owner::update).delete(owner::delete))
        .route("/api/video/{id}/revoke", post(owner::revoke))
        .route("/api/video/{id}/unlock", post(owner::unlock))
        // Caption files are small: the default body limit (2 MB) stands, and the handler's own is lower.
        .route("/api/video/{id}/captions", post(captions::add))
        .route("/api/video/{id}/captions/{lang}", axum::routing::delete(captions::remove))
        .route("/api/videos", get(videos::list_videos))
        .route("/api/config", get(videos::public_config));
    let api = api.merge(tus::routes());
    let media = Router::new()
        .route("/streams/{id}/{file}", get(streams::stream_file))
        .route("/streams/{id}/{rendition}/{file}", get(streams::stream_rendition_file))
        .route("/streams/{id}/captions/{file}", get(captions::serve))
        .route("/thumbnails/{file}", get(streams::thumbnail));
    let pages = Router::new()
        .route("/", get(pages::home))
        .route("/library", get(pages::library))
        .route("/v/{id}", get(pages::share_page))
        .route("/embed/{id}", get(pages::embed_page))
        .route("/v/{id}/download", get(downloads::download))
        .route("/assets/{*path}", get(pages::ui_asset))
        .route("/static/{file}", get(pages::static_asset))
        .route("/healthz", get(pages::healthz))
        .route("/readyz", get(pages::readyz))
        .route("/metrics", get(metrics::metrics));
    Router::new()
        .merge(api)
        .merge(media)
        .merge(pages)
        .fallback(pages::fallback)
        .layer(axum::middleware::from_fn_with_state(limits, limits::limit_uploads))
        // Who the client is (behind trusted proxies too), before any limit counts it.
        .layer(axum::middleware::from_fn_with_state(
            client::ClientAddresses::new(&state.config.server),
            client::identify,
        ))
        .layer(axum::middleware::from_fn(headers::security_headers))
        .layer(axum::middleware::from_fn(headers::request_span))
        .with_state(state)
}
