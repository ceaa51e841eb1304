//! Shared by the integration tests: fixtures made from the seed clip by scripts/fixtures.sh (once
//! per test binary), the real ffmpeg/ffprobe, and helpers that ask ffprobe about outputs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use flick_media::Tools;
use flick_packaging::playlist::Segment;

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
pub fn read_playlist(dir: &Path) -> Vec<Segment> {
    let text = std::fs::read_to_string(dir.join(flick_media::FFMPEG_PLAYLIST)).expect("ffmpeg.m3u8");
    flick_packaging::playlist::parse_media(&text).expect("valid playlist")
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

/// A file's bytes as an upload arriving in `chunk`-byte pieces, `pause` apart.
pub fn trickle(path: &Path, chunk: usize, pause: std::time::Duration) -> flick_domain::ports::ByteStream {
    let bytes = bytes::Bytes::from(std::fs::read(path).expect("fixture"));
    let pieces: Vec<bytes::Bytes> =
        (0..bytes.len()).step_by(chunk.max(1)).map(|at| bytes.slice(at..(at + chunk).min(bytes.len()))).collect();
    Box::pin(futures_util::StreamExt::then(futures_util::stream::iter(pieces), move |piece| async move {
        tokio::time::sleep(pause).await;
        Ok(piece)
    }))
}

/// The index of an MP4/MOV file, found by the box scanner over the whole file and parsed.
pub fn movie_of(path: &Path) -> flick_packaging::mp4::Movie {
    use flick_packaging::mp4::{BoxScanner, Limits, ScanState, parse_movie};
    let bytes = std::fs::read(path).expect("fixture");
    let len = bytes.len() as u64;
    let mut scanner = BoxScanner::new(len);
    while let Some((at, n)) = scanner.wants() {
        scanner.feed(&bytes[at as usize..at as usize + n]).expect("box headers");
    }
    let ScanState::Found { moov, .. } = scanner.state() else { panic!("{}: no moov", path.display()) };
    let index = &bytes[moov.offset as usize..moov.end() as usize];
    parse_movie(index, moov.offset, len, &Limits::default()).expect("a readable index")
}

/// Processes (of anyone) named ffmpeg or ffprobe whose command line mentions `needle` (a work
/// folder of one test): with their pids, to check later that they are gone (not even a zombie).
pub fn tools_mentioning(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let tool = cmd.split(' ').next().unwrap_or("");
        if (tool.ends_with("ffmpeg") || tool.ends_with("ffprobe")) && cmd.contains(needle) {
            found.push(pid);
        }
    }
    found
}

/// Whether a process still exists, as a zombie included.
pub fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}
