//! HLS: the one ffmpeg run that writes MPEG-TS segments and a live playlist (which the publisher
//! reads with [`flick_packaging::playlist::parse_media`]), from a file or from the upload as it arrives.
//!
//! Segmenting uses ffmpeg's `segment` muxer with an explicit list of cut times (`-segment_times`
//! F, F+S, F+2S, ...): it cuts at the first keyframe at or after each time, which gives a short
//! first segment (fast start) and regular ones after it, for copied video (as its keyframes permit)
//! as well as for encoded video (where keyframes are forced at exactly those times). The `hls`
//! muxer cannot do this: its `-hls_init_time` applies to every segment when the playlist keeps all
//! of them (`-hls_list_size 0`), verified with ffmpeg 5.1.
//!
//! Copied H.264 goes through a bitstream filter that drops its SEI NAL units ([`STRIP_SEI`]): it keeps no camera
//! metadata hidden there. Encoded video carries only x264's own SEI (its version and options).
//!
//! The segment muxer writes its playlist to `ffmpeg.m3u8.tmp` and renames it after each segment
//! is finished and flushed, so `ffmpeg.m3u8` only ever lists complete segments and is never seen
//! half written.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use flick_domain::ports::ByteStream;
use flick_packaging::playlist;

use crate::error::MediaError;
use crate::input::{DECODERS, Formats, Input, input_args};
use crate::plan::{AudioEncode, AudioPlan, Plan, VideoEncode};
use crate::probe::MediaInfo;
use crate::process::TimeoutStart;
use crate::tools::Tools;

/// The playlist ffmpeg keeps up to date in the output directory (for the publisher, never served).
pub const FFMPEG_PLAYLIST: &str = "ffmpeg.m3u8";
/// Segment file names: `seg_00000.ts`, `seg_00001.ts`, ...
const SEGMENT_PATTERN: &str = "seg_%05d.ts";
/// The bitstream filter that drops every H.264 SEI NAL unit (type 6): none is needed to decode, and segments start
/// at IDR frames (ffmpeg 5.1 has it).
pub const STRIP_SEI: &str = "filter_units=remove_types=6";
/// `-segment_times` lists at most this many cuts (the argument must stay under the kernel's 128 KiB
/// per-argument limit); with 4 s segments that is 11 hours.
const MAX_CUTS: usize = 10_000;

/// One HLS conversion.
#[derive(Debug, Clone)]
pub struct HlsRun {
    /// A file, or the pipe [`run_hls`] feeds (its demuxer is then the one `info` names).
    pub input: Input,
    /// Receives `seg_NNNNN.ts` and `ffmpeg.m3u8`; created if missing.
    pub out_dir: PathBuf,
    pub plan: Plan,
    pub info: MediaInfo,
    /// Length of segments after the first.
    pub segment_seconds: u32,
    /// Length of the first segment (keyframes permitting when the video is copied).
    pub first_segment_seconds: f64,
    /// Explicit cut times instead of those of `first_segment_seconds` and `segment_seconds`: a lower rendition is cut
    /// where the first one was, so that players switch between them cleanly. Empty: one segment.
    pub cuts: Option<Vec<f64>>,
    /// Segments keep the source's timestamps (no MPEG-TS mux delay, 1.4 s by default): a lower rendition of a video
    /// served as fMP4 from its original must start where that does, or players switching would jump.
    pub no_mux_delay: bool,
    /// An encode makes keyframes where the source has them (and nowhere else) instead of at the cut times, so that it
    /// is cut exactly where a copy of the source was: the segment muxer cuts at the first keyframe at or after each
    /// time. For a lower rendition of a video whose first rendition is the source's own video.
    pub keyframes_from_source: bool,
    /// Wall-clock limit; for a piped input it starts when the feed has ended.
    pub timeout: Duration,
}

impl HlsRun {
    /// A run of `plan` from `input` into `out_dir` with the usual settings: 4 s segments after a 1 s first one (the
    /// configuration's defaults), cut by time, with the mux delay, and the wall-clock limit of [`timeout_for`]. Change
    /// what differs with struct update syntax.
    ///
    /// [`timeout_for`]: crate::timeout_for
    pub fn new(input: Input, out_dir: PathBuf, plan: Plan, info: MediaInfo) -> HlsRun {
        let timeout = crate::timeout_for(info.duration_seconds);
        HlsRun {
            input,
            out_dir,
            plan,
            info,
            segment_seconds: 4,
            first_segment_seconds: 1.0,
            cuts: None,
            no_mux_delay: false,
            keyframes_from_source: false,
            timeout,
        }
    }
}

/// How much longer each early segment is than the one before it, until segments reach their regular length.
///
/// Playback starts once the first segment exists and then needs segment k when the first k have played; an encoder
/// running at S times real time finishes segment k after (d0 + … + dk) / S. With segments growing by at most S from
/// one to the next, each is ready before the player needs it, so a viewer who started after one short segment never
/// stalls while the encoder is only a little faster than real time (1.3x on two busy cores; 1.25 leaves a margin).
const RAMP: f64 = 1.25;

/// The cut times: `first`, then segments growing by [`RAMP`] up to `every` seconds, then every `every` seconds, far
/// enough to cover `duration` (or a long video when the duration is unknown), at most 10,000 of them.
pub fn segment_times(first: f64, every: u32, duration: f64) -> Vec<f64> {
    let first = if first.is_finite() && first > 0.0 { first } else { 1.0 };
    let every = f64::from(every.max(1));
    let horizon = if duration.is_finite() && duration > 0.0 { duration * 1.25 + 60.0 } else { 12.0 * 3600.0 };
    let mut times = Vec::new();
    let (mut t, mut length) = (first, first);
    while t < horizon && times.len() < MAX_CUTS {
        // Milliseconds: the list is passed to ffmpeg as text, and the same text forces the keyframes.
        times.push((t * 1000.0).round() / 1000.0);
        length = (length * RAMP).min(every).max(length.min(every));
        t += length;
    }
    if times.is_empty() {
        times.push(first);
    }
    times
}

/// Formats seconds compactly for ffmpeg ("1", "4.5").
fn secs(t: f64) -> String {
    let s = format!("{t:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() { "0".into() } else { s.to_owned() }
}

/// The complete ffmpeg argument list of a run (exposed for logs and tests).
pub fn hls_args(run: &HlsRun) -> Result<Vec<OsString>, MediaError> {
    let info = &run.info;
    let mut a: Vec<OsString> = Vec::new();
    // -xerror: a decoding error stops the run (a hostile stream is not decoded on a best-effort basis).
    push(&mut a, &["-nostdin", "-hide_banner", "-loglevel", "error", "-nostats", "-progress", "pipe:1", "-xerror"]);
    a.extend(input_args(&run.input, Formats::Upload(info.demuxer()), DECODERS)?);

    // Absolute stream indexes: `0:v:0` could pick cover art over the real video.
    push(&mut a, &["-map", &format!("0:{}", info.video.index)]);
    let maps_audio = !matches!(run.plan, Plan::Transcode { audio: AudioPlan::None, .. });
    if let (Some(audio), true) = (&info.audio, maps_audio) {
        push(&mut a, &["-map", &format!("0:{}", audio.index)]);
    }
    // No metadata of the upload (titles, GPS, device make and serial, per-stream tags) reaches the segments.
    push(&mut a, &["-map_metadata", "-1", "-map_metadata:s", "-1", "-map_chapters", "-1", "-sn", "-dn"]);
    push(&mut a, &["-max_muxing_queue_size", "4096"]);
    // Never more output than the probe promised: a file whose timestamps jump far past its stated
    // duration (a few frames, then one at 10 h) is cut there.
    push(&mut a, &["-t", &secs(output_duration_cap(info.duration_seconds))]);

    let times = match &run.cuts {
        Some(cuts) if !cuts.is_empty() => {
            cuts.iter().copied().filter(|t| t.is_finite() && *t > 0.0).take(MAX_CUTS).collect()
        }
        // One segment: a cut past the end.
        Some(_) => vec![output_duration_cap(info.duration_seconds) + 1.0],
        None => segment_times(run.first_segment_seconds, run.segment_seconds, info.duration_seconds),
    };
    match &run.plan {
        Plan::Remux => push(&mut a, &["-c", "copy"]),
        Plan::CopyVideoEncodeAudio { audio } => {
            push(&mut a, &["-c:v", "copy"]);
            a.extend(aac_args(audio));
        }
        Plan::Transcode { video, audio, .. } => {
            let keyframes = if run.keyframes_from_source { None } else { Some(times.as_slice()) };
            a.extend(x264_args(video, keyframes));
            match audio {
                AudioPlan::None => {}
                AudioPlan::Copy => push(&mut a, &["-c:a", "copy"]),
                AudioPlan::Encode(enc) => a.extend(aac_args(enc)),
            }
        }
    }
    // Copied H.264 would keep the camera's SEI units (dates, places, device: user data registered or unregistered):
    // none reaches a viewer. An encode carries only what x264 writes (its version and options), none of the upload's,
    // and is left as it is: the filter measurably delayed the first segments of a live re-encode.
    if !matches!(run.plan, Plan::Transcode { .. }) {
        push(&mut a, &["-bsf:v", STRIP_SEI]);
    }

    let cut_list = times.iter().map(|t| secs(*t)).collect::<Vec<_>>().join(",");
    let dir = std::path::absolute(&run.out_dir).map_err(|e| MediaError::io("resolving the output folder", e))?;
    let mut list = OsString::from("file:");
    list.push(&dir);
    list.push("/");
    list.push(FFMPEG_PLAYLIST);
    // The segment muxer expands %d in the whole path: escape any % of the folder name.
    let mut segments = OsString::from("file:");
    segments.push(escape_percent(dir.as_os_str()));
    segments.push("/");
    segments.push(SEGMENT_PATTERN);
    if run.no_mux_delay {
        push(&mut a, &["-muxdelay", "0", "-muxpreload", "0"]);
    }
    push(&mut a, &["-f", "segment", "-segment_format", "mpegts", "-segment_times", &cut_list]);
    push(&mut a, &["-segment_list_type", "m3u8", "-segment_list_size", "0"]);
    a.push("-segment_list".into());
    a.push(list);
    a.push(segments);
    Ok(a)
}

fn push(args: &mut Vec<OsString>, items: &[&str]) {
    args.extend(items.iter().map(OsString::from));
}

fn escape_percent(s: &std::ffi::OsStr) -> OsString {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let mut out = Vec::with_capacity(s.len());
    for &b in s.as_bytes() {
        out.push(b);
        if b == b'%' {
            out.push(b'%');
        }
    }
    OsString::from_vec(out)
}

fn aac_args(audio: &AudioEncode) -> Vec<OsString> {
    [
        "-c:a".to_owned(),
        "aac".to_owned(),
        "-b:a".to_owned(),
        format!("{}k", audio.bitrate_kbps),
        "-ac".to_owned(),
        audio.channels.to_string(),
        "-ar".to_owned(),
        audio.sample_rate.to_string(),
    ]
    .into_iter()
    .map(OsString::from)
    .collect()
}

/// libx264's arguments; keyframes at `cuts` (and the first frame), or where the source has them when `None`.
fn x264_args(v: &VideoEncode, cuts: Option<&[f64]>) -> Vec<OsString> {
    let mut filters = Vec::new();
    if v.deinterlace {
        filters.push("yadif=mode=send_frame:deint=interlaced".to_owned());
    }
    if let Some(fps) = v.frame_rate_cap {
        filters.push(format!("fps={}", secs(fps)));
    }
    // Rotation is already applied by ffmpeg's autorotate when it decodes; this sets the final size.
    filters.push(format!("scale={}:{}:flags=bicubic", v.width, v.height));
    filters.push("setsar=1".into());
    filters.push("format=yuv420p".into());
    // A keyframe on the first frame and at exactly the cut times, so every segment starts on its own IDR frame.
    // Scene-cut keyframes in between are harmless: the segment muxer only cuts at the listed times. Following the
    // source, no other keyframe may come first: scene cuts and the keyframe interval are off.
    let keyframes = match cuts {
        Some(cuts) => {
            std::iter::once("0".to_owned()).chain(cuts.iter().map(|t| secs(*t))).collect::<Vec<_>>().join(",")
        }
        None => "source".to_owned(),
    };
    let only_forced: &[&str] = if cuts.is_none() { &["-sc_threshold", "0", "-g", "1000000"] } else { &[] };
    only_forced
        .iter()
        .map(|s| (*s).to_owned())
        .chain([
            "-vf".to_owned(),
            filters.join(","),
            "-fps_mode".to_owned(),
            // Variable frame rate input keeps its timing (MPEG-TS does not need constant frame rate);
            // frames with duplicate timestamps are dropped.
            "vfr".to_owned(),
            "-c:v".to_owned(),
            "libx264".to_owned(),
            "-preset".to_owned(),
            v.preset.to_owned(),
            "-profile:v".to_owned(),
            "high".to_owned(),
            "-level:v".to_owned(),
            format!("{}.{}", v.level / 10, v.level % 10),
            "-pix_fmt".to_owned(),
            "yuv420p".to_owned(),
            "-crf".to_owned(),
            v.crf.to_string(),
            "-maxrate".to_owned(),
            format!("{}k", v.maxrate_kbps),
            "-bufsize".to_owned(),
            format!("{}k", v.bufsize_kbps),
            "-force_key_frames".to_owned(),
            keyframes,
            "-forced-idr".to_owned(),
            "1".to_owned(),
        ])
        .map(OsString::from)
        .collect()
}

/// Longest output written for an input probed at `duration` seconds (unknown: the 3 h maximum).
fn output_duration_cap(duration: f64) -> f64 {
    if duration.is_finite() && duration > 0.0 { duration * 1.05 + 5.0 } else { 3.0 * 3600.0 }
}

/// Most bytes a run may write: what the plan can produce for the probed duration, with margin. A copy
/// is at most the input plus MPEG-TS overhead; an encode is bounded by its VBV rate.
pub fn output_cap_bytes(run: &HlsRun) -> u64 {
    let d = output_duration_cap(run.info.duration_seconds);
    let audio_bps = 512_000.0;
    let by_rate = |video_bps: f64| ((video_bps + audio_bps) / 8.0 * d * 1.5) as u64;
    let planned = match &run.plan {
        Plan::Remux | Plan::CopyVideoEncodeAudio { .. } => run.info.size_bytes.saturating_mul(3) / 2 + by_rate(0.0),
        Plan::Transcode { video, .. } => by_rate(f64::from(video.maxrate_kbps) * 1000.0),
    };
    planned.saturating_add(64 << 20)
}

/// CPU seconds an HLS run of `plan` may use on a video of `duration_seconds` (all threads together), whatever the
/// machine's cores: a remux reads and writes, a re-encode at least decodes and encodes each frame once. Generous
/// (a 1080p re-encode uses about 1.5 CPU seconds per second of video); `None` when the length is unknown (a stream
/// still arriving whose container does not say), and the wall-clock budget then bounds the run.
pub fn cpu_budget(plan: &Plan, duration_seconds: f64) -> Option<u64> {
    if !(duration_seconds.is_finite() && duration_seconds > 0.0) {
        return None;
    }
    let per_second = match plan {
        Plan::Remux => 0.5,
        Plan::CopyVideoEncodeAudio { .. } => 1.0,
        Plan::Transcode { .. } => 8.0,
    };
    Some((120.0 + per_second * duration_seconds.min(86_400.0)).ceil() as u64)
}

/// Runs ffmpeg to write the HLS output into `run.out_dir`, reporting progress (0..=1) as it goes.
/// `feed` is the input's bytes exactly when `run.input` is [`Input::Pipe`]; ffmpeg then reads them as
/// they come, and `run.timeout` starts when they have all been read. Ok only when ffmpeg exited 0
/// after reading its whole input and listed at least one segment (a feed that fails is
/// [`MediaError::InputFailed`]). Dropping the future kills ffmpeg.
pub async fn run_hls(
    tools: &Tools,
    run: &HlsRun,
    feed: Option<ByteStream>,
    mut on_progress: impl FnMut(f64) + Send,
) -> Result<(), MediaError> {
    let wrong_feed = |what: &str| {
        let e = std::io::Error::new(std::io::ErrorKind::InvalidInput, what.to_owned());
        MediaError::io("starting ffmpeg", e)
    };
    match (&run.input, &feed) {
        (Input::Pipe, None) => return Err(wrong_feed("a piped input needs a feed")),
        (Input::File(_), Some(_)) => return Err(wrong_feed("a file input takes no feed")),
        _ => {}
    }
    tokio::fs::create_dir_all(&run.out_dir)
        .await
        .map_err(|e| MediaError::io(format!("creating {}", run.out_dir.display()), e))?;
    let args = hls_args(run)?;
    let duration = run.info.duration_seconds;
    let mut on_line = |line: &str| {
        if let Some(p) = progress_of(line, duration) {
            on_progress(p);
        }
    };
    let started = std::time::Instant::now();
    tracing::info!(plan = ?run.plan, input = ?run.input, out = %run.out_dir.display(), "hls: starting ffmpeg");
    let mut ffmpeg = tools.ffmpeg(args, run.timeout).lines(&mut on_line);
    if let Some(cpu) = cpu_budget(&run.plan, duration) {
        ffmpeg = ffmpeg.cpu_seconds(cpu);
    }
    if let Some(feed) = feed {
        ffmpeg = ffmpeg.feed(feed, TimeoutStart::FeedEnd);
    }
    let ffmpeg = ffmpeg.run();
    // The output is watched while ffmpeg writes it; past the cap, dropping the run kills ffmpeg.
    let cap = output_cap_bytes(run);
    tokio::select! {
        finished = ffmpeg => { finished?.success()?; }
        written = watch_output(&run.out_dir, cap) => {
            tracing::warn!(written, cap, "hls: output cap reached; stopping ffmpeg");
            return Err(MediaError::TooLarge { detail: format!("processing produced more than {cap} bytes") });
        }
    }

    let playlist = run.out_dir.join(FFMPEG_PLAYLIST);
    let text = match tokio::fs::read_to_string(&playlist).await {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(MediaError::NoOutput),
        Err(e) => return Err(MediaError::io(format!("reading {}", playlist.display()), e)),
    };
    let segments = playlist::parse_media(&text)?;
    if segments.is_empty() {
        return Err(MediaError::NoOutput);
    }
    let elapsed = started.elapsed().as_secs_f64();
    tracing::info!(
        segments = segments.len(),
        seconds = elapsed,
        speed = if elapsed > 0.0 { duration / elapsed } else { 0.0 },
        "hls: done"
    );
    on_progress(1.0);
    Ok(())
}

/// Resolves once the segments written to `dir` add up to more than `cap` bytes (each segment counted
/// at the largest size seen, even after the publisher has moved it away). Never resolves otherwise.
async fn watch_output(dir: &std::path::Path, cap: u64) -> u64 {
    let mut seen: std::collections::HashMap<std::ffi::OsString, u64> = std::collections::HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        let Ok(mut entries) = tokio::fs::read_dir(dir).await else { continue };
        while let Ok(Some(e)) = entries.next_entry().await {
            if let Ok(m) = e.metadata().await
                && m.is_file()
            {
                let size = seen.entry(e.file_name()).or_default();
                *size = (*size).max(m.len());
            }
        }
        let total: u64 = seen.values().sum();
        if total > cap {
            return total;
        }
    }
}

/// Progress from a `-progress` line: `out_time_us=` over the duration, 1.0 on `progress=end`.
fn progress_of(line: &str, duration: f64) -> Option<f64> {
    let (key, value) = line.split_once('=')?;
    match key.trim() {
        "progress" if value.trim() == "end" => Some(1.0),
        // ffmpeg 5.1 prints microseconds under both names.
        "out_time_us" | "out_time_ms" if duration > 0.0 => {
            let us: i64 = value.trim().parse().ok()?;
            Some((us as f64 / 1e6 / duration).clamp(0.0, 1.0))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_budgets_follow_the_plan_and_the_length() {
        let transcode = Plan::Transcode {
            video: VideoEncode {
                width: 1280,
                height: 720,
                preset: "veryfast",
                crf: 23,
                maxrate_kbps: 4000,
                bufsize_kbps: 8000,
                level: 31,
                frame_rate_cap: None,
                deinterlace: false,
                frame_rate: None,
            },
            audio: AudioPlan::Copy,
            reason: "test".into(),
        };
        assert_eq!(cpu_budget(&Plan::Remux, 600.0), Some(420));
        assert_eq!(cpu_budget(&transcode, 600.0), Some(4920));
        assert!(cpu_budget(&transcode, 600.0) > cpu_budget(&Plan::Remux, 600.0));
        assert_eq!(cpu_budget(&transcode, 0.0), None, "unknown length: the wall clock bounds it");
        assert_eq!(cpu_budget(&transcode, f64::NAN), None);
        assert_eq!(cpu_budget(&transcode, 1e300), Some(120 + 8 * 86_400), "absurd lengths are capped");
    }

    #[test]
    fn cut_times_start_short_grow_then_stay_regular() {
        let times = segment_times(1.0, 4, 30.0);
        let lengths: Vec<f64> = times.windows(2).map(|w| ((w[1] - w[0]) * 1000.0).round() / 1000.0).collect();
        assert_eq!(times[0], 1.0);
        // Each early segment at most 1.25x the one before it, up to the regular 4 s.
        assert_eq!(&lengths[..8], &[1.25, 1.563, 1.953, 2.441, 3.052, 3.814, 4.0, 4.0]);
        assert!(lengths[8..].iter().all(|l| (*l - 4.0).abs() < 1e-9), "{lengths:?}");
        assert!(*times.last().unwrap() >= 30.0 * 1.25 + 56.0);
        assert_eq!(segment_times(f64::NAN, 0, f64::NAN).len(), MAX_CUTS);
        assert_eq!(secs(1.0), "1");
        assert_eq!(secs(1.25), "1.25");
        assert_eq!(secs(0.0), "0");
    }

    #[test]
    fn output_paths_are_file_urls_with_percent_escaped() {
        assert_eq!(escape_percent(std::ffi::OsStr::new("/a/100%/b")), "/a/100%%/b");
    }

    #[test]
    fn progress_lines() {
        assert_eq!(progress_of("out_time_us=5000000", 10.0), Some(0.5));
        assert_eq!(progress_of("out_time_ms=20000000", 10.0), Some(1.0));
        assert_eq!(progress_of("out_time_us=N/A", 10.0), None);
        assert_eq!(progress_of("out_time_us=-5", 10.0), Some(0.0));
        assert_eq!(progress_of("out_time_us=5", 0.0), None);
        assert_eq!(progress_of("progress=end", 0.0), Some(1.0));
        assert_eq!(progress_of("frame=12", 10.0), None);
    }
}
