//! The tus 1.0.0 server at /api/uploads: headers, offsets, checksums, limits, sniffing, locking,
//! expiry, termination, and a crash in the middle of an upload.

use std::time::{Duration, Instant};

use crate::common::*;
use bytes::Bytes;
use reqwest::{Method, RequestBuilder, Response};

const TUS: &str = "1.0.0";
const CHUNK: &str = "application/offset+octet-stream";

fn tus(server: &Server, method: Method, path: &str) -> RequestBuilder {
    client().request(method, server.url(path)).header("Tus-Resumable", TUS)
}

fn header(r: &Response, name: &str) -> String {
    r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

fn sha1_b64(data: &[u8]) -> String {
    use sha1::Digest;
    b64(&sha1::Sha1::digest(data))
}

/// Creates an upload of `len` bytes named `name`; returns its path (`/api/uploads/{id}`) and manage token.
async fn create(server: &Server, len: usize, name: &str) -> (String, String) {
    let r = tus(server, Method::POST, "/api/uploads")
        .header("Upload-Length", len.to_string())
        .header("Upload-Metadata", format!("filename {},filetype {}", b64(name.as_bytes()), b64(b"video/mp4")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let location = header(&r, "location");
    assert!(location.starts_with("/api/uploads/") && location.len() == "/api/uploads/".len() + 32, "{location}");
    let token = header(&r, "flick-manage-token");
    assert_eq!(token.len(), 64);
    assert!(httpdate_ok(&header(&r, "upload-expires")), "{:?}", r.headers());
    assert_eq!(header(&r, "tus-resumable"), TUS);
    (location, token)
}

fn httpdate_ok(s: &str) -> bool {
    s.ends_with(" GMT") && s.len() == 29
}

async fn patch(server: &Server, path: &str, offset: usize, data: &[u8]) -> Response {
    tus(server, Method::PATCH, path)
        .header("Content-Type", CHUNK)
        .header("Upload-Offset", offset.to_string())
        .body(data.to_vec())
        .send()
        .await
        .unwrap()
}

async fn head_offset(server: &Server, path: &str) -> (u16, String) {
    let r = tus(server, Method::HEAD, path).send().await.unwrap();
    (r.status().as_u16(), header(&r, "upload-offset"))
}

fn part_file(server: &Server, path: &str) -> std::path::PathBuf {
    let id = path.rsplit('/').next().unwrap();
    server.data_dir.join("tmp").join(format!("tus-{id}.part"))
}

fn clip() -> Vec<u8> {
    std::fs::read(fixture("h264_aac_faststart.mp4")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_creation_and_head() {
    let server = Server::start(&[("FLICK_UPLOAD__MAX_BYTES", "2000000")]);
    let r = client().request(Method::OPTIONS, server.url("/api/uploads")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(header(&r, "tus-version"), TUS);
    assert_eq!(header(&r, "tus-max-size"), "2000000");
    let ext = header(&r, "tus-extension");
    for e in ["creation", "creation-with-upload", "termination", "expiration", "checksum"] {
        assert!(ext.split(',').any(|x| x == e), "{ext} lacks {e}");
    }
    assert!(header(&r, "tus-checksum-algorithm").contains("sha1"));

    // The version is checked on every other request: 412 with the supported version.
    let r = client().post(server.url("/api/uploads")).header("Upload-Length", "10").send().await.unwrap();
    assert_eq!(r.status(), 412);
    assert_eq!(header(&r, "tus-version"), TUS);
    let r = client().post(server.url("/api/uploads")).header("Tus-Resumable", "0.2.2").send().await.unwrap();
    assert_eq!(r.status(), 412);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unsupported_tus_version");

    let post = |headers: Vec<(&'static str, String)>| {
        let mut rb = tus(&server, Method::POST, "/api/uploads");
        for (k, v) in headers {
            rb = rb.header(k, v);
        }
        rb.send()
    };
    let code = |r: Response| r.status().as_u16();
    // Over the limit, deferred length, no length, empty, a refused name or type, malformed metadata.
    assert_eq!(code(post(vec![("Upload-Length", "2000001".into())]).await.unwrap()), 413);
    assert_eq!(code(post(vec![("Upload-Defer-Length", "1".into())]).await.unwrap()), 400);
    assert_eq!(code(post(vec![]).await.unwrap()), 400);
    assert_eq!(code(post(vec![("Upload-Length", "0".into())]).await.unwrap()), 400);
    let name = |n: &str| format!("filename {}", b64(n.as_bytes()));
    let r = post(vec![("Upload-Length", "100".into()), ("Upload-Metadata", name("notes.txt"))]).await.unwrap();
    assert_eq!(r.status(), 415);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unsupported_media_type");
    let ty = format!("filetype {}", b64(b"text/plain"));
    assert_eq!(code(post(vec![("Upload-Length", "100".into()), ("Upload-Metadata", ty)]).await.unwrap()), 415);
    let bad = "filename ***".to_owned();
    assert_eq!(code(post(vec![("Upload-Length", "100".into()), ("Upload-Metadata", bad)]).await.unwrap()), 400);
    // Nothing was stored for any of them.
    assert!(files_under(&server.data_dir.join("tmp")).is_empty(), "{:?}", files_under(&server.data_dir.join("tmp")));

    let (path, _) = create(&server, 1000, "holiday.mp4").await;
    let r = tus(&server, Method::HEAD, &path).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "cache-control"), "no-store");
    assert_eq!(header(&r, "upload-offset"), "0");
    assert_eq!(header(&r, "upload-length"), "1000");
    assert_eq!(
        header(&r, "upload-metadata"),
        format!("filename {},filetype {}", b64(b"holiday.mp4"), b64(b"video/mp4"))
    );
    assert!(httpdate_ok(&header(&r, "upload-expires")));
    assert_eq!(header(&r, "tus-resumable"), TUS);
    for unknown in ["/api/uploads/0123456789abcdef0123456789abcdef", "/api/uploads/..%2fflick.db", "/api/uploads/X"] {
        assert_eq!(head_offset(&server, unknown).await.0, 404, "{unknown}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_offsets_checksums_and_completion() {
    let server = Server::start(&[]);
    let data = clip();
    let (path, token) = create(&server, data.len(), "clip.mp4").await;
    let part = part_file(&server, &path);

    // The chunk content type is required, and the offset must be the server's.
    let r = tus(&server, Method::PATCH, &path).header("Upload-Offset", "0").body(data[..100].to_vec()).send().await;
    assert_eq!(r.unwrap().status(), 415);
    let r = patch(&server, &path, 5, &data[5..100]).await;
    assert_eq!(r.status(), 409);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "offset_mismatch");

    // A right sha1 is accepted; a wrong one is 460 and the chunk is discarded.
    let first = &data[..300_000];
    let r = tus(&server, Method::PATCH, &path)
        .header("Content-Type", CHUNK)
        .header("Upload-Offset", "0")
        .header("Upload-Checksum", format!("sha1 {}", sha1_b64(first)))
        .body(first.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(header(&r, "upload-offset"), "300000");
    assert!(httpdate_ok(&header(&r, "upload-expires")));
    let second = &data[300_000..600_000];
    let r = tus(&server, Method::PATCH, &path)
        .header("Content-Type", CHUNK)
        .header("Upload-Offset", "300000")
        .header("Upload-Checksum", format!("sha1 {}", sha1_b64(first)))
        .body(second.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 460);
    assert_eq!(head_offset(&server, &path).await, (200, "300000".to_owned()));
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 300_000, "the bad chunk was not cut off");
    let r = tus(&server, Method::PATCH, &path)
        .header("Content-Type", CHUNK)
        .header("Upload-Offset", "300000")
        .header("Upload-Checksum", "crc32 AAAAAA==")
        .body(second.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Bytes past Upload-Length are refused, declared or not, and nothing of them is kept.
    let mut too_much = data[300_000..].to_vec();
    too_much.push(0);
    assert_eq!(patch(&server, &path, 300_000, &too_much).await.status(), 413);
    let stream = futures_util::stream::iter(
        too_much.chunks(64 * 1024).map(|c| Ok::<_, std::io::Error>(Bytes::copy_from_slice(c))).collect::<Vec<_>>(),
    );
    let r = tus(&server, Method::PATCH, &path)
        .header("Content-Type", CHUNK)
        .header("Upload-Offset", "300000")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await;
    // The server may answer before it has read the whole streamed body, or close the connection.
    if let Ok(r) = r {
        assert_eq!(r.status(), 413);
    }
    assert_eq!(head_offset(&server, &path).await, (200, "300000".to_owned()));
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 300_000);

    // The rest: the last byte makes the video, with the upload's id.
    let r = patch(&server, &path, 300_000, &data[300_000..]).await;
    assert_eq!(r.status(), 204);
    assert_eq!(header(&r, "upload-offset"), data.len().to_string());
    let id = header(&r, "flick-share-url").trim_start_matches("/v/").to_owned();
    assert!(!path.contains(&id), "the link names a share id, not the upload");
    assert!(!part.exists());
    let v = wait_done(&server, &id, Duration::from_secs(60)).await;
    assert_eq!(v["status"], "ready", "{v}");
    assert_eq!(v["title"], "clip");
    let decoded = decode_hls(&server.url(&format!("/streams/{id}/master.m3u8")));
    assert!((decoded.duration - source_duration(&fixture("h264_aac_faststart.mp4"))).abs() < 0.5);

    // Finished: HEAD says complete, a late PATCH at the wrong offset is 409, termination is refused.
    assert_eq!(head_offset(&server, &path).await, (200, data.len().to_string()));
    assert_eq!(patch(&server, &path, 0, b"x").await.status(), 409);
    let r = tus(&server, Method::DELETE, &path).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(status(&server, &id).await["status"], "ready");
    // The manage token from the creation deletes the video.
    let r = client().delete(server.url(&format!("/api/video/{id}"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creation_with_upload_and_other_checksums() {
    let server = Server::start(&[]);
    let data = clip();
    // The whole file in the POST (creation-with-upload).
    let r = tus(&server, Method::POST, "/api/uploads")
        .header("Upload-Length", data.len().to_string())
        .header("Content-Type", CHUNK)
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(header(&r, "upload-offset"), data.len().to_string());
    let id = header(&r, "flick-share-url").trim_start_matches("/v/").to_owned();
    let v = wait_done(&server, &id, Duration::from_secs(60)).await;
    assert_eq!(v["status"], "ready", "{v}");
    assert_eq!(v["title"], "video", "no name given: named after the container");

    // md5 and sha256 checksums are accepted too (and checked).
    let (path, _) = create(&server, data.len(), "b.mp4").await;
    for (offset, algo, good) in [(0usize, "md5", true), (1000, "sha256", false)] {
        let chunk = &data[offset..offset + 1000];
        let digest =
            std::process::Command::new(format!("{algo}sum")).arg(fixture("h264_aac_faststart.mp4")).output().unwrap();
        let _ = digest; // whole-file digests are wrong for a chunk: compute the chunk's below.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c"), chunk).unwrap();
        let out = std::process::Command::new(format!("{algo}sum")).arg(dir.path().join("c")).output().unwrap();
        let hex = String::from_utf8_lossy(&out.stdout).split(' ').next().unwrap().to_owned();
        let mut raw: Vec<u8> =
            (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
        if !good {
            raw[0] ^= 1;
        }
        let r = tus(&server, Method::PATCH, &path)
            .header("Content-Type", CHUNK)
            .header("Upload-Offset", offset.to_string())
            .header("Upload-Checksum", format!("{algo} {}", b64(&raw)))
            .body(chunk.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), if good { 204 } else { 460 }, "{algo}");
    }
    assert_eq!(head_offset(&server, &path).await.1, "1000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_bytes_that_are_not_a_video_remove_the_upload() {
    let server = Server::start(&[]);
    let (path, _) = create(&server, 100_000, "fake.mp4").await;
    let r = patch(&server, &path, 0, &[b'#'; 40]).await;
    assert_eq!(r.status(), 204, "40 bytes are too few to judge");
    let r = patch(&server, &path, 40, &[b'a'; 4000]).await;
    assert_eq!(r.status(), 415);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unsupported_media_type");
    assert_eq!(head_offset(&server, &path).await.0, 404);
    assert!(!part_file(&server, &path).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_writer_at_a_time() {
    let server = Server::start(&[]);
    let data = clip();
    let (path, _) = create(&server, data.len(), "c.mp4").await;
    // A PATCH whose body trickles: it holds the upload while the second one arrives.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let slow = tus(&server, Method::PATCH, &path)
        .header("Content-Type", CHUNK)
        .header("Upload-Offset", "0")
        .body(reqwest::Body::wrap_stream(stream))
        .send();
    let slow = tokio::spawn(slow);
    tx.send(Ok(Bytes::copy_from_slice(&data[..100_000]))).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let r = patch(&server, &path, 0, &data[..5000]).await;
    assert_eq!(r.status(), 423, "a second writer must be refused while the first writes");
    let r = tus(&server, Method::DELETE, &path).send().await.unwrap();
    assert_eq!(r.status(), 423);
    // HEAD still answers (the recorded offset) without disturbing the writer.
    assert_eq!(head_offset(&server, &path).await, (200, "0".to_owned()));

    tx.send(Ok(Bytes::copy_from_slice(&data[100_000..200_000]))).await.unwrap();
    drop(tx);
    let r = slow.await.unwrap().unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(header(&r, "upload-offset"), "200000");
    // Exactly the first writer's bytes, in order.
    assert_eq!(std::fs::read(part_file(&server, &path)).unwrap(), &data[..200_000]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_uploads_expire_and_are_swept() {
    let server = Server::start(&[("FLICK_UPLOAD__INCOMPLETE_TTL_SECONDS", "1")]);
    let data = clip();
    let (path, _) = create(&server, data.len(), "d.mp4").await;
    assert_eq!(patch(&server, &path, 0, &data[..1000]).await.status(), 204);
    let part = part_file(&server, &path);
    assert!(part.exists());
    let start = Instant::now();
    while part.exists() {
        assert!(start.elapsed() < Duration::from_secs(10), "the sweep never removed the expired upload");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(head_offset(&server, &path).await.0, 404);
    assert_eq!(patch(&server, &path, 1000, &data[1000..2000]).await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn termination_removes_an_unfinished_upload() {
    let server = Server::start(&[]);
    let data = clip();
    let (path, _) = create(&server, data.len(), "e.mp4").await;
    assert_eq!(patch(&server, &path, 0, &data[..1000]).await.status(), 204);
    let r = tus(&server, Method::DELETE, &path).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(header(&r, "tus-resumable"), TUS);
    assert!(!part_file(&server, &path).exists());
    assert_eq!(head_offset(&server, &path).await.0, 404);
    assert_eq!(tus(&server, Method::DELETE, &path).send().await.unwrap().status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_upload_then_resume_from_the_recorded_offset() {
    let mut server = Server::start(&[]);
    let data = clip();
    let (path, _) = create(&server, data.len(), "crash.mp4").await;
    assert_eq!(patch(&server, &path, 0, &data[..400_000]).await.status(), 204);
    let data_dir = server.data_dir.clone();
    let temp = server.take_temp();
    server.kill9();
    // A write the crash tore: bytes on disk past the recorded offset.
    let part = part_file(&server, &path);
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&part).unwrap();
        f.write_all(&[0xAB; 12_345]).unwrap();
    }
    let server = Server::start_on(&data_dir, &[]);
    assert_eq!(head_offset(&server, &path).await, (200, "400000".to_owned()));
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 400_000, "the torn write was not cut back");
    let r = patch(&server, &path, 400_000, &data[400_000..]).await;
    assert_eq!(r.status(), 204);
    let id = header(&r, "flick-share-url").trim_start_matches("/v/").to_owned();
    let v = wait_done(&server, &id, Duration::from_secs(60)).await;
    assert_eq!(v["status"], "ready", "{v}");
    let decoded = decode_hls(&server.url(&format!("/streams/{id}/master.m3u8")));
    assert!((decoded.duration - source_duration(&fixture("h264_aac_faststart.mp4"))).abs() < 0.5);
    drop(server);
    drop(temp);
}
