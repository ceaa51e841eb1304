//! Many slow uploads at once leave room for everyone else: on PostgreSQL each upload being written used to hold a
//! database session of its own for its lock (32 at most), so the 33rd writer waited 10 s and got a 500.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::common::{Server, client, fixture};

/// Upload bodies left hanging at once: more than the old lock pool (32) held.
const STALLED: usize = 40;

#[tokio::test]
async fn forty_stalled_upload_bodies_leave_other_uploads_and_readers_served() {
    let server = Server::start(&[
        ("FLICK_PROCESSING__WORKERS", "0"),
        ("FLICK_PROCESSING__LIVE_WORKERS", "0"),
        ("FLICK_UPLOAD__MAX_CONCURRENT_PER_IP", "100"),
        ("FLICK_UPLOAD__MAX_PER_IP_PER_HOUR", "1000"),
        ("FLICK_UPLOAD__MIN_RATE_WINDOW_SECONDS", "600"),
    ]);
    // Real video bytes: a body that is not a video is refused (415) before it could stall.
    let video = std::fs::read(fixture("h264_aac_faststart.mp4")).unwrap();
    let length = video.len();
    let create = || {
        let request = client()
            .post(server.url("/api/uploads"))
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", length.to_string())
            .send();
        async move {
            let response = request.await.unwrap();
            assert_eq!(response.status(), 201);
            response.headers()["location"].to_str().unwrap().to_owned()
        }
    };

    // Each stalled writer sends its headers and the first 64 KiB of its body, then nothing: its request holds the
    // upload's write lock for as long as the socket stays open.
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut stalled = Vec::new();
    for _ in 0..STALLED {
        let path = create().await;
        let mut socket = TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "PATCH {path} HTTP/1.1\r\nHost: {addr}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n\
             Content-Type: application/offset+octet-stream\r\nContent-Length: {length}\r\n\r\n"
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        socket.write_all(&video[..64 * 1024]).await.unwrap();
        stalled.push((path, socket));
    }
    // Every one of them is writing: a HEAD finds its lock taken (423) or its bytes arriving.
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Another uploader's chunk is taken, not refused or left to time out.
    let path = create().await;
    let response = client()
        .patch(server.url(&path))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream")
        .body(video[..200_000].to_vec())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204, "a writer beside {STALLED} stalled ones: {:?}", response.text().await);
    assert_eq!(response.headers()["upload-offset"], "200000");

    // A second writer of a stalled upload is told it is locked (423), at once.
    let (busy, _) = &stalled[0];
    let second = client()
        .patch(server.url(busy))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream")
        .body(video[..10].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 423, "the stalled writer still holds its upload's lock");

    // Readers are served too.
    let ready = client().get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let head = client().head(server.url(&path)).header("Tus-Resumable", "1.0.0").send().await.unwrap();
    assert_eq!(head.headers()["upload-offset"], "200000");
    drop(stalled);
}
