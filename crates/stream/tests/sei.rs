//! Segments cut from real H.264/AAC originals carry no SEI NAL units once served, still decode to the very same
//! pictures, and are byte-identical however many times, and through however many caches, they are served.
//!
//! The seed clip (`../shared/media/bigbuckbunny.mp4`) has no SEI of its own, so the originals are made from it with
//! ffmpeg, into `target/stream-fixtures`: the seed copied with a user-data SEI put in its first frame (what a
//! camera writes), and an x264 encode with an SEI in every frame (x264's own version and options in the first, HRD
//! timing in all of them) and a keyframe every second (several segments).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use flick_domain::VideoId;
use flick_domain::ports::{
    Blob, BlobKey, ByteRange, ByteStream, RepoError, SpoolError, SpoolWriter, Store, StoreError, UploadRecord,
    UploadRepo, UploadSpool, UploadWriteLock,
};
use flick_packaging::mp4::{BoxScanner, Limits, Package, ScanState, SegmentTargets, TrackKind, package, parse_movie};
use flick_stream::cut::{self, SegmentBody};
use flick_stream::{Arrived, Original, Packages};
use futures_util::StreamExt;

/// What the camera-like SEI says: it must not reach a viewer.
const SECRET: &str = "flick-secret-gps-48.8583N-2.2945E";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// Whether ffmpeg and ffprobe run; when they do not, the test says it is skipped.
fn have_ffmpeg(test: &str) -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    let ok = *OK.get_or_init(|| {
        ["ffmpeg", "ffprobe"]
            .iter()
            .all(|tool| Command::new(tool).arg("-version").output().is_ok_and(|o| o.status.success()))
    });
    if !ok {
        eprintln!("NOTICE: {test} SKIPPED: ffmpeg/ffprobe not found (apt-get install -y ffmpeg)");
    }
    ok
}

fn seed() -> PathBuf {
    std::env::var_os("FLICK_SEED_MEDIA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/media/bigbuckbunny.mp4"))
}

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg");
    assert!(out.status.success(), "ffmpeg failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// An original made from the seed, once (never committed).
fn fixture(name: &str) -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _turn = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = repo_root().join("target/stream-fixtures");
    std::fs::create_dir_all(&dir).expect("fixtures dir");
    let path = dir.join(name);
    if path.exists() {
        return path;
    }
    let tmp = dir.join(format!(".tmp.{}.{name}", std::process::id()));
    let (seed, tmp_s) = (seed(), tmp.to_str().expect("utf-8").to_owned());
    let seed = seed.to_str().expect("utf-8");
    let sei = format!("h264_metadata=sei_user_data=086f3693-b7b3-4f2c-9653-21492feee5b8+{SECRET}");
    match name {
        // The real 720p clip, its H.264 copied with a user-data-unregistered SEI in its first frame.
        "camera_sei.mp4" => ffmpeg(&["-i", seed, "-map", "0", "-c", "copy", "-bsf:v", &sei, &tmp_s]),
        // 8 s of x264 with B-frames, a keyframe a second, HRD SEI in every frame (and x264's own in the first).
        "x264_sei.mp4" => ffmpeg(&[
            "-stream_loop",
            "1",
            "-i",
            seed,
            "-t",
            "8",
            "-vf",
            "scale=640:360",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-bf",
            "2",
            "-g",
            "25",
            "-keyint_min",
            "25",
            "-sc_threshold",
            "0",
            "-x264-params",
            "nal-hrd=vbr",
            "-maxrate",
            "1M",
            "-bufsize",
            "2M",
            "-bsf:v",
            &sei,
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            &tmp_s,
        ]),
        other => panic!("no recipe for {other}"),
    }
    std::fs::rename(&tmp, &path).expect("rename fixture");
    path
}

// --- The ports an original is read through: the whole file in a store, no upload in progress. ---

/// Blobs in memory, read back in chunks of an odd size so that cuts fall across chunk boundaries.
#[derive(Default)]
struct MemStore {
    blobs: Mutex<HashMap<String, Bytes>>,
    chunk: usize,
}

impl MemStore {
    fn with(chunk: usize) -> Self {
        MemStore { blobs: Mutex::default(), chunk }
    }
}

#[async_trait]
impl Store for MemStore {
    async fn put_file(&self, key: &BlobKey, local: &Path) -> Result<(), StoreError> {
        let bytes = std::fs::read(local).map_err(|source| StoreError::Io { key: key.to_string(), source })?;
        self.put_bytes(key, bytes.into()).await
    }
    async fn put_bytes(&self, key: &BlobKey, bytes: Bytes) -> Result<(), StoreError> {
        self.blobs.lock().unwrap().insert(key.as_str().to_owned(), bytes);
        Ok(())
    }
    async fn get(&self, key: &BlobKey, range: Option<ByteRange>) -> Result<Option<Blob>, StoreError> {
        let Some(bytes) = self.blobs.lock().unwrap().get(key.as_str()).cloned() else { return Ok(None) };
        let total_len = bytes.len() as u64;
        let part = match range {
            Some(r) => bytes.slice(r.start as usize..r.end as usize + 1),
            None => bytes,
        };
        let chunk = self.chunk.max(1);
        let chunks: Vec<std::io::Result<Bytes>> =
            (0..part.len()).step_by(chunk).map(|at| Ok(part.slice(at..(at + chunk).min(part.len())))).collect();
        Ok(Some(Blob { total_len, range, body: Box::pin(futures_util::stream::iter(chunks)) }))
    }
    async fn len(&self, key: &BlobKey) -> Result<Option<u64>, StoreError> {
        Ok(self.blobs.lock().unwrap().get(key.as_str()).map(|b| b.len() as u64))
    }
    async fn fetch_to(&self, _key: &BlobKey, _dest: &Path) -> Result<(), StoreError> {
        unimplemented!("not read as a file")
    }
    async fn delete(&self, key: &BlobKey) -> Result<(), StoreError> {
        self.blobs.lock().unwrap().remove(key.as_str());
        Ok(())
    }
    async fn delete_prefix(&self, _prefix: &BlobKey) -> Result<(), StoreError> {
        Ok(())
    }
    async fn list(&self, _prefix: &BlobKey) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }
}

/// No upload in progress: every original is whole, in the store.
struct NoUploads;

#[async_trait]
impl UploadRepo for NoUploads {
    async fn create_upload(&self, _upload: &UploadRecord) -> Result<(), RepoError> {
        unimplemented!("no uploads")
    }
    async fn get_upload(&self, _id: VideoId) -> Result<Option<UploadRecord>, RepoError> {
        Ok(None)
    }
    async fn set_upload_offset(&self, _id: VideoId, _offset: u64, _expires: DateTime<Utc>) -> Result<bool, RepoError> {
        Ok(false)
    }
    async fn delete_upload(&self, _id: VideoId) -> Result<bool, RepoError> {
        Ok(false)
    }
    async fn expired_uploads(&self, _now: DateTime<Utc>) -> Result<Vec<VideoId>, RepoError> {
        Ok(Vec::new())
    }
    async fn wait_for_progress(&self, max: Duration) {
        tokio::time::sleep(max).await;
    }
    async fn try_lock_upload(&self, _id: VideoId) -> Result<Option<UploadWriteLock>, RepoError> {
        Ok(None)
    }
}

#[async_trait]
impl UploadSpool for NoUploads {
    async fn create(&self, _upload: &UploadRecord) -> Result<(), SpoolError> {
        unimplemented!("no uploads")
    }
    async fn reconcile(&self, _upload: &UploadRecord) -> Result<u64, SpoolError> {
        unimplemented!("no uploads")
    }
    async fn writer(&self, _upload: &UploadRecord, _offset: u64) -> Result<Box<dyn SpoolWriter>, SpoolError> {
        unimplemented!("no uploads")
    }
    async fn read(&self, _upload: &UploadRecord, _range: ByteRange) -> Result<ByteStream, SpoolError> {
        unimplemented!("no uploads")
    }
    async fn finish(&self, _upload: &UploadRecord, _store: &dyn Store, _key: &BlobKey) -> Result<(), SpoolError> {
        unimplemented!("no uploads")
    }
    async fn remove(&self, _id: VideoId) -> Result<(), SpoolError> {
        Ok(())
    }
    async fn list(&self) -> Result<Vec<VideoId>, SpoolError> {
        Ok(Vec::new())
    }
}

/// A video served from its original, as a server process holds it.
struct Server {
    original: Original,
    packages: Packages,
}

impl Server {
    /// A process that starts with nothing cached (after a restart), over `store`.
    fn start(id: VideoId, len: u64, store: Arc<dyn Store>) -> Self {
        let original = Original::new(id, len, Arc::new(NoUploads), Arc::new(NoUploads), store.clone());
        Server { original, packages: Packages::new(store, 64 << 20) }
    }

    async fn package(&self) -> Arc<Package> {
        self.packages.get(self.original.id()).await.expect("package").expect("stored")
    }

    /// Segment `index` as a viewer gets it (through the cache).
    async fn segment(&self, index: usize) -> Vec<u8> {
        let package = self.package().await;
        let body = self.packages.segment_body(&self.original, &Arrived::Whole, &package, index).await.expect("serve");
        collect(body).await
    }
}

async fn collect(body: SegmentBody) -> Vec<u8> {
    let len = body.len;
    let mut out = Vec::new();
    let mut body = body;
    while let Some(chunk) = body.next().await {
        out.extend_from_slice(&chunk.expect("chunk"));
    }
    assert_eq!(out.len() as u64, len, "the length announced is the length served");
    out
}

/// Reads the index the way the worker does and packages the first video and audio tracks.
fn package_file(bytes: &[u8]) -> Package {
    let mut scanner = BoxScanner::new(bytes.len() as u64);
    while let Some((offset, len)) = scanner.wants() {
        scanner.feed(&bytes[offset as usize..offset as usize + len]).expect("scan");
    }
    let ScanState::Found { moov, .. } = scanner.state() else { panic!("no index") };
    let index = &bytes[moov.offset as usize..moov.end() as usize];
    let movie = parse_movie(index, moov.offset, bytes.len() as u64, &Limits::default()).expect("parse");
    let video = movie.first_track(TrackKind::Video).expect("video");
    package(&movie, video, movie.first_track(TrackKind::Audio), &SegmentTargets::default()).expect("package")
}

/// Stores `path` as an original and its package, the way the worker leaves them.
async fn publish(path: &Path, chunk: usize) -> (VideoId, u64, Arc<MemStore>, Package) {
    let bytes = std::fs::read(path).expect("read");
    let id = VideoId::new();
    let store = Arc::new(MemStore::with(chunk));
    store.put_bytes(&BlobKey::raw(id), Bytes::from(bytes.clone())).await.expect("raw");
    let pkg = package_file(&bytes);
    let server = Server::start(id, bytes.len() as u64, store.clone());
    server.packages.put(id, pkg.clone()).await.expect("put");
    (id, bytes.len() as u64, store, pkg)
}

/// init ++ every segment, as a player gets them, unstripped: the package's headers and the original's ranges.
fn as_packaged(path: &Path, pkg: &Package) -> Vec<u8> {
    let bytes = std::fs::read(path).expect("read");
    let mut out = pkg.init.clone();
    for s in &pkg.segments {
        out.extend_from_slice(&s.header);
        s.ranges.iter().for_each(|&(o, l)| out.extend_from_slice(&bytes[o as usize..(o + l) as usize]));
    }
    out
}

/// How many H.264 NAL units of each type ffmpeg's `trace_headers` finds in a file's first video stream.
fn nal_types(path: &Path) -> HashMap<u8, usize> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-v", "trace", "-i"])
        .arg(path)
        .args(["-map", "0:v:0", "-c", "copy", "-bsf:v", "trace_headers", "-f", "null", "-"])
        .output()
        .expect("ffmpeg trace_headers");
    assert!(out.status.success(), "trace_headers failed on {}", path.display());
    let mut counts = HashMap::new();
    for line in String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.contains("[trace_headers")) {
        // "... nal_unit_type: 6(SEI), nal_ref_idc: 0"
        if let Some(kind) = line.split("nal_unit_type: ").nth(1).and_then(|r| r.split('(').next()) {
            *counts.entry(kind.trim().parse().expect("a type")).or_default() += 1;
        }
    }
    counts
}

/// Every decoded picture's MD5, in order (timestamps aside): what a viewer sees.
fn picture_hashes(path: &Path) -> Vec<String> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0:v:0", "-f", "framemd5", "-"])
        .output()
        .expect("ffmpeg framemd5");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "decoding {} failed: {stderr}", path.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(',').next().map(|h| h.trim().to_owned()))
        .collect()
}

/// Decodes video and audio completely; ffmpeg's complaints (none expected).
fn decode_errors(path: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0", "-f", "null", "-"])
        .output()
        .expect("ffmpeg");
    let mut errors = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        errors.push_str(&format!("\nexit: {}", out.status));
    }
    errors
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Serves every segment of `name` three ways (a first request, a cached one, a restarted server), checks they agree,
/// and checks what a viewer gets: no SEI, the same pictures as the original, nothing else lost.
async fn check(name: &str, min_segments: usize) {
    let path = fixture(name);
    let dir = tempfile::tempdir().expect("tempdir");
    let (id, len, store, pkg) = publish(&path, 7919).await;
    assert!(pkg.segments.len() >= min_segments, "{name}: {} segments", pkg.segments.len());

    // The original (and the package as it was served so far) does carry SEI, and the secret in it.
    let before = dir.path().join("as_packaged.mp4");
    std::fs::write(&before, as_packaged(&path, &pkg)).expect("write");
    let sei_before = nal_types(&path).get(&6).copied().unwrap_or(0);
    assert!(sei_before > 0, "{name}: the fixture has no SEI to strip");
    assert!(nal_types(&before).get(&6).copied().unwrap_or(0) > 0);
    assert!(contains(&std::fs::read(&before).expect("read"), SECRET.as_bytes()));

    let first = Server::start(id, len, store.clone());
    let mut served = pkg.init.clone();
    let mut segments = Vec::new();
    for index in 0..pkg.segments.len() {
        let bytes = first.segment(index).await;
        assert_eq!(first.segment(index).await, bytes, "{name}: segment {index} served again (cached layout)");
        segments.push(bytes);
    }
    // A restarted server (nothing cached, the package read back from the store), the uncached path, and a store
    // that hands out other chunk sizes: byte for byte the same.
    let other_store = Arc::new(MemStore::with(65_536));
    for (k, v) in store.blobs.lock().unwrap().iter() {
        other_store.blobs.lock().unwrap().insert(k.clone(), v.clone());
    }
    let restarted = Server::start(id, len, other_store);
    let package = restarted.package().await;
    assert_eq!(*package, pkg);
    for (index, bytes) in segments.iter().enumerate().rev() {
        assert_eq!(&restarted.segment(index).await, bytes, "{name}: segment {index} after a restart");
        let uncached = cut::segment_body(&first.original, &Arrived::Whole, &pkg, index).await.expect("uncached");
        assert_eq!(&collect(uncached).await, bytes, "{name}: segment {index} laid out for one request");
    }
    // Viewers asking for the same new segment at once (one of them lays it out, the others wait for it).
    let crowd = Server::start(id, len, store.clone());
    for (index, bytes) in segments.iter().enumerate() {
        let all = futures_util::future::join_all((0..4).map(|_| crowd.segment(index))).await;
        assert!(all.iter().all(|b| b == bytes), "{name}: segment {index} asked by four at once");
    }
    segments.iter().for_each(|s| served.extend_from_slice(s));
    let out = dir.path().join("served.mp4");
    std::fs::write(&out, &served).expect("write");

    // (i) No SEI NAL unit, and nothing of what they said.
    let types = nal_types(&out);
    assert_eq!(types.get(&6), None, "{name}: SEI left in what is served: {types:?}");
    assert!(!contains(&served, SECRET.as_bytes()), "{name}: the secret is served");
    assert!(!contains(&served, b"x264 - core"), "{name}: x264's settings are served");
    // (ii) It decodes without a complaint into the very same pictures as the original.
    let errors = decode_errors(&out);
    assert!(errors.trim().is_empty(), "{name}: ffmpeg complains: {errors}");
    let (ours, original) = (picture_hashes(&out), picture_hashes(&path));
    assert_eq!(ours.len(), original.len(), "{name}: frame count");
    assert!(ours == original, "{name}: the pictures differ");
    let removed =
        pkg.segments.iter().map(|s| s.len()).sum::<u64>() - segments.iter().map(|s| s.len() as u64).sum::<u64>();
    eprintln!("{name}: {} segments, {sei_before} SEI units, {removed} bytes stripped", pkg.segments.len());
}

#[tokio::test]
async fn a_camera_clip_is_served_without_its_sei() {
    if have_ffmpeg("a_camera_clip_is_served_without_its_sei") {
        check("camera_sei.mp4", 1).await;
    }
}

#[tokio::test]
async fn an_x264_encode_with_sei_in_every_frame_is_served_without_any() {
    if have_ffmpeg("an_x264_encode_with_sei_in_every_frame_is_served_without_any") {
        check("x264_sei.mp4", 3).await;
    }
}

#[tokio::test]
async fn a_clip_without_sei_is_served_as_packaged() {
    let (id, len, store, pkg) = publish(&seed(), 65_536).await;
    let server = Server::start(id, len, store);
    let bytes = std::fs::read(seed()).expect("seed");
    for (index, s) in pkg.segments.iter().enumerate() {
        let mut packaged = s.header.clone();
        s.ranges.iter().for_each(|&(o, l)| packaged.extend_from_slice(&bytes[o as usize..(o + l) as usize]));
        assert!(server.segment(index).await == packaged, "segment {index}");
    }
}

#[tokio::test]
async fn a_sample_whose_nal_runs_past_its_end_is_refused_not_served() {
    if !have_ffmpeg("a_sample_whose_nal_runs_past_its_end_is_refused_not_served") {
        return;
    }
    // The first video frame of the seed claims a first NAL unit of 4 GiB.
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pos", "-of", "csv=p=0"])
        .args(["-read_intervals", "%+#1"])
        .arg(seed())
        .output()
        .expect("ffprobe");
    let pos: usize =
        String::from_utf8_lossy(&out.stdout).lines().next().expect("a packet").trim().parse().expect("pos");
    let mut bytes = std::fs::read(seed()).expect("seed");
    bytes[pos..pos + 4].copy_from_slice(&[0xFF; 4]);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hostile.mp4");
    std::fs::write(&path, &bytes).expect("write");
    let (id, len, store, pkg) = publish(&path, 4096).await;
    let server = Server::start(id, len, store);
    let package = server.package().await;
    for _ in 0..2 {
        let err = server.packages.segment_body(&server.original, &Arrived::Whole, &package, 0).await.err();
        match err {
            Some(flick_stream::StreamError::Segment(e)) => {
                assert_eq!(e.code(), "nal_out_of_bounds", "{e}");
                assert!(e.to_string().contains(&format!("at byte {pos}")), "{e}");
            }
            other => panic!("expected a segment error, got {:?}", other.map(|e| e.to_string())),
        }
    }
    assert_eq!(pkg.segments.len(), 1);
}

/// What the first request of a segment costs (one more read of it, to find its SEI) against later ones (the kept
/// layout), and against serving the package's bytes as they are (before stripping). The store is in memory, so this
/// is our own cost per segment, not the disk's. Release build (`FLICK_BENCH_CLIP=some.mp4` measures another clip):
/// `cargo test --release -p flick-stream --test sei -- --ignored --nocapture`
#[tokio::test]
#[ignore = "a measurement: run with --release --nocapture"]
async fn first_and_cached_serving_cost() {
    if !have_ffmpeg("first_and_cached_serving_cost") {
        return;
    }
    let path = std::env::var_os("FLICK_BENCH_CLIP").map_or_else(|| fixture("x264_sei.mp4"), PathBuf::from);
    let (id, len, store, pkg) = publish(&path, 65_536).await;
    let segments = pkg.segments.len();
    let bytes: u64 = pkg.segments.iter().map(|s| s.len()).sum();
    let rounds = 300;
    let report = |label: &str, spent: Duration| {
        let per = spent / (rounds * segments) as u32;
        let rate = bytes as f64 * rounds as f64 / spent.as_secs_f64() / 1e9;
        eprintln!("{label}: {per:?} per segment of {} KB ({rate:.1} GB/s)", bytes / segments as u64 / 1000);
    };
    async fn drain(mut body: impl futures_util::Stream<Item = std::io::Result<Bytes>> + Unpin) -> u64 {
        let mut n = 0;
        while let Some(chunk) = body.next().await {
            n += chunk.expect("chunk").len() as u64;
        }
        n
    }
    let mut spent = Duration::ZERO;
    for _ in 0..rounds {
        let server = Server::start(id, len, store.clone());
        let package = server.package().await;
        let started = Instant::now();
        for index in 0..segments {
            let body = server.packages.segment_body(&server.original, &Arrived::Whole, &package, index).await;
            drain(body.expect("serve")).await;
        }
        spent += started.elapsed();
    }
    report("first request (read once to lay out, then served)", spent);
    let server = Server::start(id, len, store.clone());
    let package = server.package().await;
    let serve = async |index| {
        let body = server.packages.segment_body(&server.original, &Arrived::Whole, &package, index).await;
        drain(body.expect("serve")).await
    };
    for index in 0..segments {
        serve(index).await;
    }
    let started = Instant::now();
    for _ in 0..rounds {
        for index in 0..segments {
            serve(index).await;
        }
    }
    report("later requests (kept layout)", started.elapsed());
    let started = Instant::now();
    for _ in 0..rounds {
        for s in &package.segments {
            // The package's own bytes: its header and ranges, as served before stripping.
            let mut parts =
                vec![Box::pin(futures_util::stream::iter([Ok(Bytes::from(s.header.clone()))])) as ByteStream];
            for &(offset, len) in &s.ranges {
                let range = ByteRange { start: offset, end: offset + len - 1 };
                parts.push(server.original.read(&Arrived::Whole, range).await.expect("read"));
            }
            assert_eq!(drain(futures_util::stream::iter(parts).flatten()).await, s.len());
        }
    }
    report("unstripped, as packaged", started.elapsed());
}
