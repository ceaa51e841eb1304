//! Flick's domain: what a video is, how it is identified, how Flick is configured, and the
//! ports (traits) through which the HTTP layer and the workers reach storage and the job queue.
//!
//! This crate depends on no framework: no web server, no database driver, no media tool.

pub mod config;
pub mod ids;
pub mod ports;
pub mod upload;
pub mod video;

pub use ids::{IdError, ManageToken, VideoId};
pub use video::{NewVideo, Video, VideoFailure, VideoStatus, VideoUpdate};
