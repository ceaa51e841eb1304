//! The attack corpus through the real server: every hostile upload ends refused or `error` with a
//! clear reason within seconds (or, when it is a real video, ready without the harmful effect);
//! nothing outside the upload reaches an output; nothing connects to a local listener; the server
//! stays healthy; no ffmpeg outlives its job. Plus the HTTP abuse limits (per-address concurrency and
//! rate, slow bodies and headers, disk watermark, cut-off and oversized uploads).
//!
//! Hostile media comes from scripts/attacks.sh (target/attacks); text attacks are written here.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

async fn put(server: &Server, bytes: Vec<u8>, name: &str) -> (u16, Value, reqwest::header::HeaderMap) {
    let resp = client()
        .put(server.url(&format!("/api/upload?filename={name}")))
        .body(bytes)
        .send()
        .await
        .expect("upload request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, resp.json::<Value>().await.unwrap_or(Value::Null), headers)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Processes (other than this test) whose command line mentions `needle`.
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
        if cmd.contains(needle) && !cmd.contains("flick serve") && !cmd.contains("/flick serve") {
            found.push(format!("{pid}: {cmd}"));
        }
    }
    found
}

async fn healthy(server: &Server) {
    let r = client().get(server.url("/healthz")).send().await.expect("healthz");
    assert!(r.status().is_success(), "server unhealthy: {}", r.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_attack_corpus_through_the_server() {
    let trap = TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let port = trap.local_addr().unwrap().port();
    let server = Server::start(&[]);
    let marker = format!("CANARY-{}-{port}", std::process::id());
    let canary = server.data_dir.parent().unwrap().join("canary.txt");
    std::fs::write(&canary, marker.repeat(100)).unwrap();

    // A first, legitimate upload whose raw file other attacks name.
    let (code, body, _) = put(&server, std::fs::read(attack("clean.mp4")).unwrap(), "clip.mkv").await;
    assert_eq!(code, 201, "a valid file with the wrong extension is accepted: {body}");
    let first = body["id"].as_str().unwrap().to_owned();
    let v = wait_done(&server, &first, Duration::from_secs(60)).await;
    assert_eq!(v["status"], "ready", "valid MP4 named .mkv: {v}");

    // At the door: text is never stored (415), whatever it is named.
    let pl = |uri: &str| format!("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{uri}\n#EXT-X-ENDLIST\n");
    let texts = [
        pl("file:///etc/passwd"),
        pl(&canary.display().to_string()),
        pl("../raw/whatever"),
        pl(&format!("http://127.0.0.1:{port}/x.ts")),
        pl("concat:/etc/passwd|/etc/passwd"),
        pl("subfile,,start,0,end,0,,:/etc/passwd"),
        pl("data:text/plain;base64,I0VYVE0zVQo="),
        pl("source"),
        format!("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nhttp://127.0.0.1:{port}/live.ts\n"),
        "ffconcat version 1.0\nfile /etc/passwd\nfile source\n".to_owned(),
        String::new(),
    ];
    let mut random = vec![0u8; 100_000];
    std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut random)).unwrap();
    for ext in ["mp4", "mkv", "mov"] {
        for t in texts.iter().map(|t| t.as_bytes().to_vec()).chain([random.clone()]) {
            let started = Instant::now();
            let (code, body, _) = put(&server, t.clone(), &format!("clip.{ext}")).await;
            assert!(
                matches!(code, 400 | 415),
                "{ext} {:?}: {code} {body}",
                String::from_utf8_lossy(&t[..t.len().min(40)])
            );
            assert!(body["error"]["message"].as_str().is_some_and(|m| m.len() > 10), "{body}");
            assert!(started.elapsed() < Duration::from_secs(2));
        }
    }
    eprintln!("| text playlists / ffconcat / random / empty as .mp4 .mkv .mov | refused at upload (415/400) | < 2 s |");

    // Stored, then refused by processing with a clear reason.
    let cases = [
        ("playlist_in_mdat.mp4", "not_a_video"),
        ("pixel_bomb.mp4", "too_large"),
        ("duration_bomb.mkv", "too_large"),
        ("many_streams.mkv", "too_large"),
        ("png.mov", "unsupported_codec"),
        ("res_switch.mkv", "ffmpeg_failed"),
        ("dref.mov", ""),
    ];
    for (file, want) in cases {
        let started = Instant::now();
        let (code, body, _) = put(&server, std::fs::read(attack(file)).unwrap(), file).await;
        assert_eq!(code, 201, "{file}: {body}");
        let id = body["id"].as_str().unwrap().to_owned();
        let v = wait_done(&server, &id, Duration::from_secs(60)).await;
        let took = started.elapsed();
        assert_eq!(v["status"], "error", "{file}: {v}");
        let got = v["error"]["code"].as_str().unwrap_or("");
        if !want.is_empty() {
            assert_eq!(got, want, "{file}: {v}");
        }
        assert!(v["error"]["message"].as_str().is_some_and(|m| m.len() > 10), "{file}: {v}");
        assert!(took < Duration::from_secs(30), "{file}: took {took:?}");
        eprintln!("| {file} | error `{got}`: {} | {:.1} s |", v["error"]["message"], took.as_secs_f64());
    }

    // Metadata: a file with GPS, title, make and serial ends ready, and nothing of it is served.
    for file in ["gps.mov", "gps.mkv"] {
        let started = Instant::now();
        let (code, body, _) = put(&server, std::fs::read(attack(file)).unwrap(), file).await;
        assert_eq!(code, 201, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();
        let v = wait_done(&server, &id, Duration::from_secs(60)).await;
        assert_eq!(v["status"], "ready", "{file}: {v}");
        let mut served = Vec::new();
        let playlist = client().get(server.url(&format!("/streams/{id}/index.m3u8"))).send().await.unwrap();
        let playlist = playlist.text().await.unwrap();
        // Encoded (MPEG-TS) or served from the original (an init segment, then fMP4 segments).
        let init = playlist.contains("EXT-X-MAP").then(|| "init.mp4".to_owned());
        for seg in playlist.lines().filter(|l| l.ends_with(".ts") || l.ends_with(".m4s")).map(str::to_owned).chain(init)
        {
            let r = client().get(server.url(&format!("/streams/{id}/{seg}"))).send().await.unwrap();
            served.push((seg.to_owned(), r.bytes().await.unwrap().to_vec()));
        }
        let thumb = client().get(server.url(&format!("/thumbnails/{id}.jpg"))).send().await.unwrap();
        if thumb.status().is_success() {
            served.push(("thumbnail".into(), thumb.bytes().await.unwrap().to_vec()));
        }
        assert!(served.len() >= 2, "{file}: {playlist}");
        for (what, bytes) in &served {
            for secret in [&b"SECRET_"[..], b"48.8584", b"+002.2945"] {
                assert!(!contains(bytes, secret), "{file}: {what} holds {}", String::from_utf8_lossy(secret));
            }
        }
        eprintln!(
            "| {file} (GPS, title, make, serial) | ready, metadata stripped | {:.1} s |",
            started.elapsed().as_secs_f64()
        );
    }

    // No byte of the canary or /etc/passwd in any output; nothing connected; no ffmpeg left.
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let passwd_line = passwd.lines().next().unwrap_or("root:x:0:0").to_owned();
    for rel in files_under(&server.data_dir) {
        if !(rel.starts_with("hls") || rel.starts_with("thumbs")) {
            continue;
        }
        let bytes = std::fs::read(server.data_dir.join(&rel)).unwrap();
        assert!(!contains(&bytes, marker.as_bytes()), "{rel} holds the canary");
        assert!(!contains(&bytes, passwd_line.as_bytes()), "{rel} holds /etc/passwd");
    }
    match trap.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("something connected to the local listener: {other:?}"),
    }
    healthy(&server).await;
    let left = processes_mentioning(&server.data_dir.display().to_string());
    assert!(left.is_empty(), "processes outlived their jobs: {left:?}");
}

/// Sends a request head by hand and returns the stream.
async fn raw_request(server: &Server, head: &str) -> tokio::net::TcpStream {
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s
}

async fn read_all(s: &mut tokio::net::TcpStream, limit: Duration) -> String {
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(limit, s.read_to_end(&mut buf)).await;
    String::from_utf8_lossy(&buf).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off() {
    let server = Server::start(&[
        ("FLICK_UPLOAD__MIN_BYTES_PER_SECOND", "1024"),
        ("FLICK_UPLOAD__MIN_RATE_WINDOW_SECONDS", "2"),
        ("FLICK_SERVER__HEADER_READ_TIMEOUT_SECONDS", "2"),
        ("FLICK_SERVER__IDLE_TIMEOUT_SECONDS", "3"),
    ]);
    let head = std::fs::read(attack("clean.mp4")).unwrap();

    // A body at 10 bytes per second: 408 after one window.
    let started = Instant::now();
    let mut s =
        raw_request(&server, "PUT /api/upload?filename=slow.mp4 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
            .await;
    let reply = loop {
        if s.write_all(&head[..10]).await.is_err() {
            break read_all(&mut s, Duration::from_secs(2)).await;
        }
        let mut buf = [0u8; 4096];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await {
            let mut text = String::from_utf8_lossy(&buf[..n]).into_owned();
            text.push_str(&read_all(&mut s, Duration::from_secs(1)).await);
            break text;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "a 10 B/s upload is still going");
    };
    let took = started.elapsed();
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(reply.contains("upload_too_slow"), "{reply}");
    eprintln!("| upload at 10 bytes/s | 408 upload_too_slow | {:.1} s |", took.as_secs_f64());

    // Headers that never end: the connection is closed after the header-read timeout.
    let started = Instant::now();
    let mut s = raw_request(&server, "PUT /api/upload HTTP/1.1\r\nHost: x\r\n").await;
    let mut closed = false;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if s.write_all(b"X-Slow: 1\r\n").await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 256];
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(10), s.read(&mut buf)).await {
            closed = true;
            break;
        }
    }
    assert!(closed, "slow headers kept the connection open");
    assert!(started.elapsed() < Duration::from_secs(6), "{:?}", started.elapsed());
    eprintln!("| request headers at 2 lines/s | connection closed | {:.1} s |", started.elapsed().as_secs_f64());

    // An idle connection (nothing sent at all) is closed too.
    let started = Instant::now();
    let mut s = raw_request(&server, "").await;
    let _ = read_all(&mut s, Duration::from_secs(10)).await;
    assert!(started.elapsed() < Duration::from_secs(6), "idle connection kept {:?}", started.elapsed());

    // An upload cut off half-way leaves nothing behind.
    let mut s =
        raw_request(&server, "PUT /api/upload?filename=cut.mp4 HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n")
            .await;
    s.write_all(&head[..head.len().min(60_000)]).await.unwrap();
    drop(s);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(files_under(&server.data_dir.join("tmp")).is_empty(), "{:?}", files_under(&server.data_dir.join("tmp")));
    assert!(files_under(&server.data_dir.join("raw")).is_empty());
    healthy(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_flood_uploads() {
    let server = Server::start(&[
        ("FLICK_UPLOAD__MAX_CONCURRENT_PER_IP", "4"),
        ("FLICK_UPLOAD__MAX_PER_IP_PER_HOUR", "30"),
        ("FLICK_PROCESSING__WORKERS", "0"),
    ]);
    let clip = bytes::Bytes::from(std::fs::read(attack("clean.mp4")).unwrap());
    // 50 uploads at once, each taking ~1.5 s to send.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let url = server.url(&format!("/api/upload?filename=c{i}.mp4"));
        let clip = clip.clone();
        tasks.push(tokio::spawn(async move {
            let (first, rest) = (clip.slice(..4096), clip.slice(4096..));
            let body = futures_util::stream::unfold(0u8, move |step| {
                let (first, rest) = (first.clone(), rest.clone());
                async move {
                    match step {
                        0 => Some((Ok::<_, std::io::Error>(first), 1)),
                        1 => {
                            tokio::time::sleep(Duration::from_millis(1500)).await;
                            Some((Ok(rest), 2))
                        }
                        _ => None,
                    }
                }
            });
            let resp = client().put(url).body(reqwest::Body::wrap_stream(body)).send().await;
            match resp {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
                    (status, retry, r.json::<Value>().await.unwrap_or(Value::Null))
                }
                Err(_) => (0, None, Value::Null),
            }
        }));
    }
    let mut ok = 0;
    let mut limited = 0;
    for t in tasks {
        let (status, retry, body) = t.await.unwrap();
        match status {
            201 => ok += 1,
            429 => {
                limited += 1;
                assert!(retry.is_some_and(|r| r.parse::<u64>().is_ok_and(|s| s >= 1)), "429 without Retry-After");
                assert_eq!(body["error"]["code"], "too_many_requests", "{body}");
            }
            // The server may answer 429 before the client finished sending: a reset is possible.
            0 => limited += 1,
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!((1..=8).contains(&ok), "{ok} uploads admitted at once (limit 4, two waves at most)");
    assert!(limited >= 40, "only {limited} of 50 refused");
    eprintln!(
        "| 50 concurrent uploads from one address | {ok} accepted, {limited} 429 + Retry-After | {:.1} s |",
        started.elapsed().as_secs_f64()
    );

    // The hourly budget: 30 starts, the rest 429 with a Retry-After of up to an hour.
    let mut last = (0, None);
    for i in 0..40 {
        let (code, _, headers) = put(&server, clip.to_vec(), &format!("h{i}.mp4")).await;
        last = (code, headers.get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned));
        if code == 429 {
            break;
        }
        assert_eq!(code, 201);
    }
    assert_eq!(last.0, 429, "the hourly limit never applied");
    let wait: u64 = last.1.unwrap().parse().unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
    healthy(&server).await;
}

/// Behind a trusted proxy, each forwarded client has its own budget (IPv6 one per /64, a forged left part of the header
/// changes nothing); from a peer that is not trusted, forwarding headers are ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_address_limits_count_the_client_behind_trusted_proxies_only() {
    let clip = std::fs::read(attack("clean.mp4")).unwrap();
    let put_as = |server: &Server, header: &'static str, client: &str| {
        let request = reqwest::Client::new()
            .put(server.url("/api/upload?filename=c.mp4"))
            .header(header, client)
            .body(clip.clone())
            .send();
        async move { request.await.expect("upload request").status().as_u16() }
    };
    let one_an_hour = [("FLICK_UPLOAD__MAX_PER_IP_PER_HOUR", "1"), ("FLICK_PROCESSING__WORKERS", "0")];

    let proxied =
        Server::start(&[one_an_hour[0], one_an_hour[1], ("FLICK_SERVER__TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")]);
    let xff = "x-forwarded-for";
    assert_eq!(put_as(&proxied, xff, "198.51.100.1").await, 201);
    assert_eq!(put_as(&proxied, xff, "198.51.100.1").await, 429, "the same client again");
    assert_eq!(put_as(&proxied, xff, "203.0.113.9, 198.51.100.1").await, 429, "a forged left part is not the client");
    assert_eq!(put_as(&proxied, xff, "198.51.100.2").await, 201, "another client has its own budget");
    assert_eq!(put_as(&proxied, xff, "198.51.100.3, 10.1.2.3").await, 201, "through two of our proxies");
    assert_eq!(put_as(&proxied, "forwarded", "for=\"[2001:db8:1:2::1]:4711\"").await, 201);
    assert_eq!(put_as(&proxied, xff, "2001:db8:1:2:ffff::9").await, 429, "the same /64");
    assert_eq!(put_as(&proxied, xff, "2001:db8:1:3::1").await, 201, "another /64");

    let direct = Server::start(&one_an_hour);
    assert_eq!(put_as(&direct, xff, "198.51.100.1").await, 201);
    assert_eq!(put_as(&direct, xff, "198.51.100.2").await, 429, "an untrusted peer's header is ignored: one address");
    healthy(&direct).await;
    healthy(&proxied).await;
}

/// A frame whose NAL unit claims to run far past its sample (served from the original, so found only when a segment is
/// made): the segment is refused with 422 and the index error's code, every time; never a 500, never the bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segment_whose_frame_lies_about_its_length_is_refused_with_its_code() {
    let source = fixture("h264_aac_faststart.mp4");
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pos", "-of", "csv=p=0"])
        .args(["-read_intervals", "%+#1"])
        .arg(&source)
        .output()
        .expect("ffprobe");
    let pos: usize = String::from_utf8_lossy(&out.stdout).lines().next().expect("a packet").trim().parse().unwrap();
    let mut bytes = std::fs::read(&source).unwrap();
    bytes[pos..pos + 4].copy_from_slice(&[0xFF; 4]);
    let server = Server::start(&[]);
    let (code, body, _) = put(&server, bytes, "lies.mp4").await;
    assert_eq!(code, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let video = wait_done(&server, &id, Duration::from_secs(60)).await;
    assert_eq!(video["status"], "ready", "served from its original whatever its frames hold: {video}");
    for _ in 0..2 {
        let r = client().get(server.url(&format!("/streams/{id}/seg_00000.m4s"))).send().await.unwrap();
        assert_eq!(r.status(), 422);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "nal_out_of_bounds", "{body}");
    }
    healthy(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_limits_hold_whatever_the_headers_say() {
    let server = Server::start(&[("FLICK_UPLOAD__MAX_BYTES", "1000000"), ("FLICK_PROCESSING__WORKERS", "0")]);
    let clip = std::fs::read(attack("clean.mp4")).unwrap();
    let mut big = clip.clone();
    big.resize(3_000_000, 0);
    // Chunked, no length, over the limit.
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> =
        big.chunks(64 * 1024).map(|c| Ok(bytes::Bytes::copy_from_slice(c))).collect();
    let r = client()
        .put(server.url("/api/upload?filename=big.mp4"))
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status(), 413);
    }
    // A Content-Length smaller than the body: only that many bytes are read as the upload.
    let mut s =
        raw_request(&server, "PUT /api/upload?filename=lie.mp4 HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n\r\n")
            .await;
    let _ = s.write_all(&big).await;
    let reply = read_all(&mut s, Duration::from_secs(5)).await;
    assert!(reply.starts_with("HTTP/1.1 201") || reply.starts_with("HTTP/1.1 4"), "{reply}");
    // A Content-Length larger than the limit: refused before reading.
    let mut s = raw_request(
        &server,
        "PUT /api/upload?filename=lie.mp4 HTTP/1.1\r\nHost: x\r\nContent-Length: 9000000000\r\n\r\n",
    )
    .await;
    let reply = read_all(&mut s, Duration::from_secs(5)).await;
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    for rel in files_under(&server.data_dir.join("raw")) {
        let len = std::fs::metadata(server.data_dir.join("raw").join(&rel)).unwrap().len();
        assert!(len <= 1_000_000, "{rel} is {len} bytes");
    }
    assert!(files_under(&server.data_dir.join("tmp")).is_empty());
    healthy(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_and_stops_uploads_cleanly() {
    // Below the watermark: new uploads are refused with 507.
    let server = Server::start(&[("FLICK_STORAGE__MIN_FREE_BYTES", "1000000000000000000")]);
    let clip = std::fs::read(attack("clean.mp4")).unwrap();
    let (code, body, _) = put(&server, clip.clone(), "c.mp4").await;
    assert_eq!(code, 507, "{body}");
    assert_eq!(body["error"]["code"], "insufficient_storage");
    eprintln!("| upload with free space below storage.min_free_bytes | 507 insufficient_storage | < 1 s |");
    drop(server);

    // A disk that fills during the upload (a 24 MiB tmpfs), when this machine lets us mount one.
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("small");
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=24m", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("cannot mount a tmpfs here: the disk-filling case is skipped");
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mnt.clone());
    let server = Server::start_on(
        &mnt.join("data"),
        &[("FLICK_STORAGE__MIN_FREE_BYTES", "4000000"), ("FLICK_PROCESSING__WORKERS", "0")],
    );
    let mut big = clip.clone();
    big.resize(40 << 20, 7);
    let started = Instant::now();
    let r = client().put(server.url("/api/upload?filename=big.mp4")).body(big).send().await;
    if let Ok(r) = r {
        assert_eq!(r.status(), 507, "{:?}", r.text().await);
    }
    eprintln!(
        "| upload filling a 24 MiB disk | 507, partial file removed | {:.1} s |",
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(files_under(&server.data_dir.join("tmp")).is_empty(), "{:?}", files_under(&server.data_dir.join("tmp")));
    assert!(files_under(&server.data_dir.join("raw")).is_empty());
    healthy(&server).await;
    // Once space is back, uploads work again.
    let (code, body, _) = put(&server, clip, "c.mp4").await;
    assert_eq!(code, 201, "{body}");
}

/// Byte budgets: an address's day (429 `daily_quota_exceeded`), its unfinished resumable uploads (429
/// `too_many_unfinished`) and the installation's total (507 `storage_full`), each with a clear JSON error, each
/// refused before a byte is stored; and a trickle of bytes does not keep an unfinished upload alive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byte_budgets_refuse_before_storing_and_a_trickle_keeps_nothing_alive() {
    let clip = std::fs::read(attack("clean.mp4")).unwrap();
    let len = clip.len() as u64;
    let day = (2 * len + 10).to_string();
    let server = Server::start(&[
        ("FLICK_SERVER__TRUSTED_PROXIES", "127.0.0.1"),
        ("FLICK_PROCESSING__WORKERS", "0"),
        ("FLICK_PROCESSING__LIVE_WORKERS", "0"),
        ("FLICK_UPLOAD__MAX_BYTES_PER_IP_PER_DAY", &day),
    ]);
    let put_as = |client: &'static str| {
        let request = reqwest::Client::new()
            .put(server.url("/api/upload?filename=c.mp4"))
            .header("x-forwarded-for", client)
            .body(clip.clone())
            .send();
        async move { request.await.expect("upload request") }
    };
    let refusal = |r: reqwest::Response| async move {
        let (status, retry) = (r.status().as_u16(), r.headers().get("retry-after").cloned());
        let body: Value = r.json().await.unwrap();
        (status, retry.map(|v| v.to_str().unwrap().to_owned()), body["error"]["code"].as_str().unwrap().to_owned())
    };
    assert_eq!(put_as("2001:db8:7::1").await.status(), 201);
    assert_eq!(put_as("2001:db8:7::2").await.status(), 201, "the same /64, within its day");
    let (status, retry, code) = refusal(put_as("2001:db8:7::3").await).await;
    assert_eq!((status, code.as_str()), (429, "daily_quota_exceeded"));
    assert_eq!(retry.as_deref(), Some("3600"));
    assert_eq!(put_as("198.51.100.7").await.status(), 201, "another address has its own day");

    // Unfinished resumable uploads: 3 MB together per address (on a server whose day budget is the default).
    let server = Server::start(&[
        ("FLICK_SERVER__TRUSTED_PROXIES", "127.0.0.1"),
        ("FLICK_PROCESSING__WORKERS", "0"),
        ("FLICK_PROCESSING__LIVE_WORKERS", "0"),
        ("FLICK_UPLOAD__MAX_UNFINISHED_BYTES_PER_IP", "3000000"),
    ]);
    let create = |length: u64| {
        let request = client()
            .post(server.url("/api/uploads"))
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", length.to_string())
            .header("x-forwarded-for", "203.0.113.5")
            .send();
        async move { request.await.unwrap() }
    };
    let first = create(2_000_000).await;
    assert_eq!(first.status(), 201);
    let location = server.url(first.headers()["location"].to_str().unwrap());
    let created_expiry = first.headers()["upload-expires"].to_str().unwrap().to_owned();
    let (status, _, code) = refusal(create(2_000_000).await).await;
    assert_eq!((status, code.as_str()), (429, "too_many_unfinished"));

    // A few bytes a second later: stored, but the expiry does not move; a megabyte does move it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let patch = |bytes: Vec<u8>, offset: usize| {
        let request = client()
            .patch(&location)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .header("x-forwarded-for", "203.0.113.5")
            .body(bytes)
            .send();
        async move { request.await.unwrap() }
    };
    let trickle = patch(clip[..16].to_vec(), 0).await;
    assert_eq!(trickle.status(), 204);
    assert_eq!(trickle.headers()["upload-expires"].to_str().unwrap(), created_expiry, "16 bytes keep nothing alive");
    let mut chunk = clip.clone();
    chunk.resize(2_000_000 - 16 - 1, 0);
    let progress = patch(chunk[16..].to_vec(), 16).await;
    assert_eq!(progress.status(), 204);
    assert_ne!(progress.headers()["upload-expires"].to_str().unwrap(), created_expiry, "real progress does");

    // The installation's total: one clip fits, the next is refused with 507, and nothing of it is stored.
    let full = Server::start(&[
        ("FLICK_PROCESSING__WORKERS", "0"),
        ("FLICK_STORAGE__MAX_TOTAL_BYTES", &(len + 10).to_string()),
    ]);
    let (code, body, _) = put(&full, clip.clone(), "a.mp4").await;
    assert_eq!(code, 201, "{body}");
    let raw_before = files_under(&full.data_dir.join("raw"));
    let (code, body, _) = put(&full, clip.clone(), "b.mp4").await;
    assert_eq!((code, body["error"]["code"].as_str()), (507, Some("storage_full")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("no room"), "{body}");
    assert_eq!(files_under(&full.data_dir.join("raw")), raw_before, "nothing of the refused upload is kept");
    assert!(files_under(&full.data_dir.join("tmp")).is_empty());
    healthy(&server).await;
    healthy(&full).await;
}
