//! Running ffprobe to describe an input (format and streams as JSON), and what its refusals mean.

use std::ffi::OsString;
use std::time::Duration;

use flick_domain::ports::ByteStream;

use crate::error::MediaError;
use crate::input::{Demuxer, Formats, Input, MAX_PIXELS, MAX_STREAMS, PROBE_DECODERS, input_args};
use crate::process::{Finished, TimeoutStart};
use crate::tools::Tools;

/// ffprobe should answer within this for any sane file (it reads headers only).
const FILE_TIMEOUT: Duration = Duration::from_secs(30);
/// An upload read as it arrives: ffprobe needs its first ~2 MB, which a stalled upload may never
/// send; this runs while it is fed, so a stall cannot hold a worker forever.
const STREAM_TIMEOUT: Duration = Duration::from_secs(120);
/// What ffprobe may read of a piped upload before answering: enough for the stream parameters of
/// any sane file (`-probesize` bytes, `-analyzeduration` microseconds).
const STREAM_PROBE_BYTES: &str = "2000000";
const STREAM_ANALYZE_MICROSECONDS: &str = "3000000";
/// ffprobe's JSON for a real file is a few KiB; more means a hostile file.
const MAX_PROBE_OUTPUT: usize = 4 << 20;

const SHOW_ENTRIES: &str = "format=format_name,duration,size,bit_rate\
:stream=index,codec_type,codec_name,profile,level,pix_fmt,width,height,sample_aspect_ratio,\
r_frame_rate,avg_frame_rate,bits_per_raw_sample,field_order,duration,channels,sample_rate,bit_rate\
:stream_tags=rotate:stream_disposition=attached_pic:stream_side_data=side_data_type,rotation";

/// What ffprobe describes.
pub(super) enum Described<'a> {
    /// A local file, with the demuxer its first bytes call for (`None`: ffprobe may only say what it is).
    File(&'a std::path::Path, Option<Demuxer>),
    /// An upload as it arrives, through ffprobe's stdin.
    Stream(ByteStream, Demuxer),
}

/// ffprobe's JSON for the input, or why it was refused.
pub(super) async fn describe(tools: &Tools, what: Described<'_>) -> Result<Vec<u8>, MediaError> {
    let mut args: Vec<OsString> = vec!["-v".into(), "error".into(), "-hide_banner".into()];
    let run = match what {
        Described::File(path, demuxer) => {
            args.extend(input_args(&Input::File(path.to_owned()), Formats::Upload(demuxer), PROBE_DECODERS)?);
            args.extend(entries());
            tools.ffprobe(args, FILE_TIMEOUT)
        }
        Described::Stream(feed, demuxer) => {
            args.extend(
                ["-probesize", STREAM_PROBE_BYTES, "-analyzeduration", STREAM_ANALYZE_MICROSECONDS].map(OsString::from),
            );
            args.extend(input_args(&Input::Pipe, Formats::Upload(Some(demuxer)), PROBE_DECODERS)?);
            args.extend(entries());
            tools.ffprobe(args, STREAM_TIMEOUT).feed(feed, TimeoutStart::Spawn)
        }
    };
    let out = run.collect(MAX_PROBE_OUTPUT).run().await.map_err(|e| match e {
        MediaError::Io { context, .. } if context.starts_with("reading the output") => {
            MediaError::NotAVideo { detail: "ffprobe's description of the file is absurdly large".into() }
        }
        e => e,
    })?;
    if !out.status.success() {
        return Err(classify_failure(out));
    }
    Ok(out.stdout)
}

fn entries() -> [OsString; 4] {
    ["-print_format".into(), "json".into(), "-show_entries".into(), SHOW_ENTRIES.into()]
}

/// ffprobe refused the input: why, in our terms.
fn classify_failure(out: Finished) -> MediaError {
    use std::os::unix::process::ExitStatusExt;
    if let Some(signal) = out.status.signal() {
        // Killed (memory or CPU limit, operator): not necessarily the file's fault.
        return MediaError::FfmpegFailed {
            tool: out.tool.into(),
            status: out.status.to_string(),
            signal: Some(signal),
            stderr: out.stderr_tail,
        };
    }
    let stderr = out.stderr_tail;
    if stderr.contains("exceeds specified max pixel count") || stderr.contains("exceeds max_pixels") {
        return MediaError::TooLarge { detail: format!("the picture is larger than 4K ({MAX_PIXELS} pixels)") };
    }
    if stderr.contains("exceeds max_streams") {
        return MediaError::TooLarge { detail: format!("the file has more than {MAX_STREAMS} streams") };
    }
    if let Some(line) = stderr.lines().find(|l| l.contains(") not on whitelist")) {
        // "[png @ 0x55...] Codec (png) not on whitelist '...'"
        let codec = line.split_once("Codec (").and_then(|(_, r)| r.split_once(')')).map_or("unknown", |(c, _)| c);
        return MediaError::UnsupportedCodec {
            codec: codec.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(32).collect(),
            detail: "a stream of the file uses a codec Flick does not decode".into(),
        };
    }
    if let Some(line) = stderr.lines().find(|l| l.contains("Format not on whitelist")) {
        // "[mpegts @ 0x55...] Format not on whitelist '...'": the detected demuxer is in the brackets.
        let format = line
            .strip_prefix('[')
            .and_then(|rest| rest.split_once(" @"))
            .map_or("unknown", |(name, _)| name)
            .to_owned();
        return MediaError::UnsupportedFormat { format };
    }
    MediaError::NotAVideo { detail: last_line(&stderr) }
}

fn last_line(text: &str) -> String {
    text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("ffprobe could not read the file").trim().to_owned()
}
