//! `GET /v/{id}/download`: what viewers download, where its owner allows it — the original as uploaded, or an MP4
//! of the stream where the original is gone — as an attachment named after the title.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use chrono::Utc;
use flick_domain::ports::BlobKey;
use flick_domain::upload::extension_of;

use crate::blobs::{GROWING, serve_blob};
use crate::error::ApiError;
use crate::state::AppState;
use crate::videos::{DownloadFile, Seen, display_title, download_file, load};

/// `GET /v/{id}/download`: the original file as uploaded (or, where it is gone, an MP4 of the first rendition), as
/// an attachment named after the video's title, where [`download_file`] says; else 404. Behind the video's password; Range requests resume a download.
pub async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Seen { video, .. } = load(&state, &id, &headers).await?;
    state.gate.check_password(&headers, &video, Utc::now())?;
    let (key, ext) = match download_file(&state, &video).await?.ok_or(ApiError::NotFound)? {
        DownloadFile::Original => {
            (BlobKey::raw(video.id), extension_of(&video.original_name).unwrap_or_else(|| "mp4".to_owned()))
        }
        DownloadFile::Remuxed => (BlobKey::download(video.id), "mp4".to_owned()),
    };
    let content_type = match ext.as_str() {
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "mkv" => "video/x-matroska",
        "webm" => "video/webm",
        _ => "application/octet-stream",
    };
    let mut response = serve_blob(&state, &key, &headers, content_type, GROWING).await?;
    let disposition = attachment(&display_title(&video), &ext);
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    tracing::info!(video_id = %video.id, "original downloaded");
    Ok(response)
}

/// `attachment` with the title as file name: letters, digits and `-_.() ` only in `filename` (others become `_`),
/// the whole title in `filename*` (RFC 5987, percent-encoded UTF-8).
fn attachment(title: &str, ext: &str) -> String {
    let ext: String = ext.chars().filter(char::is_ascii_alphanumeric).take(10).collect();
    let clean: String = title.chars().filter(|c| !c.is_control() && !matches!(c, '/' | '\\')).take(120).collect();
    let clean = clean.trim();
    let clean = if clean.is_empty() { "video" } else { clean };
    let ascii: String =
        clean.chars().map(|c| if c.is_ascii_alphanumeric() || " -_.()".contains(c) { c } else { '_' }).collect();
    let mut encoded = String::new();
    for b in format!("{clean}.{ext}").bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{}.{ext}\"; filename*=UTF-8''{encoded}", ascii.trim_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_are_named_after_the_title_with_safe_characters() {
        assert_eq!(
            attachment("Beach day", "mp4"),
            "attachment; filename=\"Beach day.mp4\"; filename*=UTF-8''Beach%20day.mp4"
        );
        assert_eq!(
            attachment("été \"quoted\"; x=1", "mov"),
            "attachment; filename=\"_t_ _quoted__ x_1.mov\"; filename*=UTF-8''%C3%A9t%C3%A9%20%22quoted%22%3B%20x%3D1.mov"
        );
        assert_eq!(
            attachment("../../etc/passwd", "mp4"),
            "attachment; filename=\"etcpasswd.mp4\"; filename*=UTF-8''....etcpasswd.mp4"
        );
        assert_eq!(attachment("\n", "webm"), "attachment; filename=\"video.webm\"; filename*=UTF-8''video.webm");
    }
}
