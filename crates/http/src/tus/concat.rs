//! The tus `concatenation` extension, for clients that split a file into parts uploaded side by side
//! (tus-js-client's `parallelUploads`): `POST` with `Upload-Concat: partial` creates a part (no video of its own,
//! not sniffed alone); `POST` with `Upload-Concat: final;URL URL…` joins finished parts, in that order, into the
//! video, which is then processed like any complete upload. Parts must be complete when the final upload is
//! declared (Flick does not offer `concatenation-unfinished`: its own clients send the index first instead).

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flick_domain::ports::{ByteRange, UploadRecord};
use flick_domain::upload::{SNIFF_LEN, clean_file_name, sniff};
use flick_domain::{ManageToken, ShareId, VideoId};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::headers::{self as h, Metadata};
use super::lookup::{Found, find, lock, share_links};
use crate::error::ApiError;
use crate::intake::{FinishedUpload, TempFile, accept_finished, check_declared_name, name_for, not_a_video};
use crate::state::AppState;

/// Most parts one final upload may join.
const MAX_PARTS: usize = 64;

/// What `Upload-Concat` asks for.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Concat {
    Partial,
    /// The parts' ids, in order.
    Final(Vec<VideoId>),
}

/// Parses `Upload-Concat`: `partial`, or `final;` and the parts' URLs (absolute or paths) separated by spaces.
pub(super) fn parse(headers: &HeaderMap) -> Result<Option<Concat>, ApiError> {
    let Some(value) = headers.get(&h::UPLOAD_CONCAT) else { return Ok(None) };
    let bad = |why: &str| ApiError::BadRequest(format!("malformed Upload-Concat: {why}"));
    let text = value.to_str().map_err(|_| bad("not ASCII"))?.trim();
    if text == "partial" {
        return Ok(Some(Concat::Partial));
    }
    let urls = text.strip_prefix("final;").ok_or_else(|| bad("expected \"partial\" or \"final;URL URL…\""))?;
    let ids = urls
        .split(' ')
        .filter(|u| !u.is_empty())
        .map(|u| {
            let path = u.split_once("://").map_or(u, |(_, rest)| rest.find('/').map_or("", |i| &rest[i..]));
            let id = path.strip_prefix("/api/uploads/").ok_or_else(|| bad("a part is not an upload of this server"))?;
            VideoId::parse(id).map_err(|_| bad("a part is not an upload of this server"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if ids.is_empty() || ids.len() > MAX_PARTS {
        return Err(bad(&format!("a final upload joins 1 to {MAX_PARTS} parts")));
    }
    Ok(Some(Concat::Final(ids)))
}

/// `POST /api/uploads` with `Upload-Concat: final;…`: joins the parts into a new video (complete at once).
/// The parts' bytes were granted when they were created: `uploader` only tags the video.
pub(super) async fn create_final(
    state: &AppState,
    parts: Vec<VideoId>,
    meta: Metadata,
    uploader: String,
) -> Result<Response, ApiError> {
    let file_name = meta.filename.as_deref().map(clean_file_name).filter(|n| !n.is_empty());
    check_declared_name(state, file_name.as_deref())?;
    crate::intake::check_file_type(state, meta.filetype.as_deref())?;
    // Every part is held while it is read: none may change or be deleted meanwhile.
    let mut guards = Vec::with_capacity(parts.len());
    let mut records: Vec<UploadRecord> = Vec::with_capacity(parts.len());
    for id in &parts {
        if records.iter().any(|r| r.id == *id) {
            return Err(ApiError::BadRequest("a part is listed twice in Upload-Concat".into()));
        }
        guards.push(lock(state, *id).await?);
        let Found::Unfinished(part) = find(state, *id, true).await? else { return Err(ApiError::NotFound) };
        if !part.partial {
            return Err(ApiError::BadRequest("Upload-Concat: final may only join partial uploads".into()));
        }
        if part.offset != part.length {
            return Err(ApiError::BadRequest("every part must be complete before the final upload is created".into()));
        }
        records.push(part);
    }
    let length: u64 = records.iter().map(|r| r.length).sum();
    let max = state.config.upload.max_bytes;
    if length > max {
        return Err(ApiError::TooLarge { limit: max });
    }

    tokio::fs::create_dir_all(&state.scratch_dir).await?;
    let mut joined = TempFile::new(state.scratch_dir.join(format!("upload-{}.part", VideoId::new())));
    let mut out = tokio::io::BufWriter::with_capacity(1 << 20, tokio::fs::File::create_new(joined.path()).await?);
    let mut head = Vec::with_capacity(SNIFF_LEN);
    for part in &records {
        let range = ByteRange { start: 0, end: part.length - 1 };
        let mut body = state.spool.read(part, range).await.map_err(|e| ApiError::Internal(e.to_string()))?;
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            if head.len() < SNIFF_LEN {
                head.extend_from_slice(&chunk[..chunk.len().min(SNIFF_LEN - head.len())]);
            }
            out.write_all(&chunk).await?;
        }
    }
    out.flush().await?;
    // What is acknowledged must be on disk.
    out.into_inner().sync_all().await?;
    let container = sniff(&head).ok_or_else(not_a_video)?;
    let name = name_for(state, file_name, container)?;

    let (id, share_id) = (VideoId::new(), ShareId::new());
    let token = ManageToken::generate().map_err(|e| ApiError::Internal(e.to_string()))?;
    let finished = FinishedUpload {
        id,
        share_id,
        local: joined.path(),
        size: length,
        original_name: name,
        manage_token_hash: token.hash(),
        uploader,
    };
    accept_finished(state, finished).await?;
    joined.disarm();
    for part in &records {
        if let Err(e) = crate::lifecycle::remove_upload(state, part.id).await {
            tracing::warn!(video_id = %part.id, error = %e, "cannot remove a joined part");
        }
    }
    drop(guards);
    flick_telemetry::metrics().upload_completed(flick_telemetry::UploadKind::Tus);
    tracing::info!(video_id = %id, parts = records.len(), length, "tus parts joined into a video");

    let mut out = HeaderMap::new();
    let location =
        HeaderValue::from_str(&format!("/api/uploads/{id}")).map_err(|e| ApiError::Internal(e.to_string()))?;
    out.insert(header::LOCATION, location);
    out.insert(
        h::FLICK_MANAGE_TOKEN,
        HeaderValue::from_str(token.expose()).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    out.insert(h::UPLOAD_OFFSET, h::number_value(length));
    share_links(share_id, &mut out);
    Ok((StatusCode::CREATED, out).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(h::UPLOAD_CONCAT, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn upload_concat_is_parsed_strictly() {
        let (a, b) = (VideoId::new(), VideoId::new());
        assert_eq!(parse(&HeaderMap::new()).unwrap(), None);
        assert_eq!(parse(&headers("partial")).unwrap(), Some(Concat::Partial));
        let v = format!("final;/api/uploads/{a} http://host:8080/api/uploads/{b}");
        assert_eq!(parse(&headers(&v)).unwrap(), Some(Concat::Final(vec![a, b])));
        for bad in ["final;", "final", "partly", &format!("final;/other/{a}"), "final;/api/uploads/../x"] {
            assert!(parse(&headers(bad)).is_err(), "{bad}");
        }
    }
}
