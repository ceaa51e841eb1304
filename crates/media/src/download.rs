//! The MP4 a viewer downloads when the original is gone: the first rendition's MPEG-TS segments, joined and remuxed
//! (no re-encode) into one MP4 with its index at the front.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use crate::error::MediaError;
use crate::input::{DECODERS, Formats, Input, input_args};
use crate::tools::Tools;

/// Remuxes `ts` (MPEG-TS segments Flick wrote, joined end to end) into the MP4 `out`: its first video stream and
/// its first audio stream if any, copied, without metadata, the index first (`+faststart`).
pub async fn mp4_from_segments(tools: &Tools, ts: &Path, out: &Path, timeout: Duration) -> Result<(), MediaError> {
    let mut args: Vec<OsString> = ["-nostdin", "-hide_banner", "-loglevel", "error", "-y"].map(OsString::from).to_vec();
    args.extend(input_args(&Input::File(ts.to_owned()), Formats::Segment, DECODERS)?);
    args.extend(
        [
            "-map",
            "0:v:0",
            "-map",
            "0:a:0?",
            "-c",
            "copy",
            // ADTS headers (MPEG-TS) become the MP4's AudioSpecificConfig.
            "-bsf:a",
            "aac_adtstoasc",
            "-map_metadata",
            "-1",
            "-movflags",
            "+faststart",
            "-fflags",
            "+bitexact",
            "-f",
            "mp4",
        ]
        .map(OsString::from),
    );
    let mut target = OsString::from("file:");
    target.push(std::path::absolute(out).map_err(|e| MediaError::io("resolving the download path", e))?);
    args.push(target);
    tools.ffmpeg(args, timeout).run().await?.success()?;
    Ok(())
}
