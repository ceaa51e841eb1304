//! What every intake (`POST /api/upload`, tus) shares before a byte becomes a video: the name and type rules, the
//! scratch file that never outlives a failed upload, and turning a complete file into a video.

use std::path::{Path, PathBuf};

use chrono::Utc;
use flick_domain::ports::{BlobKey, Budgets};
use flick_domain::upload::{Container, dated_name, extension_of};
use flick_domain::{NewVideo, ShareId, VideoId, VideoStatus};

use crate::client::ClientIp;
use crate::error::ApiError;
use crate::state::AppState;

/// A complete upload in the scratch area, fsynced, with everything its video record needs.
pub(crate) struct FinishedUpload<'a> {
    pub id: VideoId,
    /// The id of its links.
    pub share_id: ShareId,
    /// The file; [`accept_finished`] moves it into the store.
    pub local: &'a Path,
    pub size: u64,
    pub original_name: String,
    pub manage_token_hash: String,
    /// The uploader's tag ([`reserve_bytes`]).
    pub uploader: String,
}

/// Turns a finished upload into a video, the same way for every intake (`POST /api/upload`, tus):
/// the file becomes `raw/{id}`, then the record (`processing`) and its processing job are created together.
pub(crate) async fn accept_finished(state: &AppState, upload: FinishedUpload<'_>) -> Result<(), ApiError> {
    let id = upload.id;
    let raw = BlobKey::raw(id);
    state.store.put_file(&raw, upload.local).await?;
    let record = NewVideo {
        id,
        share_id: upload.share_id,
        status: VideoStatus::Processing,
        original_name: upload.original_name,
        size_bytes: upload.size,
        manage_token_hash: upload.manage_token_hash,
        uploader: Some(upload.uploader),
    };
    // One transaction: a video is never left `processing` without a job to process it (nor a job without its video).
    if let Err(e) = state.repo.create_video(&record).await {
        // The transaction recorded nothing: a blob no record owns must not stay behind.
        let _ = state.store.delete(&raw).await;
        return Err(e.into());
    }
    tracing::info!(video_id = %id, bytes = upload.size, "upload accepted");
    Ok(())
}

/// Grants a new upload of `bytes` from `client` against the byte budgets (`unfinished`: a resumable upload, whose
/// bytes also count as unfinished until it completes), or refuses it (429 for the address's budgets, 507 for the
/// installation's). Returns the uploader's tag, for its records.
pub(crate) async fn reserve_bytes(
    state: &AppState,
    client: &ClientIp,
    bytes: u64,
    unfinished: bool,
) -> Result<String, ApiError> {
    let tag = state.gate.uploader_tag(client.key);
    let budgets = Budgets {
        uploader_per_day: state.config.upload.max_bytes_per_ip_per_day,
        uploader_unfinished: state.config.upload.max_unfinished_bytes_per_ip,
        total: state.config.storage.max_total_bytes,
    };
    match state.repo.reserve_bytes(&tag, bytes, unfinished, &budgets, Utc::now()).await? {
        Ok(()) => Ok(tag),
        Err(over) => {
            tracing::info!(ip = %client.ip, bytes, ?over, "upload refused by a byte budget");
            Err(ApiError::OverBudget(over))
        }
    }
}

/// Refuses a declared file name whose extension is not allowed, before any byte is stored.
pub(crate) fn check_declared_name(state: &AppState, name: Option<&str>) -> Result<(), ApiError> {
    if let Some(ext) = name.and_then(extension_of)
        && !state.config.upload.allowed_extensions.iter().any(|a| a.eq_ignore_ascii_case(&ext))
    {
        return Err(unsupported_extension(state, &ext));
    }
    Ok(())
}

pub(crate) fn unsupported_extension(state: &AppState, ext: &str) -> ApiError {
    let allowed: Vec<String> = state.config.upload.allowed_extensions.iter().map(|e| e.to_uppercase()).collect();
    ApiError::UnsupportedMedia(format!(".{ext} files are not accepted; upload one of: {}", allowed.join(", ")))
}

/// The name a video is stored under: the declared one when it has an extension, else one made from the
/// container (which must then be an allowed type).
pub(crate) fn name_for(state: &AppState, name: Option<String>, container: Container) -> Result<String, ApiError> {
    match name {
        Some(n) if extension_of(&n).is_some() => Ok(n),
        other => {
            // No usable name: judge the type from the content.
            let ext = container.default_extension();
            if !state.config.upload.allowed_extensions.iter().any(|a| a.eq_ignore_ascii_case(ext)) {
                return Err(unsupported_extension(state, ext));
            }
            let stem = other.filter(|n| !n.is_empty()).unwrap_or_else(|| dated_name(chrono::Utc::now()));
            Ok(format!("{stem}.{ext}"))
        }
    }
}

pub(crate) fn not_a_video() -> ApiError {
    ApiError::UnsupportedMedia("this file is not a video in a format Flick accepts (MP4, MOV, MKV or WebM)".into())
}

/// A scratch file deleted on drop unless disarmed, so a failed or abandoned upload leaves nothing behind.
pub(crate) struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    pub(crate) fn new(path: PathBuf) -> Self {
        TempFile { path, armed: true }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The file now belongs to someone else (it was moved into the store).
    pub(crate) fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed
            && let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %e, "could not remove a partial upload");
        }
    }
}

/// The MIME types browsers give the four containers (Chromium says `video/matroska` for .mkv, others
/// `video/x-matroska`), with the extension each stands for.
const VIDEO_TYPES: &[(&str, &str)] = &[
    ("video/mp4", "mp4"),
    ("video/quicktime", "mov"),
    ("video/x-matroska", "mkv"),
    ("video/matroska", "mkv"),
    ("video/webm", "webm"),
];

/// Refuses a declared type (tus `filetype`) that is not a video type Flick accepts. Absent or generic is fine: the
/// content is sniffed anyway.
pub(crate) fn check_file_type(state: &AppState, file_type: Option<&str>) -> Result<(), ApiError> {
    let Some(mime) = file_type.map(|t| t.split(';').next().unwrap_or("").trim().to_ascii_lowercase()) else {
        return Ok(());
    };
    if mime.is_empty() || mime == "application/octet-stream" {
        return Ok(());
    }
    let allowed = |ext: &str| state.config.upload.allowed_extensions.iter().any(|a| a.eq_ignore_ascii_case(ext));
    let known = VIDEO_TYPES.iter().filter(|(m, _)| *m == mime).map(|(_, e)| *e);
    let guessed = mime_guess::get_mime_extensions_str(&mime).unwrap_or(&[]).iter().copied();
    if mime.starts_with("video/") && known.chain(guessed).any(allowed) {
        return Ok(());
    }
    Err(ApiError::UnsupportedMedia(format!("{mime} files are not accepted; upload a video")))
}
