//! Test harness: runs the real `flick` binary on 127.0.0.1:0 with a temp data dir, and real fixtures.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

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
        let mut child = flick_command(args, data_dir, env).spawn().expect("spawn flick");
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
}

impl Worker {
    pub fn start(data_dir: &Path, env: &[(&str, &str)]) -> Worker {
        let mut child = flick_command(&["worker"], data_dir, env).spawn().expect("spawn flick worker");
        let node = read_stdout_until(&mut child, |line| {
            line.strip_prefix("Flick worker ").and_then(|rest| rest.split(' ').next()).map(str::to_owned)
        });
        Worker { child, node }
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
        .env("FLICK_SERVER__HOST", "127.0.0.1")
        .env("FLICK_STORAGE__DATA_DIR", data_dir)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(url) = postgres_database_for(data_dir) {
        cmd.env("FLICK_STORAGE__DATABASE_URL", url);
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

fn psql(url: &str, sql: &str) {
    let out = Command::new("psql").args(["-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql]).output().expect("psql");
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
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
