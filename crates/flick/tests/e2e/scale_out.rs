//! The scaled set-up: 2 API-only nodes and 2 workers, each with its own data folder (as on separate machines),
//! sharing only PostgreSQL (`FLICK_TEST_DATABASE_URL`) and an S3 bucket (Garage, `FLICK_TEST_S3_*`). Run by
//! `make test` through `make test-scaled`; without those servers the test says so and returns.
//!
//! A tus upload's chunks alternate between the API nodes (and a second writer on the other node is refused while one
//! writes); status is read from the other node; the video plays from segments in the bucket while it is still being
//! encoded; the busy worker is SIGKILLed and the other re-claims the job; deleting removes every object.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

const TUS: &str = "1.0.0";

/// The settings every process of the cluster shares: the database and the bucket prefix of the first data dir.
fn shared_settings(first: &Path) -> Option<Vec<(String, String)>> {
    let db = postgres_database_for(first)?;
    let (blob_url, _) = s3_blobs_for(first)?;
    Some(vec![
        ("FLICK_STORAGE__DATABASE_URL".into(), db),
        ("FLICK_STORAGE__BLOB_URL".into(), blob_url),
        // The kill below must be re-claimed well within the test's patience.
        ("FLICK_PROCESSING__WORKERS".into(), "1".into()),
    ])
}

fn env_of(settings: &[(String, String)]) -> Vec<(&str, &str)> {
    settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_nodes_and_workers_share_only_postgres_and_the_bucket() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dirs: Vec<PathBuf> = (0..4).map(|i| temp.path().join(format!("node{i}"))).collect();
    let Some(shared) = shared_settings(&dirs[0]) else {
        eprintln!("needs FLICK_TEST_DATABASE_URL (PostgreSQL) and FLICK_TEST_S3_ENDPOINT (Garage): skipped");
        return;
    };
    let env = env_of(&shared);
    let a = Server::start_with_args(&["serve", "--no-workers"], &dirs[0], &env);
    let b = Server::start_with_args(&["serve", "--no-workers"], &dirs[1], &env);
    let mut workers = [Worker::start(&dirs[2], &env), Worker::start(&dirs[3], &env)];
    for node in [&a, &b] {
        let r = client().get(node.url("/readyz")).send().await.expect("readyz");
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    }

    // A tus upload whose chunks alternate between A and B.
    let clip = fixture("crash_reencode.mov");
    let bytes = std::fs::read(&clip).expect("fixture");
    let c = client();
    let r = c
        .post(a.url("/api/uploads"))
        .header("tus-resumable", TUS)
        .header("upload-length", bytes.len().to_string())
        .header("upload-metadata", format!("filename {}", STANDARD.encode("long.mov")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let token = r.headers()["flick-manage-token"].to_str().unwrap().to_owned();
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let id = location.rsplit('/').next().unwrap().to_owned();
    let share = r.headers()["flick-share-url"].to_str().unwrap().trim_start_matches("/v/").to_owned();
    let chunk = bytes.len() / 5 + 1;
    let mut offset = 0;
    let mut turn = 0;
    let mut upload_done = Instant::now();
    while offset < bytes.len() {
        let (writer, other) = if turn % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let end = (offset + chunk).min(bytes.len());
        if turn == 1 {
            // While A's request is still writing, B must refuse a second writer of the same upload.
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
            let rx = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
            let slow = tokio::spawn(patch(other, &location, offset, reqwest::Body::wrap_stream(rx)));
            tx.send(Ok(bytes::Bytes::copy_from_slice(&bytes[offset..offset + 1000]))).await.unwrap();
            tokio::time::sleep(Duration::from_millis(500)).await;
            let refused = patch(writer, &location, offset, bytes[offset..end].to_vec()).await;
            assert_eq!(refused.status(), 423, "a second writer on another node is refused");
            // The first writer's slow chunk of 1000 bytes ends and counts.
            drop(tx);
            let r = slow.await.unwrap();
            assert_eq!(r.status(), 204);
            assert_eq!(r.headers()["upload-offset"].to_str().unwrap(), (offset + 1000).to_string());
            offset += 1000;
        }
        let r = patch(writer, &location, offset, bytes[offset..end].to_vec()).await;
        assert_eq!(r.status(), 204, "chunk at {offset} through {}", writer.base);
        upload_done = Instant::now();
        offset = end;
        // The other node knows the new offset at once.
        let head = c.head(other.url(&location)).header("tus-resumable", TUS).send().await.unwrap();
        assert_eq!(head.headers()["upload-offset"].to_str().unwrap(), offset.to_string());
        turn += 1;
    }
    assert!(turn >= 4, "the upload took several chunks");

    // Hostile staged uploads leave nothing in the bucket: a chunk past Upload-Length is refused whole, and text in
    // the second chunk (the container is sniffed across chunks, the head read back from the bucket) ends the upload.
    let create = |node: &Server, length: usize| {
        c.post(node.url("/api/uploads")).header("tus-resumable", TUS).header("upload-length", length.to_string()).send()
    };
    let r = create(&a, 100).await.unwrap();
    let bad = r.headers()["location"].to_str().unwrap().to_owned();
    let r = patch(&b, &bad, 0, vec![0u8; 101]).await;
    assert_eq!(r.status(), 413, "a chunk past Upload-Length");
    let r = patch(&b, &bad, 0, b"plain text".to_vec()).await;
    assert_eq!(r.status(), 204, "10 bytes are too few to judge");
    let r = patch(&a, &bad, 10, b" that goes on and on and is clearly no video container at all, sadly".to_vec()).await;
    assert_eq!(r.status(), 415, "not a video, judged with the first chunk read back from the bucket");
    let gone = c.head(b.url(&bad)).header("tus-resumable", TUS).send().await.unwrap();
    assert_eq!(gone.status(), 404, "the refused upload is removed");
    let bad_id = bad.rsplit('/').next().unwrap();
    let left: Vec<String> = blob_keys(&dirs[0]).await.into_iter().filter(|k| k.contains(bad_id)).collect();
    assert!(left.is_empty(), "objects of the refused upload remain: {left:?}");
    let uploaded = blob_keys(&dirs[0]).await;
    assert!(!uploaded.iter().any(|k| k.starts_with(&format!("uploads/{id}"))), "staged parts remain: {uploaded:?}");

    // Play while processing, from segments in the bucket, through the node that did not take the last chunk.
    let playable_after = loop {
        let v = status(&b, &share).await;
        assert_eq!(v["status"], "processing", "the re-encode ended before the crash could happen: {v}");
        if v["playable"] == true {
            break upload_done.elapsed();
        }
        assert!(upload_done.elapsed() < Duration::from_secs(60), "never became playable: {v}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    eprintln!(
        "scale-out: first playable {:.0} ms after the last chunk (segments in S3)",
        playable_after.as_secs_f64() * 1e3
    );
    let keys = blob_keys(&dirs[0]).await;
    assert!(keys.iter().any(|k| k.starts_with(&format!("hls/{id}/")) && k.ends_with(".ts")), "{keys:?}");
    let playlist = c.get(a.url(&format!("/streams/{share}/index.m3u8"))).send().await.unwrap().text().await.unwrap();
    let first = playlist.lines().find(|l| l.ends_with(".ts")).expect("a segment is listed").to_owned();
    let seg = c.get(a.url(&format!("/streams/{share}/{first}"))).header("range", "bytes=0-187").send().await.unwrap();
    assert_eq!(seg.status(), 206);
    assert_eq!(seg.bytes().await.unwrap()[0], 0x47, "an MPEG-TS packet from the bucket");

    // SIGKILL the worker that runs ffmpeg; the other re-claims the job once the lease expires.
    let busy = single_busy_worker(&workers).await;
    workers[busy].kill9();
    let killed_at = Instant::now();
    let v = wait_done(&a, &share, Duration::from_secs(180)).await;
    assert_eq!(v["status"], "ready", "{v}");
    eprintln!("scale-out: ready {:.1} s after the busy worker was killed", killed_at.elapsed().as_secs_f64());
    let decoded = decode_hls(&b.url(&format!("/streams/{share}/master.m3u8")));
    let source = source_duration(&clip);
    assert!((decoded.duration - source).abs() <= 0.5, "decoded {} vs {source}", decoded.duration);

    // Delete through B: every object of the video leaves the bucket.
    let r = c.delete(b.url(&format!("/api/video/{share}"))).bearer_auth(&token).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let left: Vec<String> = blob_keys(&dirs[0]).await.into_iter().filter(|k| k.contains(&id)).collect();
    assert!(left.is_empty(), "objects of the deleted video remain: {left:?}");
    drop((a, b, workers));
}

/// A tus PATCH of `body` at `offset` through `node`.
fn patch(
    node: &Server,
    location: &str,
    offset: usize,
    body: impl Into<reqwest::Body>,
) -> impl std::future::Future<Output = reqwest::Response> + Send + 'static {
    let request = client()
        .patch(node.url(location))
        .header("tus-resumable", TUS)
        .header("upload-offset", offset.to_string())
        .header("content-type", "application/offset+octet-stream")
        .body(body);
    async move { request.send().await.expect("PATCH") }
}
