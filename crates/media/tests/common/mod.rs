//! Shared by the integration tests: fixtures made from the seed clip by scripts/fixtures.sh (once
//! per test binary), the real ffmpeg/ffprobe, and helpers that ask ffprobe about outputs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use flick_media::Tools;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// The fixtures directory, made (or completed) on first use.
pub fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = repo_root();
        let dir =
            std::env::var_os("FLICK_FIXTURES_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target/fixtures"));
        let status = Command::new("bash")
            .arg(root.join("scripts/fixtures.sh"))
            .arg(&dir)
            .current_dir(&root)
            .status()
            .expect("running scripts/fixtures.sh");
        assert!(status.success(), "scripts/fixtures.sh failed");
        dir
    })
}

pub fn fixture(name: &str) -> PathBuf {
    let p = fixtures().join(name);
    assert!(p.exists(), "missing fixture {}", p.display());
    p
}

pub fn tools() -> Tools {
    Tools {
        ffmpeg: std::env::var_os("FLICK_FFMPEG").map_or_else(|| "ffmpeg".into(), PathBuf::from),
        ffprobe: std::env::var_os("FLICK_FFPROBE").map_or_else(|| "ffprobe".into(), PathBuf::from),
        nice: 0,
    }
}

/// Duration (s) of a media file or playlist as ffprobe reads it, demuxing every packet.
pub fn probed_duration(path: &Path) -> f64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration", "-of", "default=nw=1:nk=1"])
        .arg(path)
        .output()
        .expect("ffprobe");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(f64::NAN)
}

/// Decodes a playlist (or file) completely with ffmpeg; returns (ok, decoded duration in s, stderr).
pub fn decode(path: &Path) -> (bool, f64, String) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success() && stderr.trim().is_empty(), probed_duration(path), stderr)
}

/// (width, height) of the first video stream as stored. For our MPEG-TS output (which has no
/// rotation metadata) that is exactly what a player shows.
pub fn stored_size(path: &Path) -> (u32, u32) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe");
    let text = first_line(&out.stdout);
    let mut it = text.split(',').map(|n| n.trim().parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

/// The segments ffmpeg listed in an output directory.
pub fn read_playlist(dir: &Path) -> Vec<flick_media::Segment> {
    let text = std::fs::read_to_string(dir.join(flick_media::FFMPEG_PLAYLIST)).expect("ffmpeg.m3u8");
    flick_media::parse_media_playlist(&text).expect("valid playlist")
}

/// The first H.264 SPS in an Annex B stream: (profile_idc, constraint flags, level_idc).
pub fn first_sps(ts: &[u8]) -> Option<(u8, u8, u8)> {
    // MPEG-TS packets carry PES payload with start codes; a naive scan for 00 00 01 67 is enough
    // for our own segments (the SPS sits in the first packet of the first keyframe).
    ts.windows(7)
        .find_map(|w| (w[0] == 0 && w[1] == 0 && w[2] == 1 && (w[3] & 0x1f) == 7).then_some((w[4], w[5], w[6])))
}

/// ffprobe lists a playlist's streams twice (under its program and on their own): the first line.
pub fn first_line(stdout: &[u8]) -> String {
    String::from_utf8_lossy(stdout).lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("").to_owned()
}

/// One ffprobe field of the first stream matching `select` (e.g. "a:0") in a file or playlist.
pub fn stream_field(path: &Path, select: &str, entries: &str) -> String {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            select,
            "-show_entries",
            &format!("stream={entries}"),
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe");
    first_line(&out.stdout)
}
