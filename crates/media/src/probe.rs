//! What an upload is: ffprobe's JSON, read defensively into [`MediaInfo`].
//!
//! ffprobe's output is controlled by whoever made the file, so every field is optional, numbers may
//! arrive as strings ("N/A", "nan", "1e308"), and nothing here unwraps or panics: anything unusable
//! becomes a [`MediaError`] or an unknown (`None`) value.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::error::MediaError;
use crate::process::{self, Invocation, Stdout};
use crate::{
    AUDIO_CODECS, INPUT_FORMATS, MAX_FRAME_RATE, MAX_PIXELS, MAX_SIDE, MAX_STREAMS, PROBE_DECODERS, Tools,
    VIDEO_CODECS, file_url, input_args,
};

/// ffprobe should answer within this for any sane file (it reads headers only).
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);
/// The keyframe scan reads packets (no decoding) of the first [`SCAN_WINDOW_SECONDS`].
const SCAN_TIMEOUT: Duration = Duration::from_secs(60);
/// Long enough to see the first segments' keyframes; short because it runs before the first segment exists.
const SCAN_WINDOW_SECONDS: u32 = 20;
/// ffprobe's JSON for a real file is a few KiB; more means a hostile file.
const MAX_PROBE_OUTPUT: usize = 4 << 20;
const MAX_SCAN_OUTPUT: usize = 64 << 20;
/// Largest dimension parsed at all (larger is "too large"; [`MAX_SIDE`] is the real limit).
const MAX_DIMENSION: u64 = 16_384;
/// A file must hold at least this many bytes per second of the duration it claims (800 bit/s: below
/// any real video), so a tiny file cannot claim hours and make ffmpeg write them.
const MIN_BYTES_PER_SECOND: f64 = 100.0;
/// ... when it claims more than this many seconds (short clips of a still picture can be tiny).
const MIN_RATE_AFTER_SECONDS: f64 = 60.0;

/// What Flick knows about an upload.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaInfo {
    /// ffprobe's `format_name`, e.g. `mov,mp4,m4a,3gp,3g2,mj2` or `matroska,webm`.
    pub container: String,
    /// Seconds; when the file does not say, estimated from its packets (0.0 only if even that failed).
    pub duration_seconds: f64,
    pub size_bytes: u64,
    /// Overall bit rate in bit/s, when known.
    pub bit_rate: Option<u64>,
    pub video: VideoStreamInfo,
    pub audio: Option<AudioStreamInfo>,
}

/// The video stream that will be played (the first one that is not cover art).
#[derive(Debug, Clone, PartialEq)]
pub struct VideoStreamInfo {
    /// Index of the stream in the file (for `-map 0:{index}`).
    pub index: u32,
    /// ffmpeg codec name: `h264`, `hevc`, `vp9`, `mpeg4`...
    pub codec: String,
    /// e.g. `High`, `Main`, `Constrained Baseline`, `High 10`.
    pub profile: Option<String>,
    /// ffprobe's level number (H.264: 31 = 3.1); `None` when unknown.
    pub level: Option<i32>,
    pub pix_fmt: Option<String>,
    /// Coded (stored) size, before rotation and pixel aspect.
    pub width: u32,
    pub height: u32,
    /// Pixel aspect ratio (num, den) when known and not square.
    pub sample_aspect_ratio: Option<(u32, u32)>,
    /// Clockwise degrees the picture must be turned for display: 0, 90, 180 or 270. This is the
    /// turn ffmpeg applies itself when it decodes (autorotate).
    pub rotation: i32,
    /// Average frames per second, when known.
    pub frame_rate: Option<f64>,
    /// Bits per sample: 8 for ordinary video, 10 for HDR/10-bit.
    pub bit_depth: u8,
    /// Interlaced (field-coded) video.
    pub interlaced: bool,
    pub bit_rate: Option<u64>,
    /// The longest stretch without a keyframe in the first 20 s, when scanned (H.264 only: it
    /// decides whether remuxed segments can be short enough).
    pub max_keyframe_interval: Option<f64>,
}

/// The audio stream that will be played (the first one).
#[derive(Debug, Clone, PartialEq)]
pub struct AudioStreamInfo {
    pub index: u32,
    /// ffmpeg codec name: `aac`, `opus`, `mp3`, `ac3`, `pcm_s16le`...
    pub codec: String,
    /// For AAC: `LC`, `HE-AAC`, `HE-AACv2`, `Main`...
    pub profile: Option<String>,
    pub channels: u32,
    pub sample_rate: u32,
    pub bit_rate: Option<u64>,
}

impl MediaInfo {
    /// Width as displayed: pixel aspect applied, then rotation.
    pub fn display_width(&self) -> u32 {
        self.display_size().0
    }

    /// Height as displayed: pixel aspect applied, then rotation.
    pub fn display_height(&self) -> u32 {
        self.display_size().1
    }

    /// (width, height) as displayed.
    pub fn display_size(&self) -> (u32, u32) {
        let v = &self.video;
        let mut w = v.width;
        if let Some((num, den)) = v.sample_aspect_ratio {
            let scaled = (f64::from(v.width) * f64::from(num) / f64::from(den)).round();
            if scaled >= 1.0 && scaled <= MAX_DIMENSION as f64 * 4.0 {
                w = scaled as u32;
            }
        }
        if v.rotation % 180 == 90 { (v.height, w) } else { (w, v.height) }
    }

    /// The ffmpeg demuxer to force when reading this file again (`-f`), so a file cannot be
    /// re-detected as something else between probe and processing.
    pub fn demuxer(&self) -> Option<&'static str> {
        demuxer_for(&self.container)
    }
}

pub(crate) fn demuxer_for(format_name: &str) -> Option<&'static str> {
    let names: Vec<&str> = format_name.split(',').map(str::trim).collect();
    if names.contains(&"mov") || names.contains(&"mp4") {
        Some("mov")
    } else if names.contains(&"matroska") || names.contains(&"webm") {
        Some("matroska")
    } else {
        None
    }
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
    let url = file_url(input)?;
    // The container is recognised from its first bytes and its demuxer forced, so ffprobe never
    // guesses (a playlist or script is never read as one). Unrecognised content still goes to
    // ffprobe, restricted to the same two demuxers, only to say what it is.
    let sniffed = sniff_demuxer(input).await?;
    let mut args: Vec<std::ffi::OsString> = vec!["-v".into(), "error".into(), "-hide_banner".into()];
    args.extend(input_args(INPUT_FORMATS, sniffed, PROBE_DECODERS));
    args.extend(["-print_format".into(), "json".into(), "-show_entries".into(), SHOW_ENTRIES.into(), url.clone()]);
    let probe_run = process::run(Invocation {
        tool: "ffprobe",
        program: &tools.ffprobe,
        args,
        timeout: PROBE_TIMEOUT,
        nice: tools.nice,
        stdout: Stdout::Collect { max_bytes: MAX_PROBE_OUTPUT },
    });
    // The keyframe scan is on the path to the first segment: for a recognised container it runs
    // beside the stream probe (over every video stream; the probe then says which one counts).
    let early_scan = async {
        match sniffed {
            Some(demuxer) => Some(list_packets(tools, &url, Some(demuxer), "v", false).await),
            None => None,
        }
    };
    tokio::pin!(probe_run, early_scan);
    let mut early: Option<Option<Result<String, MediaError>>> = None;
    // A failing probe answers at once; the scan is then dropped (its ffprobe killed).
    let out = loop {
        tokio::select! {
            out = &mut probe_run => break out,
            scanned = &mut early_scan, if early.is_none() => early = Some(scanned),
        }
    };
    let out = out.map_err(|e| match e {
        MediaError::Io { context, .. } if context.starts_with("reading the output") => {
            MediaError::NotAVideo { detail: "ffprobe's description of the file is absurdly large".into() }
        }
        e => e,
    })?;
    if !out.status.success() {
        return Err(classify_probe_failure(out));
    }
    let mut info = media_info_from_json(&out.stdout, meta.len())?;
    if let (Some(forced), Some(found)) = (sniffed, info.demuxer())
        && forced != found
    {
        return Err(MediaError::UnsupportedFormat { format: info.container });
    }

    let duration_known = info.duration_seconds > 0.0;
    if info.video.codec == "h264" || !duration_known {
        let early = match early {
            Some(done) => done,
            None => early_scan.await,
        };
        let scanned = match early {
            // The early scan covers the window only; a duration the container does not state needs the whole file.
            Some(Ok(csv)) if duration_known => {
                Ok(analyse_packets(&packets_of(&csv, info.video.index), info.video.frame_rate))
            }
            _ => scan_keyframes(tools, &url, &info, !duration_known).await,
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

/// The demuxer for a file's first bytes, when they are those of a container Flick accepts.
async fn sniff_demuxer(input: &Path) -> Result<Option<&'static str>, MediaError> {
    use tokio::io::AsyncReadExt;
    let mut f =
        tokio::fs::File::open(input).await.map_err(|e| MediaError::io(format!("opening {}", input.display()), e))?;
    let mut head = Vec::with_capacity(flick_domain::upload::SNIFF_LEN);
    (&mut f)
        .take(flick_domain::upload::SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .await
        .map_err(|e| MediaError::io(format!("reading {}", input.display()), e))?;
    Ok(flick_domain::upload::sniff(&head).map(|c| match c {
        flick_domain::upload::Container::IsoBmff { .. } => "mov",
        flick_domain::upload::Container::Matroska { .. } => "matroska",
    }))
}

/// The limits checked on the probe, before anything is decoded: picture size, frame rate, and a
/// duration the file's size can back. (Duration against the configured maximum is the plan's.)
pub fn check_limits(info: &MediaInfo) -> Result<(), MediaError> {
    let v = &info.video;
    if v.width > MAX_SIDE || v.height > MAX_SIDE || u64::from(v.width) * u64::from(v.height) > MAX_PIXELS {
        return Err(MediaError::TooLarge {
            detail: format!("the picture is {}x{} pixels, the limit is 4K ({MAX_SIDE}x2304)", v.width, v.height),
        });
    }
    if let Some(fps) = v.frame_rate
        && fps > MAX_FRAME_RATE
    {
        return Err(MediaError::TooLarge { detail: format!("{fps:.0} frames per second is above {MAX_FRAME_RATE}") });
    }
    let d = info.duration_seconds;
    if d > MIN_RATE_AFTER_SECONDS && (info.size_bytes as f64) < d * MIN_BYTES_PER_SECOND {
        return Err(MediaError::TooLarge {
            detail: format!(
                "the file claims to last {} minutes but holds only {} bytes",
                (d / 60.0).round(),
                info.size_bytes
            ),
        });
    }
    Ok(())
}

const SHOW_ENTRIES: &str = "format=format_name,duration,size,bit_rate\
:stream=index,codec_type,codec_name,profile,level,pix_fmt,width,height,sample_aspect_ratio,\
r_frame_rate,avg_frame_rate,bits_per_raw_sample,field_order,duration,channels,sample_rate,bit_rate\
:stream_tags=rotate:stream_disposition=attached_pic:stream_side_data=side_data_type,rotation";

/// ffprobe refused the file: why, in our terms.
fn classify_probe_failure(out: process::Finished) -> MediaError {
    use std::os::unix::process::ExitStatusExt;
    if let Some(signal) = out.status.signal() {
        // Killed (memory or CPU limit, operator): not necessarily the file's fault.
        return MediaError::FfmpegFailed {
            tool: "ffprobe".into(),
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

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawProbe {
    streams: Vec<RawStream>,
    format: Option<RawFormat>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawFormat {
    format_name: Option<String>,
    duration: Value,
    bit_rate: Value,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawStream {
    index: Value,
    codec_type: Option<String>,
    codec_name: Option<String>,
    profile: Value,
    level: Value,
    pix_fmt: Option<String>,
    width: Value,
    height: Value,
    sample_aspect_ratio: Option<String>,
    r_frame_rate: Option<String>,
    avg_frame_rate: Option<String>,
    bits_per_raw_sample: Value,
    field_order: Option<String>,
    duration: Value,
    channels: Value,
    sample_rate: Value,
    bit_rate: Value,
    tags: HashMap<String, Value>,
    disposition: HashMap<String, Value>,
    side_data_list: Vec<RawSideData>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawSideData {
    side_data_type: Option<String>,
    rotation: Value,
}

/// Parses ffprobe's JSON (`-print_format json` with format and streams) into [`MediaInfo`].
/// `size_bytes` is the file's real size. Hostile or nonsensical input gives an error, never a panic.
pub fn media_info_from_json(json: &[u8], size_bytes: u64) -> Result<MediaInfo, MediaError> {
    let raw: RawProbe = serde_json::from_slice(json)
        .map_err(|e| MediaError::NotAVideo { detail: format!("unreadable ffprobe output: {e}") })?;
    let format = raw.format.unwrap_or_default();
    let container = format
        .format_name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| MediaError::NotAVideo { detail: "no container format detected".into() })?;

    if raw.streams.len() > MAX_STREAMS as usize {
        return Err(MediaError::TooLarge { detail: format!("the file has {} streams", raw.streams.len()) });
    }
    let video_raw = raw
        .streams
        .iter()
        .find(|s| s.codec_type.as_deref() == Some("video") && !is_flag_set(s.disposition.get("attached_pic")))
        .ok_or(MediaError::NoVideoStream)?;
    let video = video_stream(video_raw)?;
    let audio =
        raw.streams.iter().filter(|s| s.codec_type.as_deref() == Some("audio")).find_map(|s| {
            match audio_stream(s).filter(|a| AUDIO_CODECS.contains(&a.codec.as_str())) {
                Some(a) => Some(a),
                None => {
                    tracing::warn!(codec = ?s.codec_name, "ignoring an unusable audio stream");
                    None
                }
            }
        });

    let duration_seconds = seconds(&format.duration).or_else(|| seconds(&video_raw.duration)).unwrap_or(0.0);
    Ok(MediaInfo { container, duration_seconds, size_bytes, bit_rate: bits_per_second(&format.bit_rate), video, audio })
}

fn video_stream(s: &RawStream) -> Result<VideoStreamInfo, MediaError> {
    let codec = known_codec(s.codec_name.as_deref()).ok_or_else(|| MediaError::UnsupportedCodec {
        codec: s.codec_name.clone().unwrap_or_else(|| "unknown".into()),
        detail: "ffprobe does not know this video codec".into(),
    })?;
    if !VIDEO_CODECS.contains(&codec.as_str()) {
        return Err(MediaError::UnsupportedCodec {
            detail: format!("only {} video is accepted", VIDEO_CODECS.join(", ")),
            codec,
        });
    }
    let index = uint(&s.index, u64::from(u32::MAX))
        .ok_or_else(|| MediaError::NotAVideo { detail: "the video stream has no index".into() })?
        as u32;
    let dim = |v: &Value, what: &str| -> Result<u32, MediaError> {
        match number(v) {
            Some(n) if n > MAX_DIMENSION as f64 => {
                Err(MediaError::TooLarge { detail: format!("the video {what} is {n} pixels") })
            }
            _ => match uint(v, MAX_DIMENSION) {
                Some(n) if n > 0 => Ok(n as u32),
                _ => Err(MediaError::UnsupportedCodec {
                    codec: codec.clone(),
                    detail: format!("the video {what} could not be determined (the codec may be unsupported)"),
                }),
            },
        }
    };
    let width = dim(&s.width, "width")?;
    let height = dim(&s.height, "height")?;
    let pix_fmt = s.pix_fmt.clone().filter(|p| !p.is_empty() && p != "unknown");
    let frame_rate = s
        .avg_frame_rate
        .as_deref()
        .and_then(rational)
        .or_else(|| s.r_frame_rate.as_deref().and_then(rational))
        .filter(|f| *f > 0.0 && *f <= 1000.0);
    let bit_depth = pix_fmt
        .as_deref()
        .and_then(depth_of_pix_fmt)
        .or_else(|| uint(&s.bits_per_raw_sample, 64).map(|b| b as u8))
        .filter(|b| *b > 0)
        .unwrap_or(8);
    let interlaced = matches!(s.field_order.as_deref(), Some("tt" | "bb" | "tb" | "bt"));
    Ok(VideoStreamInfo {
        index,
        codec,
        profile: text(&s.profile).filter(|p| p != "unknown"),
        level: integer(&s.level).filter(|l| *l > 0 && *l < 1000),
        pix_fmt,
        width,
        height,
        sample_aspect_ratio: s.sample_aspect_ratio.as_deref().and_then(aspect),
        rotation: rotation_of(s),
        frame_rate,
        bit_depth,
        interlaced,
        bit_rate: bits_per_second(&s.bit_rate),
        max_keyframe_interval: None,
    })
}

fn audio_stream(s: &RawStream) -> Option<AudioStreamInfo> {
    let codec = known_codec(s.codec_name.as_deref())?;
    let index = uint(&s.index, u64::from(u32::MAX))? as u32;
    let channels = uint(&s.channels, 64).filter(|c| *c > 0)? as u32;
    let sample_rate = uint(&s.sample_rate, 768_000).filter(|r| *r >= 1000)? as u32;
    Some(AudioStreamInfo {
        index,
        codec,
        profile: text(&s.profile).filter(|p| p != "unknown"),
        channels,
        sample_rate,
        bit_rate: bits_per_second(&s.bit_rate),
    })
}

fn known_codec(name: Option<&str>) -> Option<String> {
    let name = name?.trim();
    let ok = !name.is_empty()
        && name != "none"
        && name != "unknown"
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then(|| name.to_owned())
}

/// Clockwise display rotation, normalised to 0/90/180/270. The display matrix (what ffmpeg itself
/// obeys) wins over the legacy `rotate` tag; its angle is counter-clockwise, hence the minus.
fn rotation_of(s: &RawStream) -> i32 {
    let from_matrix = s
        .side_data_list
        .iter()
        .filter(|sd| sd.side_data_type.as_deref() == Some("Display Matrix"))
        .find_map(|sd| number(&sd.rotation))
        .map(|r| -r);
    let from_tag = || s.tags.get("rotate").and_then(number);
    match from_matrix.or_else(from_tag) {
        Some(deg) => normalise_rotation(deg),
        None => 0,
    }
}

/// Any angle to the nearest quarter turn in 0..360 (non-finite: 0).
pub(crate) fn normalise_rotation(deg: f64) -> i32 {
    if !deg.is_finite() {
        return 0;
    }
    let quarters = (deg / 90.0).round().rem_euclid(4.0);
    (quarters as i32) * 90
}

fn is_flag_set(v: Option<&Value>) -> bool {
    v.and_then(number).is_some_and(|n| n != 0.0)
}

/// A finite number from a JSON number or numeric string ("N/A", "nan", "inf" and garbage: `None`).
fn number(v: &Value) -> Option<f64> {
    let n = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => {
            let s = s.trim();
            // Rust parses "nan"/"inf"/"infinity"; ffprobe never prints those for a valid value.
            if s.is_empty() || s.len() > 64 || s.bytes().any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E') {
                return None;
            }
            s.parse::<f64>().ok()?
        }
        _ => return None,
    };
    n.is_finite().then_some(n)
}

fn uint(v: &Value, max: u64) -> Option<u64> {
    let n = number(v)?;
    (n >= 0.0 && n.fract() == 0.0 && n <= max as f64).then_some(n as u64)
}

fn integer(v: &Value) -> Option<i32> {
    let n = number(v)?;
    (n.fract() == 0.0 && n.abs() <= f64::from(i32::MAX)).then_some(n as i32)
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() && s.len() <= 128 => Some(s.trim().to_owned()),
        _ => None,
    }
}

/// Non-negative seconds below ~115 days; anything else counts as unknown.
fn seconds(v: &Value) -> Option<f64> {
    number(v).filter(|d| *d > 0.0 && *d < 1e7)
}

fn bits_per_second(v: &Value) -> Option<u64> {
    number(v).filter(|b| *b > 0.0 && *b < 1e11).map(|b| b as u64)
}

/// "30000/1001" → 29.97; zero, negative or malformed → `None`.
fn rational(s: &str) -> Option<f64> {
    let (n, d) = s.split_once('/')?;
    let n: i64 = n.trim().parse().ok()?;
    let d: i64 = d.trim().parse().ok()?;
    if n <= 0 || d <= 0 {
        return None;
    }
    let r = n as f64 / d as f64;
    r.is_finite().then_some(r)
}

/// "16:11" → Some((16, 11)) when sane and not square.
fn aspect(s: &str) -> Option<(u32, u32)> {
    let (n, d) = s.split_once(':')?;
    let n: u32 = n.trim().parse().ok()?;
    let d: u32 = d.trim().parse().ok()?;
    if n == 0 || d == 0 || n == d {
        return None;
    }
    let r = f64::from(n) / f64::from(d);
    (0.1..=10.0).contains(&r).then_some((n, d))
}

/// Bit depth from a pixel format name: `yuv420p10le` → 10, `yuv420p` → 8.
fn depth_of_pix_fmt(p: &str) -> Option<u8> {
    let base = p.strip_suffix("le").or_else(|| p.strip_suffix("be"))?;
    let digits: String =
        base.chars().rev().take_while(char::is_ascii_digit).collect::<Vec<_>>().into_iter().rev().collect();
    let after_p = base.len() > digits.len() && base[..base.len() - digits.len()].ends_with('p');
    if digits.is_empty() || !after_p {
        return None;
    }
    digits.parse().ok().filter(|d| (8..=16).contains(d))
}

struct KeyframeScan {
    max_keyframe_interval: Option<f64>,
    duration: Option<f64>,
}

/// Lists the video packets (timestamps and key flags only; nothing is decoded) of the first 20 s,
/// or of the whole file when `whole` (to measure a duration the container does not state).
async fn scan_keyframes(
    tools: &Tools,
    url: &std::ffi::OsStr,
    info: &MediaInfo,
    whole: bool,
) -> Result<KeyframeScan, MediaError> {
    let csv = list_packets(tools, url, info.demuxer(), &info.video.index.to_string(), whole).await?;
    Ok(analyse_packets(&packets_of(&csv, info.video.index), info.video.frame_rate))
}

/// The `pts_time,flags` lines of one stream, from `stream_index,pts_time,flags` lines.
fn packets_of(csv: &str, index: u32) -> String {
    let prefix = format!("{index},");
    csv.lines().filter_map(|line| line.strip_prefix(&prefix)).collect::<Vec<_>>().join("\n")
}

/// `stream_index,pts_time,flags` of the packets of the `streams` selected (ffprobe's -select_streams):
/// the first [`SCAN_WINDOW_SECONDS`], or the whole file when `whole`.
async fn list_packets(
    tools: &Tools,
    url: &std::ffi::OsStr,
    demuxer: Option<&str>,
    streams: &str,
    whole: bool,
) -> Result<String, MediaError> {
    let mut args: Vec<std::ffi::OsString> = vec!["-v".into(), "error".into(), "-hide_banner".into()];
    args.extend(input_args(INPUT_FORMATS, demuxer, PROBE_DECODERS));
    args.extend([
        "-select_streams".into(),
        streams.into(),
        "-show_entries".into(),
        "packet=stream_index,pts_time,flags".into(),
        "-of".into(),
        "csv=p=0".into(),
    ]);
    if !whole {
        args.extend(["-read_intervals".into(), format!("%+{SCAN_WINDOW_SECONDS}").into()]);
    }
    args.push(url.to_owned());
    let out = process::run(Invocation {
        tool: "ffprobe",
        program: &tools.ffprobe,
        args,
        timeout: SCAN_TIMEOUT,
        nice: tools.nice,
        stdout: Stdout::Collect { max_bytes: MAX_SCAN_OUTPUT },
    })
    .await?
    .success("ffprobe")?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// From `pts_time,flags` lines: the longest gap between keyframes (counting the stretch after the
/// last one), and the span of the timestamps.
fn analyse_packets(csv: &str, frame_rate: Option<f64>) -> KeyframeScan {
    let mut first: Option<f64> = None;
    let mut last: Option<f64> = None;
    let mut keyframes: Vec<f64> = Vec::new();
    for line in csv.lines() {
        let (Some(pts), Some(flags)) = (line.split(',').next(), line.rsplit(',').next()) else { continue };
        let Some(t) = number(&Value::String(pts.to_owned())) else { continue };
        first = Some(first.map_or(t, |f: f64| f.min(t)));
        last = Some(last.map_or(t, |l: f64| l.max(t)));
        if flags.starts_with('K') {
            keyframes.push(t);
        }
    }
    let (Some(first), Some(last)) = (first, last) else {
        return KeyframeScan { max_keyframe_interval: None, duration: None };
    };
    let frame = frame_rate.map_or(0.0, |f| 1.0 / f);
    let end = last + frame;
    keyframes.sort_by(f64::total_cmp);
    let max_gap = if keyframes.is_empty() {
        end - first
    } else {
        let inner = keyframes.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
        let before_first = keyframes[0] - first;
        let after_last = end - keyframes[keyframes.len() - 1];
        inner.max(before_first).max(after_last)
    };
    let duration = end - first;
    KeyframeScan {
        max_keyframe_interval: Some(max_gap).filter(|g| g.is_finite() && *g >= 0.0),
        duration: Some(duration).filter(|d| d.is_finite() && *d > 0.0 && *d < 1e7),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
        "streams": [
            {"index": 0, "codec_name": "h264", "profile": "High", "codec_type": "video", "width": 1920, "height": 1080,
             "sample_aspect_ratio": "1:1", "pix_fmt": "yuv420p", "level": 40, "field_order": "progressive",
             "r_frame_rate": "30000/1001", "avg_frame_rate": "30000/1001", "duration": "10.0", "bit_rate": "5000000",
             "disposition": {"attached_pic": 0}, "tags": {},
             "side_data_list": [{"side_data_type": "Display Matrix", "rotation": -90}]},
            {"index": 1, "codec_name": "aac", "profile": "LC", "codec_type": "audio", "sample_rate": "48000",
             "channels": 2, "bit_rate": "128000", "disposition": {"attached_pic": 0}}
        ],
        "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "10.010000", "size": "1000", "bit_rate": "5128000"}
    }"#;

    #[test]
    fn parses_a_normal_file() {
        let info = media_info_from_json(GOOD.as_bytes(), 123).unwrap();
        assert_eq!(info.container, "mov,mp4,m4a,3gp,3g2,mj2");
        assert_eq!(info.size_bytes, 123);
        assert!((info.duration_seconds - 10.01).abs() < 1e-9);
        assert_eq!(info.video.codec, "h264");
        assert_eq!(info.video.level, Some(40));
        assert_eq!(info.video.rotation, 90, "display matrix -90 (counter-clockwise) is a clockwise quarter turn");
        assert_eq!((info.display_width(), info.display_height()), (1080, 1920));
        assert!((info.video.frame_rate.unwrap() - 29.97).abs() < 0.01);
        assert_eq!(info.video.bit_depth, 8);
        assert_eq!(info.demuxer(), Some("mov"));
        let audio = info.audio.unwrap();
        assert_eq!((audio.codec.as_str(), audio.channels, audio.sample_rate), ("aac", 2, 48000));
    }

    #[test]
    fn hostile_json_is_an_error_or_unknown_never_a_panic() {
        let cases: &[&str] = &[
            "",
            "null",
            "[]",
            "42",
            "\"text\"",
            "{",
            "{}",
            r#"{"streams": "nope"}"#,
            r#"{"streams": [], "format": {"format_name": "mov"}}"#,
            r#"{"streams": [{"codec_type": "video"}], "format": {"format_name": "mov"}}"#,
            r#"{"streams": [{"codec_type": "video", "codec_name": "h264", "index": 0, "width": "NaN", "height": 1}], "format": {"format_name": "mov"}}"#,
            r#"{"streams": [{"codec_type": "video", "codec_name": "h264", "index": 0, "width": 1e308, "height": 1}], "format": {"format_name": "mov"}}"#,
            r#"{"streams": [{"codec_type": "video", "codec_name": "h264", "index": 0, "width": -5, "height": 1}], "format": {"format_name": "mov"}}"#,
            r#"{"streams": [{"codec_type": "video", "codec_name": "none", "index": 0, "width": 2, "height": 2}], "format": {"format_name": "mov"}}"#,
            r#"{"streams": [{"codec_type": "video", "codec_name": 7, "index": 0, "width": 2, "height": 2}], "format": {"format_name": "mov"}}"#,
            r#"{"streams": [{"codec_type": "audio", "codec_name": "aac", "index": 0}], "format": {"format_name": "mov"}}"#,
            r#"{"streams": [{"codec_type": "video", "codec_name": "h264", "index": 0, "width": 2, "height": 2, "disposition": {"attached_pic": 1}}], "format": {"format_name": "mov"}}"#,
            r#"{"streams": [{"codec_type": "video", "codec_name": "h264", "index": 0, "width": 2, "height": 2}], "format": {}}"#,
            r#"{"streams": [{"codec_type": "video", "codec_name": "h264", "index": 0, "width": 2, "height": 2}], "format": {"format_name": ""}}"#,
        ];
        for case in cases {
            let r = media_info_from_json(case.as_bytes(), 1);
            assert!(r.is_err(), "{case} should be refused, got {r:?}");
        }
        let codes = |json: &str| media_info_from_json(json.as_bytes(), 1).unwrap_err().code();
        assert_eq!(codes(cases[9]), "unsupported_codec");
        assert_eq!(codes(cases[11]), "too_large");
        assert_eq!(codes(cases[15]), "no_video_stream");
        assert_eq!(codes(cases[16]), "no_video_stream", "cover art alone is not a video");
        assert_eq!(codes(cases[0]), "not_a_video");
    }

    #[test]
    fn absurd_values_become_unknown() {
        let json = r#"{"streams": [
            {"codec_type": "video", "codec_name": "h264", "index": 0, "width": "640", "height": "360",
             "level": "-99", "r_frame_rate": "1/0", "avg_frame_rate": "0/0", "sample_aspect_ratio": "0:1",
             "pix_fmt": "yuv420p10le", "duration": "inf", "bit_rate": "nan",
             "tags": {"rotate": "Infinity"}, "side_data_list": [{"side_data_type": "Display Matrix", "rotation": "NaN"}]},
            {"codec_type": "audio", "codec_name": "opus", "index": 1, "channels": 99999, "sample_rate": "48000"},
            {"codec_type": "audio", "codec_name": "mp3", "index": "2", "channels": 2, "sample_rate": 44100}
        ], "format": {"format_name": "matroska,webm", "duration": "N/A", "bit_rate": -1}}"#;
        let info = media_info_from_json(json.as_bytes(), 9).unwrap();
        assert_eq!((info.video.width, info.video.height), (640, 360));
        assert_eq!(info.video.level, None);
        assert_eq!(info.video.frame_rate, None);
        assert_eq!(info.video.sample_aspect_ratio, None);
        assert_eq!(info.video.rotation, 0);
        assert_eq!(info.video.bit_depth, 10);
        assert_eq!(info.duration_seconds, 0.0);
        assert_eq!(info.bit_rate, None);
        assert_eq!(info.audio.as_ref().map(|a| a.codec.as_str()), Some("mp3"), "unusable audio stream skipped");
        assert_eq!(info.demuxer(), Some("matroska"));
    }

    #[test]
    fn rotation_normalises_to_quarter_turns() {
        assert_eq!(normalise_rotation(0.0), 0);
        assert_eq!(normalise_rotation(-90.0), 270);
        assert_eq!(normalise_rotation(90.0), 90);
        assert_eq!(normalise_rotation(-180.0), 180);
        assert_eq!(normalise_rotation(450.0), 90);
        assert_eq!(normalise_rotation(89.6), 90);
        assert_eq!(normalise_rotation(-1e300), 0);
        assert_eq!(normalise_rotation(f64::NAN), 0);
    }

    #[test]
    fn pixel_formats_give_bit_depths() {
        assert_eq!(depth_of_pix_fmt("yuv420p"), None);
        assert_eq!(depth_of_pix_fmt("yuv420p10le"), Some(10));
        assert_eq!(depth_of_pix_fmt("yuv422p12be"), Some(12));
        assert_eq!(depth_of_pix_fmt("rgb48le"), None);
    }

    #[test]
    fn keyframe_gaps_include_the_tail() {
        let csv = "0.000000,K_\n0.040000,__\n2.000000,K_\n2.040000,__\n9.960000,__\nN/A,__\ngarbage\n";
        let scan = analyse_packets(csv, Some(25.0));
        let gap = scan.max_keyframe_interval.unwrap();
        assert!((gap - 8.0).abs() < 1e-6, "{gap}");
        assert!((scan.duration.unwrap() - 10.0).abs() < 1e-6);
        let none = analyse_packets("", None);
        assert!(none.max_keyframe_interval.is_none() && none.duration.is_none());
        let no_key = analyse_packets("0.0,__\n5.0,__\n", None);
        assert_eq!(no_key.max_keyframe_interval, Some(5.0));
    }
}
