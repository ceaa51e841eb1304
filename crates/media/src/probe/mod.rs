//! What an upload is: its container, its video and audio streams, checked against Flick's limits.
//!
//! Three ways in, one [`MediaInfo`] out:
//! - [`probe`]: a whole file on disk. ffprobe describes it ([`run`]) with the demuxer its first bytes
//!   call for ([`sniff`]), its JSON is read ([`parse`]), and the packet list gives keyframe spacing
//!   and, when the container does not state it, the duration ([`keyframes`]).
//! - [`probe_stream`]: an upload as it arrives, through ffprobe's stdin (no keyframe scan: a pipe
//!   cannot be read twice).
//! - [`media_info_from_movie`]: an MP4/MOV index read by Flick's own parser ([`movie`]), described
//!   the way ffprobe would, so that [`crate::plan`] decides the same.
//!
//! Each ends with [`check_limits`] ([`limits`]).

mod info;
mod keyframes;
mod limits;
mod movie;
mod parse;
mod run;
mod sniff;

use std::path::Path;
use std::pin::Pin;

use flick_domain::ports::ByteStream;

pub use info::{AudioStreamInfo, MediaInfo, VideoStreamInfo};
use keyframes::{KeyframeScan, Streams, Window};
pub use limits::{AUDIO_CODECS, MAX_FRAME_RATE, MAX_SIDE, VIDEO_CODECS, check_limits};
pub use movie::media_info_from_movie;
pub use parse::media_info_from_json;
use run::Described;

use crate::error::MediaError;
use crate::input::{Demuxer, Input};
use crate::tools::Tools;

/// The keyframe scan started beside the stream probe when the container was recognised: it is on
/// the path to the first segment, so it does not wait for the probe to say which stream counts.
enum EarlyScan<'a> {
    /// The container was not recognised: nothing was started.
    NotStarted,
    /// Still running when the probe answered.
    Running(Pin<Box<dyn Future<Output = Result<String, MediaError>> + Send + 'a>>),
    /// Finished before the probe answered.
    Done(Result<String, MediaError>),
}

/// Probes a file: ffprobe for the container and streams, then (for H.264, or when the duration is
/// unknown) a packet scan for keyframe spacing and duration.
pub async fn probe(tools: &Tools, input: &Path) -> Result<MediaInfo, MediaError> {
    let meta =
        tokio::fs::metadata(input).await.map_err(|e| MediaError::io(format!("reading {}", input.display()), e))?;
    if !meta.is_file() {
        return Err(MediaError::NotAVideo { detail: "not a regular file".into() });
    }
    if meta.len() == 0 {
        return Err(MediaError::NotAVideo { detail: "the file is empty".into() });
    }
    // The container is recognised from its first bytes and its demuxer forced, so ffprobe never
    // guesses (a playlist or script is never read as one). Unrecognised content still goes to
    // ffprobe, restricted to the same two demuxers, only to say what it is.
    let sniffed = sniff::sniff_demuxer(input).await?;
    let file = Input::File(input.to_owned());
    let described = run::describe(tools, Described::File(input, sniffed));
    let (json, early) = match sniffed {
        None => (described.await, EarlyScan::NotStarted),
        Some(demuxer) => {
            let mut scan =
                Box::pin(keyframes::list_packets(tools, &file, Some(demuxer), Streams::AllVideo, Window::Start));
            tokio::pin!(described);
            let mut done = None;
            // A failing probe answers at once; the scan is then dropped (its ffprobe killed).
            let json = loop {
                tokio::select! {
                    json = &mut described => break json,
                    scanned = &mut scan, if done.is_none() => done = Some(scanned),
                }
            };
            (json, done.map_or(EarlyScan::Running(scan), EarlyScan::Done))
        }
    };
    let mut info = media_info_from_json(&json?, meta.len())?;
    if let (Some(forced), Some(found)) = (sniffed, info.demuxer())
        && forced != found
    {
        return Err(MediaError::UnsupportedFormat { format: info.container });
    }

    let duration_known = info.duration_seconds > 0.0;
    if info.video.codec == "h264" || !duration_known {
        let early = match early {
            EarlyScan::NotStarted => None,
            EarlyScan::Running(scan) => Some(scan.await),
            EarlyScan::Done(scanned) => Some(scanned),
        };
        let scanned = match early {
            // The early scan covers the window only; a duration the container does not state needs the whole file.
            Some(Ok(csv)) if duration_known => Ok(keyframes::scan_of(&csv, info.video.index, info.video.frame_rate)),
            _ => {
                scan_keyframes(tools, &file, &info, if duration_known { Window::Start } else { Window::WholeFile })
                    .await
            }
        };
        match scanned {
            Ok(scan) => {
                info.video.max_keyframe_interval = scan.max_keyframe_interval;
                if !duration_known && let Some(d) = scan.duration {
                    info.duration_seconds = d;
                }
            }
            // Advisory only: without it the plan simply cannot check keyframe spacing.
            Err(e) => tracing::warn!(error = %e, "keyframe scan failed"),
        }
    }
    check_limits(&info)?;
    tracing::debug!(?info, "probed");
    Ok(info)
}

/// Probes an upload as it arrives: ffprobe reads `feed` through its stdin with `demuxer` forced,
/// and answers from the first ~2 MB. `size_bytes` is the upload's announced size. There is no
/// keyframe scan (a pipe cannot be read again), and the duration is 0.0 when the container does
/// not state it (a live WebM recording). A feed that fails is [`MediaError::InputFailed`].
pub async fn probe_stream(
    tools: &Tools,
    feed: ByteStream,
    demuxer: Demuxer,
    size_bytes: u64,
) -> Result<MediaInfo, MediaError> {
    let json = run::describe(tools, Described::Stream(feed, demuxer)).await?;
    let info = media_info_from_json(&json, size_bytes)?;
    if info.demuxer() != Some(demuxer) {
        return Err(MediaError::UnsupportedFormat { format: info.container });
    }
    check_limits(&info)?;
    tracing::debug!(?info, "probed as it arrives");
    Ok(info)
}

/// Scans the chosen video stream's packets in `window`.
async fn scan_keyframes(
    tools: &Tools,
    file: &Input,
    info: &MediaInfo,
    window: Window,
) -> Result<KeyframeScan, MediaError> {
    let csv = keyframes::list_packets(tools, file, info.demuxer(), Streams::Index(info.video.index), window).await?;
    Ok(keyframes::scan_of(&csv, info.video.index, info.video.frame_rate))
}
