//! Shared by the integration tests: fixtures (scripts/fixtures.sh, plus a few made here with ffmpeg
//! into target/packaging-fixtures), loading a file the way the server will (scanner, then index),
//! assembling a package into one fMP4 file, and asking ffprobe/ffmpeg about files.

#![allow(dead_code)]

pub mod rewrite;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use flick_packaging::mp4::{BoxPos, BoxScanner, Limits, Movie, Package, ScanState, parse_movie};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// Whether ffmpeg and ffprobe run. When they do not, tests that need them print a notice and
/// return: a skip, not a silent pass.
pub fn have_ffmpeg(test: &str) -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    let ok = *OK.get_or_init(|| {
        ["ffmpeg", "ffprobe"]
            .iter()
            .all(|tool| Command::new(tool).arg("-version").output().map(|o| o.status.success()).unwrap_or(false))
    });
    if !ok {
        eprintln!("NOTICE: {test} SKIPPED: ffmpeg/ffprobe not found (apt-get install -y ffmpeg)");
    }
    ok
}

/// A clip made by scripts/fixtures.sh (run once per test binary).
pub fn fixture(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
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
    });
    let p = dir.join(name);
    assert!(p.exists(), "missing fixture {}", p.display());
    p
}

fn seed() -> PathBuf {
    std::env::var_os("FLICK_SEED_MEDIA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/media/bigbuckbunny.mp4"))
}

/// Clips only these tests need, made once into target/packaging-fixtures (never committed).
pub fn extra(name: &str) -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    // Made from another extra clip: make that first, outside the lock.
    let source = (name == "non_interleaved.mp4").then(|| extra("bframes_edit.mp4"));
    let _turn = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = repo_root().join("target/packaging-fixtures");
    std::fs::create_dir_all(&dir).expect("fixtures dir");
    let path = dir.join(name);
    if path.exists() {
        return path;
    }
    let tmp = dir.join(format!(".tmp.{}.{name}", std::process::id()));
    let seed = seed();
    let seed = seed.to_str().expect("utf-8 path");
    let tmp_s = tmp.to_str().expect("utf-8 path");
    let aac = ["-c:a", "aac", "-ac", "2", "-b:a", "64k"];
    match name {
        // x264 with B-frames (ctts, a 2-frame edit), AAC with its 1024-sample priming edit,
        // keyframes every 2 s, index at the end.
        "bframes_edit.mp4" => ffmpeg(&[
            &["-stream_loop", "1", "-i", seed, "-t", "10", "-vf", "scale=640:360"],
            &["-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-g", "50", "-keyint_min", "50"],
            &["-sc_threshold", "0"],
            &aac,
            &[tmp_s],
        ]),
        // HEVC with B-frames in a MOV, keyframes every second, turned a quarter (two steps:
        // ffmpeg 5.1 keeps the rotate tag only on a stream copy).
        "hevc_gop.mov" => {
            let enc = dir.join(format!(".tmp.{}.hevc_enc.mov", std::process::id()));
            let enc_s = enc.to_str().expect("utf-8 path");
            ffmpeg(&[
                &["-i", seed, "-t", "4", "-vf", "scale=640:360", "-c:v", "libx265", "-preset", "ultrafast"],
                &["-x265-params", "keyint=25:min-keyint=25:scenecut=0:bframes=3:log-level=error"],
                &["-tag:v", "hvc1"],
                &aac,
                &[enc_s],
            ]);
            ffmpeg(&[&["-i", enc_s, "-map", "0", "-c", "copy", "-metadata:s:v:0", "rotate=90", tmp_s]]);
            let _ = std::fs::remove_file(enc);
        }
        // H.264 and AAC in a MOV: ffmpeg writes QuickTime's version 1 sound description there.
        "h264_aac.mov" => ffmpeg(&[&["-i", seed, "-t", "4", "-c:v", "copy"], &aac, &["-f", "mov", tmp_s]]),
        // All video, then all audio: the worst layout a muxer writes.
        "non_interleaved.mp4" => {
            let src = std::fs::read(source.expect("source")).expect("read source");
            std::fs::write(&tmp, rewrite::non_interleaved(&src)).expect("write");
        }
        other => panic!("no recipe for {other}"),
    }
    std::fs::rename(&tmp, &path).expect("rename fixture");
    path
}

fn ffmpeg(args: &[&[&str]]) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(args.iter().flat_map(|a| a.iter()))
        .output()
        .expect("ffmpeg");
    assert!(out.status.success(), "ffmpeg failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// A file as the server sees it: its bytes, the index the scanner found, the parsed movie.
pub struct Loaded {
    pub bytes: Vec<u8>,
    pub moov: BoxPos,
    pub movie: Movie,
}

/// Finds the index the way the upload path does: header by header, through the scanner.
pub fn find_index(bytes: &[u8]) -> (ScanState, usize) {
    let mut scanner = BoxScanner::new(bytes.len() as u64);
    let mut reads = 0;
    while let Some((offset, len)) = scanner.wants() {
        reads += 1;
        let at = offset as usize;
        scanner.feed(&bytes[at..at + len]).expect("scan");
    }
    (scanner.state(), reads)
}

pub fn load(path: &Path) -> Loaded {
    let bytes = std::fs::read(path).expect("read");
    let moov = match find_index(&bytes).0 {
        ScanState::Found { moov, .. } => moov,
        other => panic!("{}: no index ({other:?})", path.display()),
    };
    let index = &bytes[moov.offset as usize..moov.end() as usize];
    let movie = parse_movie(index, moov.offset, bytes.len() as u64, &Limits::default()).expect("parse");
    Loaded { bytes, moov, movie }
}

/// init ++ every segment (header ++ the original's ranges): what a player receives, in one file.
pub fn assemble(bytes: &[u8], package: &Package) -> Vec<u8> {
    let mut out = package.init.clone();
    for s in &package.segments {
        out.extend_from_slice(&s.header);
        for &(offset, len) in &s.ranges {
            out.extend_from_slice(&bytes[offset as usize..(offset + len) as usize]);
        }
    }
    out
}

/// One demuxed packet, as ffprobe reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    pub stream: usize,
    pub pts: f64,
    pub dts: f64,
    pub duration: f64,
    pub size: u64,
    pub key: bool,
}

pub fn packets(path: &Path) -> Vec<Packet> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "packet=stream_index,pts_time,dts_time,duration_time,size,flags"])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe");
    assert!(out.status.success(), "ffprobe failed on {}", path.display());
    let num = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Packet {
                stream: f[0].parse().expect("stream"),
                pts: num(f[1]),
                dts: num(f[2]),
                duration: num(f[3]),
                size: f[4].parse().expect("size"),
                key: f[5].starts_with('K'),
            }
        })
        .collect()
}

/// The MD5 of every packet's payload, per stream in order (`ffmpeg -f framemd5`).
pub fn packet_hashes(path: &Path, maps: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-v", "error", "-i"]).arg(path);
    for m in maps {
        cmd.args(["-map", m]);
    }
    let out = cmd.args(["-c", "copy", "-f", "framemd5", "-"]).output().expect("ffmpeg framemd5");
    assert!(out.status.success(), "framemd5 failed: {}", String::from_utf8_lossy(&out.stderr));
    let mut streams: Vec<Vec<String>> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        // stream, dts, pts, duration, size, hash[, side data...]
        let (Some(stream), Some(hash)) = (f.first().and_then(|s| s.parse::<usize>().ok()), f.get(5)) else { continue };
        if streams.len() <= stream {
            streams.resize(stream + 1, Vec::new());
        }
        streams[stream].push((*hash).to_owned());
    }
    streams
}

/// Demuxes a file completely; returns ffmpeg's complaints (empty when there are none).
pub fn demux_errors(path: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0", "-c", "copy", "-f", "null", "-"])
        .output()
        .expect("ffmpeg");
    let mut errors = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        errors.push_str(&format!("\nexit: {}", out.status));
    }
    errors
}

/// One ffprobe stream field of the first video stream.
pub fn video_field(path: &Path, entries: &str) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", entries, "-of", "default=nw=1:nk=1"])
        .arg(path)
        .output()
        .expect("ffprobe");
    String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("").trim().to_owned()
}
