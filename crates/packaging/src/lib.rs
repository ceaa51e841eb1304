//! Flick's packaging: what viewers are served, independent of how it was made.
//!
//! - [`playlist`]: HLS master and media playlists: rendered for viewers, parsed back from ffmpeg's segmenter.
//! - [`webvtt`]: captions read as hostile input and written back as plain WebVTT, and their HLS playlists.
//! - [`mp4`]: finds the index (`moov`) of an MP4/MOV original while it uploads ([`mp4::BoxScanner`]), reads it as
//!   hostile input ([`mp4::parse_movie`]) and cuts it into fMP4 (CMAF) segments built just in time from the
//!   original's own bytes ([`mp4::package`], nginx-vod-module's idea): no remux, no copy.
//!
//! No I/O and no runtime: every function works on byte slices, so the HTTP layer and the workers share it.

pub mod mp4;
pub mod playlist;
pub mod webvtt;
