//! The video record and the changes a worker makes to it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ShareId, VideoId};

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
    /// The storage id: blob keys, jobs and the upload URL use it; viewers never see it.
    pub id: VideoId,
    /// The id of its public links (a new one when the owner revokes the link).
    pub share_id: ShareId,
    /// The file name the uploader gave (display only; never used in a path).
    pub original_name: String,
    /// The title its owner gave it; `None`: the file name without its extension.
    pub title: Option<String>,
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
    /// Its seek-bar previews (sprites and their WebVTT track) are stored.
    pub has_storyboard: bool,
    pub failure: Option<VideoFailure>,
    pub manage_token_hash: String,
    /// Who may watch it, as its owner set it.
    pub access: Access,
    /// Set when it was deleted (by its owner, or because its expiry or view limit ended it): a tombstone that every
    /// read treats as absent, kept until every blob of it is removed.
    pub deleted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Video {
    /// Whether it is gone for everyone but a purge: deleted (a tombstone), or its upload abandoned.
    pub fn is_gone(&self) -> bool {
        self.deleted_at.is_some()
            || (self.status == VideoStatus::Error && self.failure.as_ref().is_some_and(|f| f.code == UPLOAD_ABANDONED))
    }
}

/// How long the last allowed view of a video with a view limit may go on before the video is deleted.
pub const LAST_VIEW_GRACE: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// The owner's controls over who may watch a video.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Access {
    /// An argon2id hash (PHC string) of the password viewers must give; `None`: no password.
    pub password_hash: Option<String>,
    /// From then on the video is gone for everyone.
    pub expires_at: Option<DateTime<Utc>>,
    /// How many views are allowed ("burn after reading"); `None`: no limit.
    pub max_views: Option<u32>,
    /// Views counted since the limit was set.
    pub views: u32,
    /// When the last counted view started.
    pub last_view_at: Option<DateTime<Utc>>,
    /// Whether viewers may download the original; `None`: as the site's default (`share.allow_download`).
    pub allow_download: Option<bool>,
}

impl Access {
    /// Views still allowed, if there is a limit.
    pub fn views_left(&self) -> Option<u32> {
        self.max_views.map(|max| max.saturating_sub(self.views))
    }

    /// Whether the video is over for everyone at `now`: past its expiry, or its last allowed view started more than
    /// [`LAST_VIEW_GRACE`] ago.
    pub fn ended(&self, now: DateTime<Utc>) -> bool {
        let expired = self.expires_at.is_some_and(|t| t <= now);
        let used_up = self.views_left() == Some(0) && self.last_view_at.is_none_or(|t| t + LAST_VIEW_GRACE <= now);
        expired || used_up
    }
}

/// An owner's change to a video's title and access; `None` leaves a setting as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccessUpdate {
    /// A new title; `Some("")` gives the file name back.
    pub title: Option<String>,
    pub password_hash: Option<Option<String>>,
    pub expires_at: Option<Option<DateTime<Utc>>>,
    /// Setting a limit (or removing one) starts counting views again from zero.
    pub max_views: Option<Option<u32>>,
    pub allow_download: Option<bool>,
}

/// What is known of a video when its upload starts (resumable uploads) or has been accepted (plain uploads).
#[derive(Debug, Clone)]
pub struct NewVideo {
    pub id: VideoId,
    pub share_id: ShareId,
    /// `Uploading` for a resumable upload created before its bytes, `Processing` for a complete one.
    pub status: VideoStatus,
    pub original_name: String,
    pub size_bytes: u64,
    pub manage_token_hash: String,
    /// An opaque tag of the client address that uploaded it (never the address): the job queue takes turns between
    /// uploaders.
    pub uploader: Option<String>,
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
    pub has_storyboard: Option<bool>,
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

/// A caption track of a video, as its owner added it: its language (a BCP 47 tag, unique per video) and the name the
/// player's menu shows. The cues themselves are a WebVTT blob ([`crate::ports::BlobKey::caption`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caption {
    pub lang: String,
    pub label: String,
}

/// Why a caption's language or label is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CaptionError {
    #[error("the language must be a tag like en, pt-BR or zh-Hant (letters, digits and hyphens, at most 35)")]
    Lang,
    #[error("the label must be 1 to 40 characters, without control characters or quotes")]
    Label,
}

impl Caption {
    /// Checks a language tag (`en`, `pt-BR`, `zh-Hant-TW`: a 2–3 letter language, then subtags of 1–8 letters or
    /// digits) and a label (1–40 characters, none a control character or a double quote: it is quoted in playlists).
    pub fn new(lang: &str, label: &str) -> Result<Caption, CaptionError> {
        let mut parts = lang.split('-');
        let primary = parts.next().unwrap_or_default();
        let lang_ok = lang.len() <= 35
            && (2..=3).contains(&primary.len())
            && primary.bytes().all(|b| b.is_ascii_alphabetic())
            && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        if !lang_ok {
            return Err(CaptionError::Lang);
        }
        let label = label.trim();
        let count = label.chars().count();
        if count == 0 || count > 40 || label.chars().any(|c| c.is_control() || c == '"') {
            return Err(CaptionError::Label);
        }
        Ok(Caption { lang: lang.to_owned(), label: label.to_owned() })
    }
}

#[cfg(test)]
mod caption_tests {
    use super::*;

    #[test]
    fn caption_languages_and_labels_are_checked() {
        for good in ["en", "pt-BR", "zh-Hant-TW", "fil", "es-419"] {
            assert!(Caption::new(good, "Label").is_ok(), "{good}");
        }
        for bad in ["", "e", "english", "en_US", "en-", "-en", "en--US", "en/../x", "en US", "en-abcdefghi", "é"] {
            assert_eq!(Caption::new(bad, "Label"), Err(CaptionError::Lang), "{bad:?}");
        }
        for bad in ["", "   ", "a\"b", "line\nbreak", &"x".repeat(41)] {
            assert_eq!(Caption::new("en", bad), Err(CaptionError::Label), "{bad:?}");
        }
        assert_eq!(Caption::new("en", "  English  ").unwrap().label, "English");
    }
}
