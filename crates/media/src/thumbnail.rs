//! Thumbnails: one upright JPEG frame, at most 640 pixels wide, without metadata.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::MediaError;
use crate::probe::MediaInfo;
use crate::process::{self, Invocation, Stdout};
use crate::{DECODERS, INPUT_FORMATS, Tools, file_url, input_args};

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
    let source =
        Source { path: input, demuxer: info.demuxer(), formats: INPUT_FORMATS, stream: Some(info.video.index) };
    grab(tools, &source, at, out_jpg, timeout).await
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
    let at = if offset.is_finite() && offset > 0.0 { offset } else { 0.0 };
    let source = Source { path: segment, demuxer: Some("mpegts"), formats: "mpegts", stream: None };
    grab(tools, &source, at, out_jpg, timeout).await
}

struct Source<'a> {
    path: &'a Path,
    demuxer: Option<&'static str>,
    formats: &'static str,
    /// Stream index of the video; `None`: the first video stream.
    stream: Option<u32>,
}

async fn grab(
    tools: &Tools,
    source: &Source<'_>,
    at: f64,
    out_jpg: &Path,
    timeout: Duration,
) -> Result<(), MediaError> {
    let tmp = temp_name(out_jpg);
    let result = async {
        let started = tokio::time::Instant::now();
        run_once(tools, source, at, &tmp, timeout).await?;
        // Seeking past the last frame (a duration that overstates the video) writes nothing: try the start.
        if !is_jpeg(&tmp).await && at > 0.0 {
            let left = timeout.saturating_sub(started.elapsed());
            run_once(tools, source, 0.0, &tmp, left.max(Duration::from_secs(1))).await?;
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
    at: f64,
    tmp: &Path,
    timeout: Duration,
) -> Result<(), MediaError> {
    let _ = tokio::fs::remove_file(tmp).await;
    let mut args: Vec<OsString> =
        ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-xerror"].map(OsString::from).to_vec();
    // Input seeking: jumps to the keyframe before `at`, then decodes up to it (accurate_seek).
    args.extend(["-ss".into(), format!("{at:.3}").into()]);
    args.extend(input_args(source.formats, source.demuxer, DECODERS));
    args.push("-i".into());
    args.push(file_url(source.path)?);
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
            "-fflags",
            "+bitexact",
            "-f",
            "mjpeg",
        ]
        .map(OsString::from),
    );
    // The raw mjpeg muxer writes exactly the JPEG (no image2 filename patterns, no EXIF).
    let mut out = OsString::from("file:");
    out.push(std::path::absolute(tmp).map_err(|e| MediaError::io("resolving the thumbnail path", e))?);
    args.push(out);
    process::run(Invocation {
        tool: "ffmpeg",
        program: &tools.ffmpeg,
        args,
        timeout,
        nice: tools.nice,
        stdout: Stdout::Null,
    })
    .await?
    .success("ffmpeg")?;
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
