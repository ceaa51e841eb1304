//! The attack corpus at the media layer: probe, run_hls and thumbnail called directly on hostile
//! files, bypassing the HTTP sniff (and, where it matters, the probe itself), to prove the deeper
//! defences: nothing outside the upload is read, no connection is made, limits hold at decode time,
//! metadata is stripped, and no ffmpeg outlives its run.
//!
//! Files come from scripts/attacks.sh (target/attacks); text attacks are written here.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{repo_root, tools};
use flick_media::{HlsRun, Input, MediaError, MediaInfo, Plan, PlanSettings, plan, probe, run_hls, thumbnail};

/// The corpus directory, made on first use.
fn attack(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let root = repo_root();
        let dir = root.join("target/attacks");
        let ok = Command::new("bash").arg(root.join("scripts/attacks.sh")).arg(&dir).status().unwrap().success();
        assert!(ok, "scripts/attacks.sh failed");
        dir
    });
    dir.join(name)
}

/// A job folder as the worker makes it: the upload as `source`, plus (worse than reality) canary
/// files beside it and in a sibling folder, which no output may ever contain.
struct Job {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    other: PathBuf,
    marker: String,
}

impl Job {
    fn new(content: &[u8]) -> Job {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("job");
        let other = tmp.path().join("other");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        let marker = format!("CANARY-{:x}-{:x}", std::process::id(), Instant::now().elapsed().as_nanos() ^ rand());
        for p in [dir.join("canary.txt"), dir.join("passwd"), other.join("canary.txt")] {
            std::fs::write(&p, format!("{marker}\n").repeat(40_000)).unwrap();
            // An access time older than the content: the kernel (relatime) updates it on the first
            // read, which is how a read that left no trace in the outputs is still caught.
            let f = std::fs::File::options().write(true).open(&p).unwrap();
            f.set_times(
                std::fs::FileTimes::new().set_accessed(std::time::UNIX_EPOCH + Duration::from_secs(1_000_000_000)),
            )
            .unwrap();
        }
        std::fs::write(dir.join("source"), content).unwrap();
        Job { _tmp: tmp, dir, other, marker }
    }

    fn source(&self) -> PathBuf {
        self.dir.join("source")
    }

    fn out(&self) -> PathBuf {
        self.dir.join("out")
    }

    /// No output holds the canary or the first line of /etc/passwd, and no canary was even read.
    fn assert_outputs_clean(&self) {
        for p in [self.dir.join("canary.txt"), self.dir.join("passwd"), self.other.join("canary.txt")] {
            let accessed = std::fs::metadata(&p).unwrap().accessed().unwrap();
            let never = std::time::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
            assert_eq!(accessed, never, "{} was read", p.display());
        }
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let passwd_line = passwd.lines().next().unwrap_or("root:x:0:0").to_owned();
        for file in files_under(&self.dir) {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            if ["source", "canary.txt", "passwd"].contains(&name.as_str()) {
                continue;
            }
            let mut bytes = Vec::new();
            std::fs::File::open(&file).unwrap().read_to_end(&mut bytes).unwrap();
            assert!(!contains(&bytes, self.marker.as_bytes()), "{} holds the canary", file.display());
            assert!(!contains(&bytes, passwd_line.as_bytes()), "{} holds /etc/passwd", file.display());
        }
    }
}

fn rand() -> u128 {
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom").unwrap().read_exact(&mut b).unwrap();
    u128::from_le_bytes(b)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

/// Processes whose command line mentions `needle` (an ffmpeg still working on a job folder).
fn processes_mentioning(needle: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = e.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
            continue;
        }
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(needle) {
            found.push(format!("{pid}: {cmd}"));
        }
    }
    found
}

/// A listener standing in for an internal service: nothing may connect to it.
struct Trap {
    listener: TcpListener,
}

impl Trap {
    fn new() -> Trap {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        Trap { listener }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.listener.local_addr().unwrap().port())
    }

    fn assert_untouched(&self) {
        match self.listener.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Ok((_, peer)) => panic!("something connected to the trap listener from {peer}"),
            Err(e) => panic!("trap listener: {e}"),
        }
    }
}

/// What a probe of a clean clip says, to fake a probe that was fooled.
async fn clean_info() -> MediaInfo {
    probe(&tools(), &attack("clean.mp4")).await.expect("the clean clip probes")
}

async fn hls_of(job: &Job, info: &MediaInfo, plan: Plan) -> Result<(), MediaError> {
    let run = HlsRun {
        timeout: Duration::from_secs(60),
        ..HlsRun::new(Input::File(job.source()), job.out(), plan, info.clone())
    };
    run_hls(&tools(), &run, None, |_| {}).await
}

fn transcode_plan(info: &MediaInfo) -> Plan {
    let mut pretend = info.clone();
    pretend.video.codec = "hevc".into();
    plan(&pretend, &PlanSettings::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disguised_playlists_and_scripts_never_reach_files_or_the_network() {
    let trap = Trap::new();
    let clean = clean_info().await;
    let probe_job = Job::new(b"");
    let other_abs = probe_job.other.join("canary.txt");
    let other = other_abs.display().to_string();
    let url = trap.url();
    let pl = |uri: &str, end: bool| {
        format!(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\n{uri}\n{}",
            if end { "#EXT-X-ENDLIST\n" } else { "" }
        )
    };
    let cases: Vec<(&str, String)> = vec![
        ("hls file:///etc/passwd", pl("file:///etc/passwd", true)),
        ("hls other upload (absolute)", pl(&other, true)),
        ("hls other upload (file: URL)", pl(&format!("file://{other}"), true)),
        ("hls same folder (relative)", pl("canary.txt", true)),
        ("hls sibling folder (relative)", pl("../other/canary.txt", true)),
        ("hls http://127.0.0.1", pl(&format!("{url}seg.ts"), true)),
        ("hls concat:", pl("concat:/etc/passwd|canary.txt", true)),
        ("hls subfile", pl("subfile,,start,0,end,0,,:/etc/passwd", true)),
        ("hls data:", pl("data:text/plain;base64,I0VYVE0zVQo=", true)),
        ("hls self-referencing", pl("source", true)),
        ("hls live, no end", pl(&format!("{url}live.ts"), false)),
        ("hls master playlist", format!("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n{url}x.m3u8\n")),
        ("ffconcat absolute", "ffconcat version 1.0\nfile /etc/passwd\n".into()),
        ("ffconcat same folder", "ffconcat version 1.0\nfile canary.txt\nfile passwd\n".into()),
        ("ffconcat itself", "ffconcat version 1.0\nfile source\n".into()),
    ];
    for (name, text) in &cases {
        let started = Instant::now();
        // 1. The probe, on the file as uploaded.
        let job = Job::new(text.as_bytes());
        let err = probe(&tools(), &job.source()).await.expect_err(name);
        assert!(
            matches!(err.code(), "not_a_video" | "unsupported_format"),
            "{name}: probe said {} ({err})",
            err.code()
        );
        // 2. Processing, as if the probe had been fooled into calling it an MP4 or a Matroska file,
        //    and once with a container ffmpeg would have to guess.
        for container in ["mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "hls"] {
            let mut info = clean.clone();
            info.container = container.into();
            for p in [Plan::Remux, transcode_plan(&info)] {
                let r = hls_of(&job, &info, p).await;
                assert!(r.is_err(), "{name} as {container}: processing succeeded");
            }
            let r =
                thumbnail(&tools(), &job.source(), &info, &job.dir.join("thumb.jpg"), Duration::from_secs(30)).await;
            assert!(r.is_err(), "{name} as {container}: a thumbnail was made");
        }
        let took = started.elapsed();
        assert!(took < Duration::from_secs(20), "{name}: took {took:?}");
        job.assert_outputs_clean();
        assert!(processes_mentioning(&job.dir.display().to_string()).is_empty(), "{name}: ffmpeg left behind");
        eprintln!("{name}: refused ({}) in {took:?}", err.code());
    }
    trap.assert_untouched();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_media_is_refused_at_the_probe() {
    let cases = [
        ("pixel_bomb.mp4", "too_large"),
        ("duration_bomb.mkv", "too_large"),
        ("many_streams.mkv", "too_large"),
        ("png.mov", "unsupported_codec"),
        ("playlist_in_mdat.mp4", "not_a_video"),
    ];
    for (name, code) in cases {
        let job = Job::new(&std::fs::read(attack(name)).unwrap());
        let started = Instant::now();
        let err = probe(&tools(), &job.source()).await.expect_err(name);
        let took = started.elapsed();
        assert_eq!(err.code(), code, "{name}: {err}");
        assert!(err.is_permanent(), "{name}: {err}");
        assert!(took < Duration::from_secs(10), "{name}: {took:?}");
        eprintln!("{name}: {code} in {took:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cover_art_and_subtitles_do_not_trip_the_decoder_allowlist() {
    let job = Job::new(&std::fs::read(attack("cover_art.mp4")).unwrap());
    let info = probe(&tools(), &job.source()).await.expect("a clip with cover art and subtitles probes");
    assert_eq!(info.video.codec, "h264");
    let p = plan(&info, &PlanSettings::default()).unwrap();
    hls_of(&job, &info, p).await.expect("and is processed");
    hls_of(&job, &info, transcode_plan(&info)).await.expect("and can be re-encoded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_hold_at_decode_time_even_when_the_probe_is_fooled() {
    let clean = clean_info().await;
    // A pixel bomb described as a small clip: every decoder refuses more than MAX_PIXELS.
    let job = Job::new(&std::fs::read(attack("pixel_bomb.mp4")).unwrap());
    let started = Instant::now();
    let err = hls_of(&job, &clean, transcode_plan(&clean)).await.expect_err("pixel bomb decoded");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    eprintln!("pixel bomb past the probe: {} in {:?}", err.code(), started.elapsed());
    let r = thumbnail(&tools(), &job.source(), &clean, &job.dir.join("t.jpg"), Duration::from_secs(30)).await;
    assert!(r.is_err(), "pixel bomb thumbnail");

    // A stream that switches from 320x240 to 8192x8192: probes fine, then fails when the big frames come.
    let job = Job::new(&std::fs::read(attack("res_switch.mkv")).unwrap());
    let info = probe(&tools(), &job.source()).await.expect("the switch is invisible to the probe");
    assert_eq!((info.video.width, info.video.height), (320, 240));
    let p = plan(&info, &PlanSettings::default()).unwrap();
    assert!(matches!(p, Plan::Transcode { .. }), "{p:?}");
    let started = Instant::now();
    let err = hls_of(&job, &info, p).await.expect_err("the 8192x8192 part was decoded");
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    eprintln!("resolution switch: {} in {:?}: {err}", err.code(), started.elapsed());

    // A duration bomb whose probe said 0.2 s: the output stops there, whatever the timestamps say.
    let job = Job::new(&std::fs::read(attack("duration_bomb.mkv")).unwrap());
    let mut info = clean.clone();
    info.container = "matroska,webm".into();
    info.audio = None;
    info.duration_seconds = 0.2;
    info.size_bytes = 6000;
    let started = Instant::now();
    let _ = hls_of(&job, &info, Plan::Remux).await;
    let _ = hls_of(&job, &info, transcode_plan(&info)).await;
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    let listed: f64 = match std::fs::read_to_string(job.out().join("ffmpeg.m3u8")) {
        Ok(t) => flick_packaging::playlist::parse_media(&t).map(|s| s.iter().map(|s| s.duration).sum()).unwrap_or(0.0),
        Err(_) => 0.0,
    };
    assert!(listed < 10.0, "duration bomb produced {listed} s of output");
    let written: u64 = files_under(&job.out()).iter().map(|f| f.metadata().unwrap().len()).sum();
    assert!(written < 5 << 20, "duration bomb wrote {written} bytes");
    assert!(processes_mentioning(&job.dir.display().to_string()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_data_references_are_never_followed() {
    // The video track's 'dref' names /etc/passwd, and "passwd" and "canary.txt" beside it.
    let job = Job::new(&std::fs::read(attack("dref.mov")).unwrap());
    let result = probe(&tools(), &job.source()).await;
    if let Ok(info) = &result {
        let _ = hls_of(&job, info, Plan::Remux).await;
        let _ = hls_of(&job, info, transcode_plan(info)).await;
        let _ = thumbnail(&tools(), &job.source(), info, &job.dir.join("t.jpg"), Duration::from_secs(30)).await;
    }
    // Bypassing the probe too.
    let clean = clean_info().await;
    let _ = hls_of(&job, &clean, transcode_plan(&clean)).await;
    let _ = hls_of(&job, &clean, Plan::Remux).await;
    job.assert_outputs_clean();
    eprintln!("dref: probe {:?}", result.map(|_| "ok").map_err(|e| e.to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_never_reaches_segments_or_thumbnails() {
    for name in ["gps.mov", "gps.mkv"] {
        let job = Job::new(&std::fs::read(attack(name)).unwrap());
        let info = probe(&tools(), &job.source()).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        let p = plan(&info, &PlanSettings::default()).unwrap();
        hls_of(&job, &info, p.clone()).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        let thumb = job.dir.join("thumb.jpg");
        thumbnail(&tools(), &job.source(), &info, &thumb, Duration::from_secs(30)).await.unwrap();
        let mut outputs: Vec<PathBuf> =
            files_under(&job.out()).into_iter().filter(|f| f.extension().is_some_and(|e| e == "ts")).collect();
        assert!(!outputs.is_empty());
        outputs.push(thumb);
        for out in outputs {
            let bytes = std::fs::read(&out).unwrap();
            for secret in [&b"SECRET_"[..], b"48.8584", b"+002.2945"] {
                assert!(!contains(&bytes, secret), "{name} ({p:?}): {} holds {:?}", out.display(), secret);
            }
            let shown = Command::new("ffprobe")
                .args(["-v", "error", "-show_format", "-show_streams"])
                .arg(&out)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&shown.stdout);
            let tags: Vec<&str> = text.lines().filter(|l| l.starts_with("TAG:")).collect();
            assert!(tags.is_empty(), "{name}: {} has tags {tags:?}", out.display());
        }
        eprintln!("{name} ({p:?}): outputs clean");
    }
}

#[test]
fn never_allowed_extensions_all() {
    // The HLS demuxer's allowed_extensions=ALL lets a playlist name any file; Flick never sets it,
    // and never lets the hls demuxer run at all.
    let info = MediaInfo { container: "mov,mp4,m4a,3gp,3g2,mj2".into(), ..futures_free_clean_info() };
    let run = HlsRun {
        timeout: Duration::from_secs(1),
        ..HlsRun::new(Input::File("/x/source".into()), "/x/out".into(), Plan::Remux, info)
    };
    let args: Vec<String> = flick_media::hls_args(&run).unwrap().iter().map(|a| a.to_string_lossy().into()).collect();
    let joined = args.join(" ");
    assert!(!joined.contains("allowed_extensions"), "{joined}");
    assert!(!joined.contains("hls,") && !joined.contains(",hls"), "{joined}");
    for needed in ["-protocol_whitelist file", "-codec_whitelist", "-max_pixels", "-max_streams", "-xerror"] {
        assert!(joined.contains(needed), "{needed} missing: {joined}");
    }
    assert!(joined.contains("-f mov -enable_drefs 0 -use_absolute_path 0 -i file:/x/source"), "{joined}");

    // Read from the pipe: the pipe protocol is allowed then only, and the demuxer is always forced.
    let piped = HlsRun { input: Input::Pipe, ..run.clone() };
    let args: Vec<String> = flick_media::hls_args(&piped).unwrap().iter().map(|a| a.to_string_lossy().into()).collect();
    let joined = args.join(" ");
    assert!(joined.contains("-protocol_whitelist file,pipe "), "{joined}");
    assert!(joined.contains("-f mov -enable_drefs 0 -use_absolute_path 0 -i pipe:0"), "{joined}");
    let guessed = HlsRun { info: MediaInfo { container: "hls".into(), ..piped.info.clone() }, ..piped };
    let err = flick_media::hls_args(&guessed).unwrap_err();
    assert_eq!(err.code(), "unsupported_format", "{err}");
}

fn futures_free_clean_info() -> MediaInfo {
    let json = br#"{"streams": [{"index": 0, "codec_type": "video", "codec_name": "h264", "width": 320,
        "height": 240, "pix_fmt": "yuv420p", "profile": "High"}], "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2",
        "duration": "3.0"}}"#;
    flick_media::media_info_from_json(json, 100_000).unwrap()
}
