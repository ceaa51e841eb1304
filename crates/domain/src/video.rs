//! The video record and the changes a worker makes to it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::VideoId;

/// Where a video is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoStatus {
    /// Its upload is still arriving; it may already play (the stream grows with the upload).
    Uploading,
    Processing,
    Ready,
    Error,
}

impl VideoStatus {
    /// The lowercase name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            VideoStatus::Uploading => "uploading",
            VideoStatus::Processing => "processing",
            VideoStatus::Ready => "ready",
            VideoStatus::Error => "error",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "uploading" => Some(VideoStatus::Uploading),
            "processing" => Some(VideoStatus::Processing),
            "ready" => Some(VideoStatus::Ready),
            "error" => Some(VideoStatus::Error),
            _ => None,
        }
    }
}

/// How a video's stream reaches viewers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Delivery {
    /// HLS files (playlists and MPEG-TS segments) that a worker wrote into the store.
    #[default]
    Stored,
    /// fMP4 segments cut on request from the original upload's own bytes, as its package (`hls/{id}/package`) says:
    /// nothing is re-encoded or copied, and a segment can be served as soon as its bytes have been uploaded.
    Original,
}

impl Delivery {
    /// The lowercase name used in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Stored => "stored",
            Delivery::Original => "original",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "stored" => Some(Delivery::Stored),
            "original" => Some(Delivery::Original),
            _ => None,
        }
    }
}

/// The error code of a video whose upload was cancelled or expired before its last byte.
pub const UPLOAD_ABANDONED: &str = "upload_abandoned";

/// Why a video could not be processed: a stable machine code and a sentence a person understands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoFailure {
    pub code: String,
    pub message: String,
}

/// A stored video record.
#[derive(Debug, Clone, PartialEq)]
pub struct Video {
    pub id: VideoId,
    /// The file name the uploader gave (display only; never used in a path).
    pub original_name: String,
    pub size_bytes: u64,
    pub status: VideoStatus,
    /// True once the first HLS segment is listed in a published playlist (stored delivery; for delivery from the
    /// original it is derived from the upload's progress when asked).
    pub playable: bool,
    /// Seconds of the video listed in its published playlist (stored delivery).
    pub playable_seconds: f64,
    pub delivery: Delivery,
    /// 0.0 ..= 1.0
    pub progress: f64,
    pub duration_seconds: Option<f64>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub has_thumbnail: bool,
    pub failure: Option<VideoFailure>,
    pub manage_token_hash: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What is known of a video when its upload starts (resumable uploads) or has been accepted (plain uploads).
#[derive(Debug, Clone)]
pub struct NewVideo {
    pub id: VideoId,
    /// `Uploading` for a resumable upload created before its bytes, `Processing` for a complete one.
    pub status: VideoStatus,
    pub original_name: String,
    pub size_bytes: u64,
    pub manage_token_hash: String,
}

/// A partial update of a video record; `None` fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VideoUpdate {
    pub status: Option<VideoStatus>,
    pub playable: Option<bool>,
    pub playable_seconds: Option<f64>,
    pub delivery: Option<Delivery>,
    pub progress: Option<f64>,
    pub duration_seconds: Option<f64>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub has_thumbnail: Option<bool>,
    /// Set together with `status: Some(Error)`; any other status change clears the failure.
    pub failure: Option<VideoFailure>,
}

impl VideoUpdate {
    /// The update that marks a video failed with a reason.
    pub fn failed(code: &str, message: impl Into<String>) -> Self {
        VideoUpdate {
            status: Some(VideoStatus::Error),
            failure: Some(VideoFailure { code: code.to_owned(), message: message.into() }),
            ..Default::default()
        }
    }
}
