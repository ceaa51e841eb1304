//! Test harness: runs the real `flick` binary on 127.0.0.1:0 with a temp data dir, and real fixtures.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use std::sync::Arc;

use flick_domain::config::S3Config;
use flick_domain::ports::Store;
use flick_storage::FsStore;
use flick_storage::object::ObjectBlobStore;
use serde_json::Value;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// A fixture clip made by scripts/fixtures.sh (run once per test binary).
pub fn fixture(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let root = repo_root();
        let dir = root.join("target/fixtures");
        let status = Command::new("bash")
            .arg(root.join("scripts/fixtures.sh"))
            .arg(&dir)
            .current_dir(&root)
            .status()
            .expect("run scripts/fixtures.sh");
        assert!(status.success(), "scripts/fixtures.sh failed");
        dir
    });
    let path = dir.join(name);
    assert!(path.exists(), "fixture {name} missing");
    path
}

/// A running `flick serve`, killed (SIGKILL) on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl Server {
    /// Starts a server on a fresh temp data dir with extra `FLICK_*` settings.
    pub fn start(env: &[(&str, &str)]) -> Server {
        let temp = tempfile::tempdir().expect("tempdir");
        let data = temp.path().join("data");
        let mut s = Server::start_on(&data, env);
        s._temp = Some(temp);
        s
    }

    /// Starts a server on an existing data dir (for restart tests).
    pub fn start_on(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        Server::start_with_args(&["serve"], data_dir, env)
    }

    /// Starts `flick ARGS…` (e.g. `serve --no-workers`) on `data_dir`, which other processes may share.
    pub fn start_with_args(args: &[&str], data_dir: &Path, env: &[(&str, &str)]) -> Server {
        Server::start_logging_to(args, data_dir, env, Stdio::inherit())
    }

    /// Like [`Server::start_with_args`], with the server's log (stderr) sent to `log`.
    pub fn start_logging_to(args: &[&str], data_dir: &Path, env: &[(&str, &str)], log: impl Into<Stdio>) -> Server {
        let mut child = flick_command(args, data_dir, env).stderr(log).spawn().expect("spawn flick");
        let base = read_stdout_until(&mut child, |line| {
            line.split("listening on ").nth(1).map(|rest| rest.trim().trim_end_matches(')').to_owned())
        });
        Server { child, base, data_dir: data_dir.to_owned(), _temp: None }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Hands the temp dir over (so a restarted server can use the same data dir).
    pub fn take_temp(&mut self) -> Option<tempfile::TempDir> {
        self._temp.take()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A running `flick worker` (job workers only) on a shared data dir, killed (SIGKILL) on drop.
pub struct Worker {
    pub child: Child,
    /// Its node name (`{host}/{pid}-{tag}/`), as it printed it.
    pub node: String,
    /// `http://127.0.0.1:PORT` of its `/healthz`, `/readyz` and `/metrics`.
    pub base: String,
}

impl Worker {
    pub fn start(data_dir: &Path, env: &[(&str, &str)]) -> Worker {
        let mut child = flick_command(&["worker"], data_dir, env).spawn().expect("spawn flick worker");
        let line = read_stdout_until(&mut child, |line| line.starts_with("Flick worker ").then(|| line.to_owned()));
        let node = line.trim_start_matches("Flick worker ").split(' ').next().unwrap_or_default().to_owned();
        let base = line.split("listening on ").nth(1).map(|rest| rest.trim().trim_end_matches(')').to_owned());
        Worker { child, node, base: base.expect("the worker prints its address") }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// `flick ARGS…` on `data_dir` (127.0.0.1, a free port, the test database when PostgreSQL is asked for).
fn flick_command(args: &[&str], data_dir: &Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flick"));
    cmd.args(args)
        .current_dir(data_dir.parent().unwrap_or(Path::new("/")))
        .env("FLICK_SERVER__PORT", "0")
        .env("FLICK_SERVER__WORKER_PORT", "0")
        .env("FLICK_SERVER__HOST", "127.0.0.1")
        .env("FLICK_STORAGE__DATA_DIR", data_dir)
        .env("RUST_LOG", "info")
        // Lower renditions are tested where a test asks for them (ladder.rs); elsewhere they would only add CPU.
        .env("FLICK_PROCESSING__LADDER_WORKERS", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(url) = postgres_database_for(data_dir) {
        cmd.env("FLICK_STORAGE__DATABASE_URL", url);
    }
    if let Some((url, s3)) = s3_blobs_for(data_dir) {
        cmd.env("FLICK_STORAGE__BLOB_URL", url)
            .env("FLICK_STORAGE__S3__ENDPOINT", s3.endpoint.unwrap_or_default())
            .env("FLICK_STORAGE__S3__REGION", s3.region.unwrap_or_default())
            .env("FLICK_STORAGE__S3__ACCESS_KEY_ID", s3.access_key_id.unwrap_or_default())
            .env("FLICK_STORAGE__S3__SECRET_ACCESS_KEY", s3.secret_access_key.unwrap_or_default());
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Reads the child's stdout until `pick` finds what it wants in a line, then keeps draining it in the background
/// (so the child never blocks on a full pipe).
fn read_stdout_until(child: &mut Child, pick: impl Fn(&str) -> Option<String>) -> String {
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    let found = loop {
        line.clear();
        let n = reader.read_line(&mut line).expect("read stdout");
        assert!(n > 0, "flick exited before it was ready");
        if let Some(found) = pick(&line) {
            break found;
        }
    };
    std::thread::spawn(move || {
        let mut sink = String::new();
        while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            sink.clear();
        }
    });
    found
}

/// With `FLICK_TEST_DATABASE_URL` set to a PostgreSQL server (`make test-postgres`): the database of the server on
/// `data_dir`, created empty on its first start (a restart on the same data dir finds the same one, recorded in a
/// file beside the data dir). `None` (SQLite in the data dir) otherwise.
pub fn postgres_database_for(data_dir: &Path) -> Option<String> {
    let server = std::env::var("FLICK_TEST_DATABASE_URL").ok()?;
    if !(server.starts_with("postgres://") || server.starts_with("postgresql://")) {
        return None;
    }
    let record = data_dir.with_extension("database-url");
    if let Ok(url) = std::fs::read_to_string(&record) {
        return Some(url);
    }
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("flick_e2e_{}_{nanos}_{n}", std::process::id());
    psql(&server, &format!("CREATE DATABASE {name}"));
    // The server's URL with the new database's name as its path.
    let (base, query) = server.split_once('?').map_or((server.as_str(), ""), |(b, q)| (b, q));
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[host_start..].find('/').map_or(base.len(), |i| host_start + i);
    let url = format!("{}/{name}{}{query}", &base[..host_end], if query.is_empty() { "" } else { "?" });
    std::fs::write(&record, &url).expect("record the test database");
    Some(url)
}

/// The test S3 server's settings when `FLICK_TEST_S3_ENDPOINT` is set (Garage from `scripts/garage.sh`).
pub fn test_s3() -> Option<(String, S3Config)> {
    let endpoint = std::env::var("FLICK_TEST_S3_ENDPOINT").ok()?;
    let var =
        |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set with FLICK_TEST_S3_ENDPOINT"));
    let s3 = S3Config {
        endpoint: Some(endpoint),
        region: Some("garage".into()),
        access_key_id: Some(var("FLICK_TEST_S3_KEY_ID")),
        secret_access_key: Some(var("FLICK_TEST_S3_SECRET")),
        virtual_hosted_style: false,
    };
    Some((var("FLICK_TEST_S3_BUCKET"), s3))
}

/// With `FLICK_TEST_S3_ENDPOINT` set: the blob URL of the server on `data_dir`, a fresh prefix of the test bucket
/// (recorded beside the data dir, so a restart finds the same one). `None` (blobs in the data dir) otherwise.
pub fn s3_blobs_for(data_dir: &Path) -> Option<(String, S3Config)> {
    let (bucket, s3) = test_s3()?;
    let record = data_dir.with_extension("blob-url");
    if let Ok(url) = std::fs::read_to_string(&record) {
        return Some((url, s3));
    }
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let url = format!("s3://{bucket}/e2e-{}-{nanos}", std::process::id());
    std::fs::write(&record, &url).expect("record the test blob prefix");
    Some((url, s3))
}

/// The blob store the server on `data_dir` uses, opened the same way, for checks and for playing the operator.
pub fn blob_store_for(data_dir: &Path) -> Arc<dyn Store> {
    match s3_blobs_for(data_dir) {
        Some((url, s3)) => Arc::new(ObjectBlobStore::from_s3_url(&url, &s3).expect("open the test bucket")),
        None => Arc::new(FsStore::new(data_dir.to_owned()).expect("open the data dir")),
    }
}

/// Every blob key of the server on `data_dir` (raw uploads, HLS files, thumbnails, staged upload parts): the
/// objects under its bucket prefix, or the files of its data dir outside scratch space and the database.
pub async fn blob_keys(data_dir: &Path) -> Vec<String> {
    match s3_blobs_for(data_dir) {
        Some((url, s3)) => {
            let store = ObjectBlobStore::from_s3_url(&url, &s3).expect("open the test bucket");
            store.keys_under(None).await.expect("list the bucket").into_iter().map(|(k, _)| k).collect()
        }
        None => files_under(data_dir)
            .into_iter()
            .filter(|f| ["raw/", "hls/", "thumbs/", "uploads/"].iter().any(|p| f.starts_with(p)))
            .collect(),
    }
}

/// Runs SQL on the database of the server on `data_dir` (PostgreSQL or its SQLite file), as an operator would.
pub fn run_sql(data_dir: &Path, sql: &str) {
    match postgres_database_for(data_dir) {
        Some(url) => psql(&url, sql),
        None => {
            let out = Command::new("python3")
                .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()"])
                .arg(data_dir.join("flick.db"))
                .arg(sql)
                .output()
                .expect("python3");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
    }
}

/// The first column of the first row a query returns on the database of the server on `data_dir` ("" when none).
pub fn query_sql(data_dir: &Path, sql: &str) -> String {
    let out = match postgres_database_for(data_dir) {
        Some(url) => Command::new("psql").args(["-X", "-q", "-t", "-A", &url, "-c", sql]).output().expect("psql"),
        None => return sqlite_query(&data_dir.join("flick.db"), sql),
    };
    assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The first column of the first row a query returns on an SQLite file ("" when none).
pub fn sqlite_query(db: &Path, sql: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", "import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone(); print('' if r is None else r[0])"])
        .arg(db)
        .arg(sql)
        .output()
        .expect("python3");
    assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The storage id (blob keys, upload URL) of the video whose link has share id `share`.
pub fn storage_id(data_dir: &Path, share: &str) -> String {
    assert!(share.len() == 32 && share.bytes().all(|b| b.is_ascii_hexdigit()), "not an id: {share}");
    let id = query_sql(data_dir, &format!("SELECT id FROM videos WHERE share_id = '{share}'"));
    assert_eq!(id.len(), 32, "no video has the share id {share}");
    id
}

fn psql(url: &str, sql: &str) {
    let out = Command::new("psql").args(["-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql]).output().expect("psql");
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Standard base64, as tus headers (`Upload-Metadata`, `Upload-Checksum`) carry it.
pub fn b64(s: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client")
}

/// Uploads a file as a raw PUT body with `?filename=`; returns (status, json body).
pub async fn upload(server: &Server, path: &Path, name: &str) -> (u16, Value) {
    let bytes = tokio::fs::read(path).await.expect("read fixture");
    let resp = client()
        .put(server.url(&format!("/api/upload?filename={name}")))
        .body(bytes)
        .send()
        .await
        .expect("upload request");
    let status = resp.status().as_u16();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

pub async fn status(server: &Server, id: &str) -> Value {
    client().get(server.url(&format!("/api/video/{id}"))).send().await.expect("status").json().await.expect("json")
}

/// Polls the status until it is no longer `processing`.
pub async fn wait_done(server: &Server, id: &str, limit: Duration) -> Value {
    let start = Instant::now();
    loop {
        let v = status(server, id).await;
        if v["status"] != "processing" {
            return v;
        }
        assert!(start.elapsed() < limit, "video {id} still processing after {limit:?}: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Uploads the fixture `file` as `name` and waits until it is ready: its share id and manage token.
pub async fn upload_ready(server: &Server, file: &str, name: &str) -> (String, String) {
    let (code, body) = upload(server, &fixture(file), name).await;
    assert_eq!(code, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(wait_done(server, &id, Duration::from_secs(120)).await["status"], "ready");
    (id, body["manageToken"].as_str().unwrap().to_owned())
}

/// Polls the status until `done` says so; the last status.
pub async fn wait_until(server: &Server, id: &str, limit: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let v = status(server, id).await;
        if done(&v) {
            return v;
        }
        assert!(start.elapsed() < limit, "video {id}: the condition still fails after {limit:?}: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What ffmpeg sees when it decodes an HLS stream over HTTP.
pub struct Decoded {
    pub duration: f64,
    pub width: u32,
    pub height: u32,
}

/// Decodes the whole stream at `url` with ffmpeg (every frame), returning its duration and frame size.
pub fn decode_hls(url: &str) -> Decoded {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i", url, "-map", "0:v:0", "-f", "null", "-", "-progress", "pipe:1"])
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg could not decode {url}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let micros = text
        .lines()
        .filter_map(|l| l.strip_prefix("out_time_us="))
        .filter_map(|v| v.trim().parse::<i64>().ok())
        .next_back()
        .expect("progress output");
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", url])
        .output()
        .expect("run ffprobe");
    let dims = String::from_utf8_lossy(&probe.stdout);
    let mut parts = dims.trim().lines().next().unwrap_or("").split(',');
    let width = parts.next().and_then(|w| w.parse().ok()).expect("width");
    let height = parts.next().and_then(|h| h.parse().ok()).expect("height");
    Decoded { duration: micros as f64 / 1e6, width, height }
}

/// The source's duration and displayed size, as ffprobe reports them.
pub fn source_duration(path: &Path) -> f64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe");
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("duration")
}

/// Files under `dir` (recursively), as paths relative to it.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap_or(&p).display().to_string());
            }
        }
    }
    out
}

/// Pids of the ffmpeg processes whose parent is `pid`.
pub fn ffmpeg_children_of(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // pid (comm) state ppid …
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let comm = &stat[open + 1..close];
        let mut rest = stat[close + 1..].split_whitespace();
        let (_state, ppid) = (rest.next(), rest.next().and_then(|p| p.parse::<u32>().ok()));
        if comm == "ffmpeg" && ppid == Some(pid) {
            found.extend(stat[..open].trim().parse::<u32>().ok());
        }
    }
    found
}

pub fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rfind(')').map(|i| s[i + 1..].trim_start().starts_with('Z')))
        .unwrap_or(true)
}

/// The index of the one worker running ffmpeg, once exactly one does (a minute at most).
pub async fn single_busy_worker(workers: &[Worker]) -> usize {
    let start = Instant::now();
    loop {
        let holders: Vec<usize> =
            (0..workers.len()).filter(|&i| !ffmpeg_children_of(workers[i].pid()).is_empty()).collect();
        if let [i] = holders[..] {
            return i;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no single worker runs ffmpeg: {holders:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
