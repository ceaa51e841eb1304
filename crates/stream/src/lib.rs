//! What can be streamed of a video right now, for the HTTP layer (serving viewers) and the workers (feeding ffmpeg):
//!
//! - [`original`]: a video's original file, whether its upload is still arriving (read from the spool, waiting for
//!   bytes) or complete (read from the store).
//! - [`packages`]: the packages of videos delivered from their original (`hls/{id}/package`), cached.
//! - [`cut`]: which fMP4 segments of a package can be served given what has arrived, their playlists, and their bytes
//!   (header + ranges of the original).

pub mod cut;
pub mod original;
pub mod packages;

pub use original::{Arrived, Original, StreamError};
pub use packages::Packages;
