//! Flick's domain: what a video is, how it is identified, how Flick is configured, and the
//! ports (traits) through which the HTTP layer and the workers reach storage and the job queue.
//!
//! This crate depends on no framework: no web server, no database driver, no media tool.
//!
//! - [`ids`]: video ids and manage tokens; [`video`]: the record, its statuses and delivery; [`config`]: every key;
//! - [`upload`]: accepting an upload (names, container sniffing); [`layout`]: which bytes of a file an upload has
//!   delivered, front to back or index first;
//! - [`ports`]: `Repo`, `UploadRepo`, `UploadSpool`, `Store`, `JobQueue`.

pub mod config;
pub mod ids;
pub mod layout;
pub mod ports;
pub mod upload;
pub mod video;

pub use ids::{IdError, ManageToken, ShareId, VideoId};
pub use video::{
    Access, AccessUpdate, Caption, CaptionError, Delivery, NewVideo, UPLOAD_ABANDONED, Video, VideoFailure,
    VideoStatus, VideoUpdate,
};
