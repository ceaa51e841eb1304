//! One request's body into the spool: the first bytes are checked as they pass (a video container; for an
//! index-first upload, an MP4 index where the client said it starts), the bytes are made durable and their offset
//! recorded every few hundred milliseconds while they arrive (so whoever follows the upload sees them at once), and
//! the last byte completes the upload. A chunk with an `Upload-Checksum` counts only once all of it is verified.

use axum::body::Body;
use chrono::Utc;
use flick_domain::layout::UploadLayout;
use flick_domain::ports::{ByteRange, JobKind, SpoolError, UploadRecord};
use flick_domain::upload::{SNIFF_LEN, sniff};
use futures_util::StreamExt;

use super::complete;
use super::headers::Checksum;
use super::lookup::{Progress, expiry};
use crate::error::ApiError;
use crate::state::AppState;

/// Receives `body` at transmission offset `offset` (the reconciled, recorded one). The caller holds the lock.
pub(super) async fn receive(
    state: &AppState,
    upload: &UploadRecord,
    offset: u64,
    body: Body,
    mut checksum: Option<Checksum>,
) -> Result<Progress, ApiError> {
    let mut gate = FirstBytes::resume(state, upload, offset).await?;
    let mut writer = state.spool.writer(upload, offset).await.map_err(spool_error)?;
    let mut recorder = Recorder { state, upload, recorded: offset, started: offset, expires_at: upload.expires_at };
    // Unverified bytes never count: with a checksum, nothing is committed before the whole chunk matched.
    let progressive = checksum.is_none();
    let mut at = offset;
    let mut cut = false;
    let mut body = body.into_data_stream();
    let refused: Option<ApiError> = loop {
        let chunk = match body.next().await {
            None => break None,
            Some(Ok(chunk)) => chunk,
            Some(Err(e)) => {
                tracing::info!(video_id = %upload.id, error = %e, "tus chunk ended early");
                cut = true;
                break None;
            }
        };
        if chunk.len() as u64 > upload.length - at {
            break Some(ApiError::ExceedsUploadLength);
        }
        if let Err(e) = gate.check(at, &chunk) {
            break Some(e);
        }
        if let Some(c) = checksum.as_mut() {
            c.update(&chunk);
        }
        writer.write(&chunk).await.map_err(spool_error)?;
        at += chunk.len() as u64;
        if progressive && at < upload.length && writer.commit_due() {
            let durable = writer.commit().await.map_err(spool_error)?;
            recorder.record(durable).await?;
        }
    };
    let refused = refused.or_else(|| gate.end(at, upload.length).err());
    if let Some(error) = refused {
        writer.rollback().await.map_err(spool_error)?;
        if matches!(error, ApiError::UnsupportedMedia(_)) {
            // Not a video at all: the upload and its video end here (keeping its bytes would serve nobody).
            crate::lifecycle::end_upload(state, upload.id, "unsupported_media_type", NOT_A_VIDEO).await?;
            tracing::info!(video_id = %upload.id, "tus upload is not a video; ended");
        }
        return Err(error);
    }
    if let Some(c) = checksum {
        // An unverifiable (cut) chunk is as untrustworthy as a wrong one.
        if cut || !c.matches() {
            writer.rollback().await.map_err(spool_error)?;
            return Err(if cut { ApiError::UploadAborted } else { ApiError::ChecksumMismatch });
        }
    }
    let durable = writer.commit().await.map_err(spool_error)?;
    drop(writer);
    if durable == upload.length && !upload.partial {
        complete::finish(state, upload).await?;
        return Ok(Progress { offset: durable, finished: true, expires_at: upload.expires_at });
    }
    let expires_at = recorder.record(durable).await?;
    if cut { Err(ApiError::UploadAborted) } else { Ok(Progress { offset: durable, finished: false, expires_at }) }
}

/// What the uploader reads when the first bytes are not a video.
const NOT_A_VIDEO: &str = "This file is not a video in a format Flick accepts (MP4, MOV, MKV or WebM).";

fn spool_error(e: SpoolError) -> ApiError {
    if e.is_gone() { ApiError::NotFound } else { ApiError::Internal(e.to_string()) }
}

/// Bytes one request must store for an unfinished upload to be kept longer (or the rest of the upload, if less): a
/// trickle of a byte a day must not keep gigabytes reserved for ever.
pub(super) const KEEP_ALIVE_BYTES: u64 = 1 << 20;

/// Records durable offsets as they advance.
struct Recorder<'a> {
    state: &'a AppState,
    upload: &'a UploadRecord,
    recorded: u64,
    /// The offset this request started at.
    started: u64,
    /// The expiry last recorded.
    expires_at: chrono::DateTime<Utc>,
}

impl Recorder<'_> {
    /// Records `durable` (and a later expiry, once this request has made real progress: [`KEEP_ALIVE_BYTES`]);
    /// returns the expiry. An upload removed meanwhile (its video deleted) answers 404. The first bytes of an upload
    /// wake its processing job.
    async fn record(&mut self, durable: u64) -> Result<chrono::DateTime<Utc>, ApiError> {
        let progress = durable.saturating_sub(self.started);
        let needed = KEEP_ALIVE_BYTES.min(self.upload.length.saturating_sub(self.started)).max(1);
        if durable == self.recorded {
            return Ok(self.expires_at);
        }
        let expires_at = if progress >= needed { expiry(self.state, Utc::now()) } else { self.expires_at };
        if !self.state.uploads.set_upload_offset(self.upload.id, durable, expires_at).await? {
            return Err(ApiError::NotFound);
        }
        if self.recorded == 0 && !self.upload.partial {
            // A job that gave up waiting for the first bytes is queued again (enqueueing is idempotent).
            if let Err(e) = self.state.queue.enqueue(self.upload.id, JobKind::Process).await {
                tracing::warn!(video_id = %self.upload.id, error = %e, "cannot queue the processing job");
            }
        }
        self.recorded = durable;
        self.expires_at = expires_at;
        tracing::debug!(video_id = %self.upload.id, offset = durable, "tus bytes stored");
        Ok(expires_at)
    }
}

/// A few bytes of the transmission that must be checked before anything after them counts.
struct Window {
    /// Transmission offset where it starts.
    start: u64,
    bytes: Vec<u8>,
    want: usize,
    kind: WindowKind,
    decided: bool,
}

enum WindowKind {
    /// The file's first bytes: a container Flick accepts.
    FileHead,
    /// The first bytes sent by an index-first upload: the header of the `moov` box the client said starts there.
    IndexBox,
}

/// The checks on an upload's first bytes, as its requests pass them.
struct FirstBytes {
    windows: Vec<Window>,
}

impl FirstBytes {
    /// The windows of `upload`, with the bytes before `offset` that earlier requests stored.
    async fn resume(state: &AppState, upload: &UploadRecord, offset: u64) -> Result<FirstBytes, ApiError> {
        if upload.partial {
            // A part of a concatenation is checked as the whole it becomes.
            return Ok(FirstBytes { windows: Vec::new() });
        }
        let layout = upload.layout();
        // The file's head is sent after the tail (nothing of it, front to back): at most its first SNIFF_LEN bytes.
        let head_bytes = upload.length - layout.tail_len();
        let head_len = SNIFF_LEN.min(usize::try_from(head_bytes).unwrap_or(SNIFF_LEN));
        let mut windows = vec![Window {
            start: layout.tail_len(),
            bytes: Vec::new(),
            want: head_len,
            kind: WindowKind::FileHead,
            decided: false,
        }];
        if layout.index_offset().is_some() {
            let want = 16.min(usize::try_from(layout.tail_len()).unwrap_or(16));
            windows.push(Window { start: 0, bytes: Vec::new(), want, kind: WindowKind::IndexBox, decided: false });
        }
        for w in &mut windows {
            let end = w.start + w.want as u64;
            if offset >= end {
                w.decided = true;
            } else if offset > w.start {
                w.bytes = read_transmission(state, upload, &layout, w.start, offset).await?;
            }
        }
        Ok(FirstBytes { windows })
    }

    /// Checks the bytes of `chunk`, sent at transmission offset `at`.
    fn check(&mut self, at: u64, chunk: &[u8]) -> Result<(), ApiError> {
        let end = at + chunk.len() as u64;
        for w in self.windows.iter_mut().filter(|w| !w.decided) {
            let w_end = w.start + w.want as u64;
            let (lo, hi) = (at.max(w.start + w.bytes.len() as u64), end.min(w_end));
            if lo < hi {
                w.bytes.extend_from_slice(&chunk[(lo - at) as usize..(hi - at) as usize]);
            }
            if w.bytes.len() >= w.want {
                w.decide()?;
            }
        }
        Ok(())
    }

    /// The body ended at `at` of an upload of `length` bytes: a window the file's end cut short is decided now.
    fn end(&mut self, at: u64, length: u64) -> Result<(), ApiError> {
        if at < length {
            return Ok(());
        }
        for w in self.windows.iter_mut().filter(|w| !w.decided) {
            w.decide()?;
        }
        Ok(())
    }
}

impl Window {
    fn decide(&mut self) -> Result<(), ApiError> {
        self.decided = true;
        match self.kind {
            WindowKind::FileHead => sniff(&self.bytes).map(drop).ok_or_else(crate::intake::not_a_video),
            WindowKind::IndexBox => {
                let b = &self.bytes;
                let is_moov = b.len() >= 8 && &b[4..8] == b"moov";
                let size = if b.len() >= 4 { u32::from_be_bytes([b[0], b[1], b[2], b[3]]) } else { 0 };
                if is_moov && (size == 0 || size == 1 || size >= 8) {
                    Ok(())
                } else {
                    Err(ApiError::BadRequest(
                        "Flick-Index-Offset must point at the file's index (its moov box), which is sent first".into(),
                    ))
                }
            }
        }
    }
}

/// The stored bytes of transmission range `from..to` (a few bytes of a window).
async fn read_transmission(
    state: &AppState,
    upload: &UploadRecord,
    layout: &UploadLayout,
    from: u64,
    to: u64,
) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    for r in layout.file_ranges(from, to) {
        let range = ByteRange { start: r.start, end: r.end - 1 };
        let mut body = state.spool.read(upload, range).await.map_err(spool_error)?;
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk?);
        }
    }
    Ok(out)
}
