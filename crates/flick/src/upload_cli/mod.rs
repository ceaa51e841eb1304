//! `flick upload FILE...`: resumable uploads through the server's tus endpoint, with a progress bar,
//! checksummed chunks, retries with backoff, and resumption when re-run on the same file.
//!
//! The share link is printed as soon as the upload exists: the video plays while it is still being sent. An MP4/MOV
//! whose index (`moov`) sits after its media is sent index first (`Flick-Index-Offset`), so it can play from the
//! first seconds that arrive; the server stores the file byte-identical either way. Chunks start small and grow with
//! the measured throughput (about a second each), so what is sent becomes watchable soon.

mod index;

mod client;
mod state;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use flick_domain::layout::UploadLayout;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use client::{TusClient, TusError};
use state::{Pending, ResumeState};

/// What `flick upload` was asked to do.
pub struct Options {
    pub files: Vec<PathBuf>,
    pub server: String,
    pub wait: bool,
    pub json: bool,
    pub chunk_bytes: u64,
    /// Average bytes per second not to exceed (a courtesy on shared links), if set.
    pub limit_rate: Option<u64>,
}

/// Why one file could not be uploaded.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error(transparent)]
    Tus(#[from] TusError),
    #[error("the server's upload does not match this file ({server} bytes there, {local} here)")]
    LengthMismatch { server: u64, local: u64 },
    #[error("processing failed: {0}")]
    Processing(String),
}

/// What one upload produced (also the `--json` line).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Outcome {
    file: String,
    id: String,
    url: String,
    manage_token: String,
    bytes: u64,
    /// Bytes the server already had when this run started (0: a fresh upload).
    resumed_from: u64,
    upload_seconds: f64,
    /// With `--wait`: seconds from the end of the upload until the video was playable.
    #[serde(skip_serializing_if = "Option::is_none")]
    playable_after_seconds: Option<f64>,
}

/// Uploads every file in turn; returns whether all succeeded.
pub async fn run(options: Options) -> bool {
    let client = match TusClient::new(&options.server) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("flick upload: {e}");
            return false;
        }
    };
    let mut all_ok = true;
    for file in &options.files {
        match upload_one(&client, &options, file).await {
            Ok(outcome) => report(&options, &outcome),
            Err(e) => {
                all_ok = false;
                if options.json {
                    let line = serde_json::json!({ "file": file.display().to_string(), "error": e.to_string() });
                    println!("{line}");
                } else {
                    eprintln!("flick upload: {}: {e}", file.display());
                }
            }
        }
    }
    all_ok
}

fn report(options: &Options, o: &Outcome) {
    if options.json {
        println!("{}", serde_json::to_string(o).unwrap_or_default());
        return;
    }
    let resumed = if o.resumed_from > 0 { format!(", resumed at byte {}", o.resumed_from) } else { String::new() };
    // The link itself was printed when the upload was created.
    println!("  uploaded {} bytes in {:.1} s{resumed}; manage token: {}", o.bytes, o.upload_seconds, o.manage_token);
    if let Some(s) = o.playable_after_seconds {
        println!("  playable {s:.2} s after the upload ended");
    }
}

async fn upload_one(client: &TusClient, options: &Options, path: &Path) -> Result<Outcome, UploadError> {
    let read_err = |source| UploadError::Read { path: path.display().to_string(), source };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    let length = meta.len();
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "video".into());
    let state_file = state::state_file();
    let key = state::key_of(client.base(), path, &meta);
    let mut resume = ResumeState::load(&state_file);

    // Resume what the server still has of this very file; else start afresh.
    let mut start = None;
    let mut share_path = None;
    if let Some(pending) = resume.get(&key).cloned() {
        match retrying(|| client.head(&pending.upload_url)).await {
            Ok(head) if head.length == length => {
                // The server's word on the order wins over what was remembered.
                share_path = head.share_path;
                start = Some((Pending { index_offset: head.index_offset, ..pending }, head.offset));
            }
            Ok(head) => return Err(UploadError::LengthMismatch { server: head.length, local: length }),
            Err(e) if e.is_gone() => {}
            Err(e) => return Err(e.into()),
        }
    }
    let (pending, resumed_from) = match start {
        Some(s) => s,
        None => {
            let index_offset = index_first(client, path, length).await;
            let created = retrying(|| client.create(length, &name, index_offset)).await?;
            share_path = created.share_path;
            let pending = Pending { upload_url: created.url, manage_token: created.manage_token, index_offset };
            resume.set(key.clone(), pending.clone());
            if let Err(e) = resume.save(&state_file) {
                eprintln!("flick upload: cannot save resume state in {}: {e}", state_file.display());
            }
            (pending, 0)
        }
    };
    // The link names a share id of its own, never the upload's.
    let share_path = share_path.ok_or(TusError::Missing("flick-share-url"))?;
    let id = share_path.rsplit('/').next().unwrap_or_default().to_owned();
    let share = format!("{}{share_path}", client.base());
    // The link works now: whoever gets it can watch while the rest is sent.
    if options.json {
        eprintln!("flick upload: {}: {share}", path.display());
    } else {
        println!("{}: {share}", path.display());
    }
    let layout = match pending.index_offset {
        Some(m) => UploadLayout::index_first(length, m).unwrap_or_else(|| UploadLayout::in_order(length)),
        None => UploadLayout::in_order(length),
    };

    let bar = if options.json {
        ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::hidden())
    } else {
        ProgressBar::new(length)
    };
    let style = ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(name.clone());
    bar.set_position(resumed_from);

    let started = Instant::now();
    let mut file = tokio::fs::File::open(path).await.map_err(read_err)?;
    let mut offset = resumed_from;
    let mut sent_since_start = 0u64;
    let mut chunk_size = FIRST_CHUNK.min(options.chunk_bytes);
    while offset < length {
        // The index of an index-first upload goes alone, first: the video can be read as soon as it is in.
        let size = if offset < layout.tail_len() {
            (layout.tail_len() - offset).min(options.chunk_bytes)
        } else {
            chunk_size.min(length - offset)
        };
        let mut chunk = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        for range in layout.file_ranges(offset, offset + size) {
            let start = chunk.len();
            chunk.resize(start + (range.end - range.start) as usize, 0);
            file.seek(std::io::SeekFrom::Start(range.start)).await.map_err(read_err)?;
            file.read_exact(&mut chunk[start..]).await.map_err(read_err)?;
        }
        let url = pending.upload_url.clone();
        let sent_at = Instant::now();
        let stored = retrying(|| client.patch(&url, offset, chunk.clone())).await?;
        chunk_size = next_chunk_size(stored.offset.saturating_sub(offset), sent_at.elapsed(), options.chunk_bytes);
        sent_since_start += stored.offset.saturating_sub(offset);
        offset = stored.offset;
        bar.set_position(offset);
        if let Some(rate) = options.limit_rate.filter(|r| *r > 0) {
            let due = Duration::from_secs_f64(sent_since_start as f64 / rate as f64);
            if let Some(ahead) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(ahead).await;
            }
        }
    }
    let upload_seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let ended = Instant::now();
    resume.remove(&key);
    if let Err(e) = resume.save(&state_file) {
        eprintln!("flick upload: cannot save resume state in {}: {e}", state_file.display());
    }

    let playable_after_seconds = if options.wait { Some(wait_playable(client, &id, ended).await?) } else { None };
    Ok(Outcome {
        file: path.display().to_string(),
        url: share,
        id,
        manage_token: pending.manage_token,
        bytes: length,
        resumed_from,
        upload_seconds,
        playable_after_seconds,
    })
}

/// The first chunk of the media: small, so the first seconds of video arrive (and play) early.
const FIRST_CHUNK: u64 = 1 << 20;
/// The smallest chunk: below it, the requests' own cost dominates.
const MIN_CHUNK: u64 = 256 << 10;

/// The next chunk's size: about a second's worth at the throughput just measured, between [`MIN_CHUNK`] and `max`
/// (a checksummed chunk counts only once all of it has arrived, so smaller chunks are watched sooner).
fn next_chunk_size(sent: u64, took: Duration, max: u64) -> u64 {
    let per_second = sent as f64 / took.as_secs_f64().max(0.001);
    (per_second as u64).clamp(MIN_CHUNK.min(max), max)
}

/// Where to start an index-first upload of the file at `path`: the offset of its index when that comes after the
/// media and the server takes an index that large; `None` to send it front to back.
async fn index_first(client: &TusClient, path: &Path, length: u64) -> Option<u64> {
    let max = client.config().await.ok()?.get("maxIndexBytes")?.as_u64()?;
    let path = path.to_path_buf();
    let found = tokio::task::spawn_blocking(move || index::index_after_media(&path, length)).await.ok()??;
    (length - found <= max).then_some(found)
}

/// Polls the video until it is playable; returns the seconds since `ended`.
async fn wait_playable(client: &TusClient, id: &str, ended: Instant) -> Result<f64, UploadError> {
    loop {
        let v = retrying(|| client.video(id)).await?;
        if v["playable"] == true {
            return Ok(ended.elapsed().as_secs_f64());
        }
        if v["status"] == "error" {
            let message = v["error"]["message"].as_str().unwrap_or("unknown reason").to_owned();
            return Err(UploadError::Processing(message));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs a request, retrying transient failures with exponential backoff (about two minutes in all).
async fn retrying<T, F, Fut>(op: F) -> Result<T, TusError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, TusError>>,
{
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(20))
        .with_max_times(10)
        .with_jitter();
    op.retry(backoff)
        .when(TusError::is_transient)
        .notify(|e, after| eprintln!("flick upload: {e}; retrying in {:.1} s", after.as_secs_f64()))
        .await
}
