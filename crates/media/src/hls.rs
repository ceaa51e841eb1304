//! HLS: the one ffmpeg run that writes MPEG-TS segments and a live playlist, and the playlists
//! Flick serves.
//!
//! Segmenting uses ffmpeg's `segment` muxer with an explicit list of cut times (`-segment_times`
//! F, F+S, F+2S, ...): it cuts at the first keyframe at or after each time, which gives a short
//! first segment (fast start) and regular ones after it, for copied video (as its keyframes permit)
//! as well as for encoded video (where keyframes are forced at exactly those times). The `hls`
//! muxer cannot do this: its `-hls_init_time` applies to every segment when the playlist keeps all
//! of them (`-hls_list_size 0`), verified with ffmpeg 5.1.
//!
//! The segment muxer writes its playlist to `ffmpeg.m3u8.tmp` and renames it after each segment
//! is finished and flushed, so `ffmpeg.m3u8` only ever lists complete segments and is never seen
//! half written.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::MediaError;
use crate::plan::{AudioEncode, AudioPlan, Plan, VideoEncode};
use crate::probe::MediaInfo;
use crate::process::{self, Invocation, Stdout};
use crate::{DECODERS, INPUT_FORMATS, Tools, file_url, input_args};

/// The playlist ffmpeg keeps up to date in the output directory (for the publisher, never served).
pub const FFMPEG_PLAYLIST: &str = "ffmpeg.m3u8";
/// Segment file names: `seg_00000.ts`, `seg_00001.ts`, ...
const SEGMENT_PATTERN: &str = "seg_%05d.ts";
/// `-segment_times` lists at most this many cuts (the argument must stay under the kernel's 128 KiB
/// per-argument limit); with 4 s segments that is 11 hours.
const MAX_CUTS: usize = 10_000;

/// One HLS conversion.
#[derive(Debug, Clone)]
pub struct HlsRun {
    pub input: PathBuf,
    /// Receives `seg_NNNNN.ts` and `ffmpeg.m3u8`; created if missing.
    pub out_dir: PathBuf,
    pub plan: Plan,
    pub info: MediaInfo,
    /// Length of segments after the first.
    pub segment_seconds: u32,
    /// Length of the first segment (keyframes permitting when the video is copied).
    pub first_segment_seconds: f64,
    pub timeout: Duration,
}

/// One media segment of a playlist.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// A bare file name like `seg_00000.ts` (validated: no directories, nothing else).
    pub uri: String,
    /// Seconds.
    pub duration: f64,
}

/// The one variant of a master playlist.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// Peak bits per second.
    pub bandwidth: u64,
    pub width: u32,
    pub height: u32,
    /// RFC 6381 codecs, e.g. `avc1.64001f,mp4a.40.2`.
    pub codecs: String,
    pub frame_rate: Option<f64>,
    /// The media playlist, relative to the master (`index.m3u8`).
    pub uri: String,
}

/// The cut times: `first`, then every `every` seconds, far enough to cover `duration` (or a long
/// video when the duration is unknown), at most 10,000 of them.
pub fn segment_times(first: f64, every: u32, duration: f64) -> Vec<f64> {
    let first = if first.is_finite() && first > 0.0 { first } else { 1.0 };
    let every = f64::from(every.max(1));
    let horizon = if duration.is_finite() && duration > 0.0 { duration * 1.25 + 60.0 } else { 12.0 * 3600.0 };
    let mut times = Vec::new();
    let mut t = first;
    while t < horizon && times.len() < MAX_CUTS {
        times.push(t);
        t += every;
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
    a.extend(input_args(INPUT_FORMATS, info.demuxer(), DECODERS));
    a.push("-i".into());
    a.push(file_url(&run.input)?);

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

    match &run.plan {
        Plan::Remux => push(&mut a, &["-c", "copy"]),
        Plan::CopyVideoEncodeAudio { audio } => {
            push(&mut a, &["-c:v", "copy"]);
            a.extend(aac_args(audio));
        }
        Plan::Transcode { video, audio, .. } => {
            a.extend(x264_args(video, run.first_segment_seconds, run.segment_seconds));
            match audio {
                AudioPlan::None => {}
                AudioPlan::Copy => push(&mut a, &["-c:a", "copy"]),
                AudioPlan::Encode(enc) => a.extend(aac_args(enc)),
            }
        }
    }

    let times = segment_times(run.first_segment_seconds, run.segment_seconds, info.duration_seconds);
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

fn x264_args(v: &VideoEncode, first: f64, every: u32) -> Vec<OsString> {
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
    let first = if first.is_finite() && first > 0.0 { first } else { 1.0 };
    // A keyframe on the first frame, at `first`, then every `every` seconds: exactly the cut times,
    // so every segment starts on its own IDR frame. Scene-cut keyframes in between are harmless:
    // the segment muxer only cuts at the listed times.
    let keyframes = format!("expr:if(eq(n_forced,0),1,gte(t,{}+(n_forced-1)*{}))", secs(first), every.max(1));
    [
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
    ]
    .into_iter()
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

/// Runs ffmpeg to write the HLS output into `run.out_dir`, reporting progress (0..=1) as it goes.
/// Ok only when ffmpeg exited 0 and listed at least one segment. Dropping the future kills ffmpeg.
pub async fn run_hls(tools: &Tools, run: &HlsRun, mut on_progress: impl FnMut(f64) + Send) -> Result<(), MediaError> {
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
    tracing::info!(plan = ?run.plan, out = %run.out_dir.display(), "hls: starting ffmpeg");
    let ffmpeg = process::run(Invocation {
        tool: "ffmpeg",
        program: &tools.ffmpeg,
        args,
        timeout: run.timeout,
        nice: tools.nice,
        stdout: Stdout::Lines(&mut on_line),
    });
    // The output is watched while ffmpeg writes it; past the cap, dropping the run kills ffmpeg.
    let cap = output_cap_bytes(run);
    tokio::select! {
        finished = ffmpeg => { finished?.success("ffmpeg")?; }
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
    let segments = parse_media_playlist(&text)?;
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

/// Reads a media playlist (ffmpeg's or Flick's own): its segments in order. Only whole lines count
/// (a last line without its newline is ignored); a URI that is not a bare `seg_NNNNN.ts` name, or
/// a nonsensical duration, is an error.
pub fn parse_media_playlist(text: &str) -> Result<Vec<Segment>, MediaError> {
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => "",
    };
    let mut lines = complete.lines().map(str::trim).filter(|l| !l.is_empty());
    match lines.next() {
        None => return Ok(Vec::new()),
        Some("#EXTM3U") => {}
        Some(_) => return Err(MediaError::InvalidPlaylist("does not start with #EXTM3U".into())),
    }
    let mut segments = Vec::new();
    let mut pending: Option<f64> = None;
    for line in lines {
        if let Some(rest) = line.strip_prefix("#EXTINF:") {
            let value = rest.split(',').next().unwrap_or("").trim();
            let duration: f64 = value
                .parse()
                .ok()
                .filter(|d: &f64| d.is_finite() && (0.0..=3600.0).contains(d))
                .ok_or_else(|| MediaError::InvalidPlaylist(format!("bad segment duration {value:?}")))?;
            pending = Some(duration);
        } else if line.starts_with('#') {
            continue;
        } else {
            let duration =
                pending.take().ok_or_else(|| MediaError::InvalidPlaylist("segment without #EXTINF".into()))?;
            if !is_segment_name(line) {
                return Err(MediaError::InvalidPlaylist(format!("unexpected segment name {line:?}")));
            }
            segments.push(Segment { uri: line.to_owned(), duration });
        }
    }
    Ok(segments)
}

/// `seg_` + 5 to 9 digits + `.ts`: nothing that could name another file.
fn is_segment_name(s: &str) -> bool {
    s.strip_prefix("seg_")
        .and_then(|r| r.strip_suffix(".ts"))
        .is_some_and(|digits| (5..=9).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Flick's media playlist: EVENT while being written (players keep reloading it), with ENDLIST
/// once complete (EVENT + ENDLIST is a finished playlist; the type may not change once published).
/// TARGETDURATION is at least `target_duration` and never below the longest segment.
pub fn render_media_playlist(segments: &[Segment], target_duration: u32, ended: bool) -> String {
    let longest = segments.iter().map(|s| s.duration).filter(|d| d.is_finite()).fold(0.0_f64, f64::max);
    let target = target_duration.max(longest.ceil() as u32).max(1);
    let mut out = String::with_capacity(128 + segments.len() * 40);
    out.push_str("#EXTM3U\n#EXT-X-VERSION:3\n");
    let _ = writeln!(out, "#EXT-X-TARGETDURATION:{target}");
    out.push_str("#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    for s in segments {
        if !is_segment_name(&s.uri) {
            // Never reached with segments from parse_media_playlist; refuse to write anything else.
            tracing::error!(uri = %s.uri, "refusing to list an unexpected segment name");
            continue;
        }
        let d = if s.duration.is_finite() && s.duration >= 0.0 { s.duration } else { 0.0 };
        let _ = writeln!(out, "#EXTINF:{d:.6},\n{}", s.uri);
    }
    if ended {
        out.push_str("#EXT-X-ENDLIST\n");
    }
    out
}

/// The master playlist with its single variant.
pub fn render_master_playlist(variant: &Variant) -> String {
    let mut attrs = format!("BANDWIDTH={}", variant.bandwidth.max(1));
    if variant.width > 0 && variant.height > 0 {
        let _ = write!(attrs, ",RESOLUTION={}x{}", variant.width, variant.height);
    }
    let codecs: String =
        variant.codecs.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == ',').collect();
    if !codecs.is_empty() {
        let _ = write!(attrs, ",CODECS=\"{codecs}\"");
    }
    if let Some(f) = variant.frame_rate.filter(|f| f.is_finite() && *f > 0.0 && *f <= 1000.0) {
        let _ = write!(attrs, ",FRAME-RATE={f:.3}");
    }
    let uri: String = variant.uri.chars().filter(|c| !c.is_control() && *c != '"').collect();
    format!("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:{attrs}\n{uri}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_times_start_short_then_regular() {
        assert_eq!(
            segment_times(1.0, 4, 10.0),
            vec![
                1.0, 5.0, 9.0, 13.0, 17.0, 21.0, 25.0, 29.0, 33.0, 37.0, 41.0, 45.0, 49.0, 53.0, 57.0, 61.0, 65.0, 69.0
            ]
        );
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
    fn parses_ffmpeg_playlists() {
        let text = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-ALLOW-CACHE:YES\n#EXT-X-TARGETDURATION:5\n\
                    #EXTINF:1.021333,\nseg_00000.ts\n#EXTINF:4.000000,\nseg_00001.ts\n#EXT-X-ENDLIST\n";
        let s = parse_media_playlist(text).unwrap();
        assert_eq!(
            s,
            vec![
                Segment { uri: "seg_00000.ts".into(), duration: 1.021333 },
                Segment { uri: "seg_00001.ts".into(), duration: 4.0 }
            ]
        );
        // A last line without its newline is not yet whole.
        let partial = "#EXTM3U\n#EXTINF:1.0,\nseg_00000.ts\n#EXTINF:4.0,\nseg_0000";
        assert_eq!(parse_media_playlist(partial).unwrap().len(), 1);
        assert_eq!(parse_media_playlist("").unwrap(), vec![]);
    }

    #[test]
    fn hostile_playlists_are_refused_without_panicking() {
        let bad = [
            "#EXTM3U\n#EXTINF:1,\n../secret.ts\n",
            "#EXTM3U\n#EXTINF:1,\n/etc/passwd\n",
            "#EXTM3U\n#EXTINF:1,\nsub/seg_00000.ts\n",
            "#EXTM3U\n#EXTINF:1,\nseg_00000.ts/..\n",
            "#EXTM3U\n#EXTINF:1,\nhttp://evil/seg_00000.ts\n",
            "#EXTM3U\n#EXTINF:1,\nseg_0.ts\n",
            "#EXTM3U\n#EXTINF:1,\nseg_00000.ts.tmp\n",
            "#EXTM3U\n#EXTINF:nan,\nseg_00000.ts\n",
            "#EXTM3U\n#EXTINF:-1,\nseg_00000.ts\n",
            "#EXTM3U\n#EXTINF:1e309,\nseg_00000.ts\n",
            "#EXTM3U\nseg_00000.ts\n",
            "hello\n",
            "#EXTM3U\n#EXTINF:1,\nseg_０0000.ts\n",
        ];
        for text in bad {
            assert!(parse_media_playlist(text).is_err(), "{text:?} must be refused");
        }
        // Arbitrary bytes: any result, no panic.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let alphabet = b"#EXTINF:,.0123456789seg_ts/\n\r -\xc3\xa9";
        for _ in 0..2000 {
            let mut s = Vec::new();
            for _ in 0..(seed % 64) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                s.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            let _ = parse_media_playlist(&String::from_utf8_lossy(&s));
        }
    }

    #[test]
    fn renders_media_playlists() {
        let segs = vec![
            Segment { uri: "seg_00000.ts".into(), duration: 1.08 },
            Segment { uri: "seg_00001.ts".into(), duration: 5.3 },
        ];
        let live = render_media_playlist(&segs, 4, false);
        assert!(live.starts_with("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n"), "{live}");
        assert!(live.contains("#EXT-X-PLAYLIST-TYPE:EVENT\n"));
        assert!(live.contains("#EXT-X-MEDIA-SEQUENCE:0\n"));
        assert!(!live.contains("ENDLIST"));
        let done = render_media_playlist(&segs, 4, true);
        assert!(done.ends_with("#EXTINF:5.300000,\nseg_00001.ts\n#EXT-X-ENDLIST\n"), "{done}");
        assert_eq!(parse_media_playlist(&done).unwrap(), segs, "round trip");
        let evil = vec![Segment { uri: "../x.ts".into(), duration: 1.0 }];
        assert!(!render_media_playlist(&evil, 4, true).contains("x.ts"));
    }

    #[test]
    fn renders_master_playlists() {
        let v = Variant {
            bandwidth: 6_600_000,
            width: 1280,
            height: 720,
            codecs: "avc1.64001f,mp4a.40.2".into(),
            frame_rate: Some(25.0),
            uri: "index.m3u8".into(),
        };
        assert_eq!(
            render_master_playlist(&v),
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n\
             #EXT-X-STREAM-INF:BANDWIDTH=6600000,RESOLUTION=1280x720,CODECS=\"avc1.64001f,mp4a.40.2\",FRAME-RATE=25.000\n\
             index.m3u8\n"
        );
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
