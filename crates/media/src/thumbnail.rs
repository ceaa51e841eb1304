//! Thumbnails: one upright JPEG frame, at most 640 pixels wide, without metadata.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::MediaError;
use crate::input::{DECODERS, Demuxer, Formats, Input, input_args};
use crate::probe::MediaInfo;
use crate::tools::Tools;

/// Widest thumbnail (share previews and the player poster do not need more).
const MAX_WIDTH: u32 = 640;

/// Grabs the frame at 2 s (or the middle of a shorter video) into `out_jpg`, written under a
/// temporary name and renamed, so a reader never sees half a JPEG.
pub async fn thumbnail(
    tools: &Tools,
    input: &Path,
    info: &MediaInfo,
    out_jpg: &Path,
    timeout: Duration,
) -> Result<(), MediaError> {
    let d = info.duration_seconds;
    let at = if d.is_finite() && d > 2.0 {
        2.0
    } else if d.is_finite() && d > 0.0 {
        d / 2.0
    } else {
        0.0
    };
    let source = Source { path: input, formats: Formats::Upload(info.demuxer()), stream: Some(info.video.index) };
    grab(tools, &source, Moment::FromStart(at), out_jpg, timeout).await
}

/// Grabs the frame at `at_seconds` (a presentation time of the whole video) of the first video stream
/// of a small file read with `demuxer`: an fMP4 init segment followed by the media segment that
/// holds that moment, whose timestamps start where the segment does.
pub async fn thumbnail_at(
    tools: &Tools,
    input: &Path,
    demuxer: Demuxer,
    at_seconds: f64,
    out_jpg: &Path,
    timeout: Duration,
) -> Result<(), MediaError> {
    let source = Source { path: input, formats: Formats::Upload(Some(demuxer)), stream: None };
    grab(tools, &source, Moment::Timestamp(at_seconds), out_jpg, timeout).await
}

/// Grabs the frame `offset` seconds into an HLS segment that Flick wrote (MPEG-TS): used to heal a
/// missing thumbnail once the upload itself is gone.
pub async fn thumbnail_from_segment(
    tools: &Tools,
    segment: &Path,
    offset: f64,
    out_jpg: &Path,
    timeout: Duration,
) -> Result<(), MediaError> {
    let source = Source { path: segment, formats: Formats::Segment, stream: None };
    grab(tools, &source, Moment::FromStart(offset), out_jpg, timeout).await
}

/// Which frame: ffmpeg's `-ss` counts from the input's first timestamp unless told otherwise.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// Seconds after the input's first frame.
    FromStart(f64),
    /// A timestamp as the input states it (`-seek_timestamp`): a piece of a longer video starts late.
    Timestamp(f64),
}

impl Moment {
    fn seconds(self) -> f64 {
        let (Moment::FromStart(s) | Moment::Timestamp(s)) = self;
        if s.is_finite() && s > 0.0 { s } else { 0.0 }
    }
}

struct Source<'a> {
    path: &'a Path,
    formats: Formats,
    /// Stream index of the video; `None`: the first video stream.
    stream: Option<u32>,
}

async fn grab(
    tools: &Tools,
    source: &Source<'_>,
    at: Moment,
    out_jpg: &Path,
    timeout: Duration,
) -> Result<(), MediaError> {
    let tmp = temp_name(out_jpg);
    let result = async {
        let started = tokio::time::Instant::now();
        run_once(tools, source, at, &tmp, timeout).await?;
        // Seeking past the last frame (a duration that overstates the video) writes nothing: try the start.
        if !is_jpeg(&tmp).await && at.seconds() > 0.0 {
            let left = timeout.saturating_sub(started.elapsed());
            run_once(tools, source, Moment::FromStart(0.0), &tmp, left.max(Duration::from_secs(1))).await?;
        }
        if !is_jpeg(&tmp).await {
            return Err(MediaError::NoOutput);
        }
        tokio::fs::rename(&tmp, out_jpg)
            .await
            .map_err(|e| MediaError::io(format!("renaming the thumbnail to {}", out_jpg.display()), e))
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    result
}

async fn run_once(
    tools: &Tools,
    source: &Source<'_>,
    at: Moment,
    tmp: &Path,
    timeout: Duration,
) -> Result<(), MediaError> {
    let _ = tokio::fs::remove_file(tmp).await;
    let mut args: Vec<OsString> =
        ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-xerror"].map(OsString::from).to_vec();
    // Input seeking: jumps to the keyframe before `at`, then decodes up to it (accurate_seek).
    if let Moment::Timestamp(_) = at {
        args.extend(["-seek_timestamp".into(), "1".into()]);
    }
    args.extend(["-ss".into(), format!("{:.3}", at.seconds()).into()]);
    args.extend(input_args(&Input::File(source.path.to_owned()), source.formats, DECODERS)?);
    let map = source.stream.map_or_else(|| "0:v:0".to_owned(), |i| format!("0:{i}"));
    // Autorotate has turned the frame upright before this chain; `iw` is the upright width.
    let scale = format!("scale='min({MAX_WIDTH},trunc(iw/2)*2)':-2:flags=bicubic,format=yuvj420p");
    args.extend(
        [
            "-map",
            &map,
            "-an",
            "-sn",
            "-dn",
            "-map_metadata",
            "-1",
            "-map_metadata:s",
            "-1",
            "-map_chapters",
            "-1",
            "-frames:v",
            "1",
            "-vf",
            &scale,
            "-c:v",
            "mjpeg",
            "-q:v",
            "4",
            // Codec and muxer: without the codec flag the encoder writes its version in a JPEG comment ("Lavc…").
            "-flags:v",
            "+bitexact",
            "-fflags",
            "+bitexact",
            "-f",
            "mjpeg",
        ]
        .map(OsString::from),
    );
    // The raw mjpeg muxer writes exactly the JPEG (no image2 filename patterns, no EXIF): JFIF, tables and pixels.
    let mut out = OsString::from("file:");
    out.push(std::path::absolute(tmp).map_err(|e| MediaError::io("resolving the thumbnail path", e))?);
    args.push(out);
    tools.ffmpeg(args, timeout).run().await?.success()?;
    Ok(())
}

fn temp_name(out: &Path) -> PathBuf {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "thumb.jpg".into());
    out.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

async fn is_jpeg(path: &Path) -> bool {
    use tokio::io::AsyncReadExt;
    let Ok(mut f) = tokio::fs::File::open(path).await else { return false };
    let mut magic = [0u8; 3];
    f.read_exact(&mut magic).await.is_ok() && magic == [0xFF, 0xD8, 0xFF]
}
