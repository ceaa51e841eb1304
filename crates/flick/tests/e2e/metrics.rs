//! `GET /metrics` on `flick serve` and `flick worker`: real uploads (plain and tus) and real jobs move the counters,
//! the time-to-first-playable histogram gets an observation, and the queue gauges read the database.

use std::time::{Duration, Instant};

use crate::common::*;

/// A scrape: the response's content type and every sample as (series, value).
struct Scrape {
    content_type: String,
    text: String,
}

impl Scrape {
    /// The value of a series written exactly as rendered, e.g. `flick_jobs{state="queued"}`.
    fn value(&self, series: &str) -> Option<f64> {
        self.text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    fn get(&self, series: &str) -> f64 {
        self.value(series).unwrap_or_else(|| panic!("no {series} in:\n{}", self.text))
    }
}

async fn scrape(url: String) -> Scrape {
    let r = client().get(&url).send().await.expect("scrape");
    assert_eq!(r.status(), 200, "{url}");
    let headers = r.headers().clone();
    // The security headers layer keeps to its job: no page CSP on a text body.
    assert!(headers.get("content-security-policy").is_none(), "{headers:?}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let content_type = headers["content-type"].to_str().unwrap().to_owned();
    Scrape { content_type, text: r.text().await.unwrap() }
}

/// Scrapes until `done` holds (job metrics are recorded just after the video is marked ready).
async fn scrape_until(url: String, what: &str, done: impl Fn(&Scrape) -> bool) -> Scrape {
    let start = Instant::now();
    loop {
        let s = scrape(url.clone()).await;
        if done(&s) {
            return s;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "never saw {what} in:\n{}", s.text);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Uploads `bytes` with tus in one request (creation-with-upload); returns the video id.
async fn tus_upload(server: &Server, bytes: Vec<u8>) -> String {
    let r = client()
        .post(server.url("/api/uploads"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", bytes.len().to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(bytes)
        .send()
        .await
        .expect("tus upload");
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    r.headers()["flick-share-url"].to_str().unwrap().trim_start_matches("/v/").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_counts_uploads_jobs_and_time_to_first_playable() {
    let server = Server::start(&[]);
    let before = scrape(server.url("/metrics")).await;
    assert_eq!(before.content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_eq!(before.get("flick_upload_received_bytes_total"), 0.0);
    assert_eq!(before.get("flick_jobs{state=\"queued\"}"), 0.0);
    assert_eq!(before.get("flick_queue_depth"), 0.0);

    let clip = fixture("h264_aac_faststart.mp4");
    let bytes = std::fs::read(&clip).unwrap();
    let (code, body) = upload(&server, &clip, "clip.mp4").await;
    assert_eq!(code, 201, "{body}");
    let plain = body["id"].as_str().unwrap().to_owned();
    let tus = tus_upload(&server, bytes.clone()).await;
    let (code, body) = upload(&server, &clip, "notes.txt").await;
    assert_eq!(code, 415, "{body}");
    for id in [&plain, &tus] {
        assert_eq!(wait_done(&server, id, Duration::from_secs(60)).await["status"], "ready");
    }

    let ok = "flick_jobs_finished_total{kind=\"process\",outcome=\"ok\"}";
    let m = scrape_until(server.url("/metrics"), "two ok jobs", |s| s.value(ok) == Some(2.0)).await;
    assert_eq!(m.get("flick_uploads_completed_total{kind=\"post\"}"), 1.0);
    assert_eq!(m.get("flick_uploads_completed_total{kind=\"tus\"}"), 1.0);
    let received = m.get("flick_upload_received_bytes_total");
    assert!(received >= 2.0 * bytes.len() as f64, "received {received} of 2 x {}", bytes.len());
    assert!(received < 4.0 * bytes.len() as f64, "received {received} of 2 x {}", bytes.len());
    assert_eq!(m.get("flick_uploads_refused_total{code=\"unsupported_media_type\"}"), 1.0);
    assert_eq!(m.get("flick_job_duration_seconds_count{kind=\"process\"}"), 2.0);
    assert!(m.value("flick_jobs_finished_total{kind=\"process\",outcome=\"failed\"}").is_none(), "{}", m.text);
    // Both videos were playable within seconds of their upload.
    assert_eq!(m.get("flick_time_to_first_playable_seconds_count"), 2.0);
    let ttfp = m.get("flick_time_to_first_playable_seconds_sum") / 2.0;
    assert!(ttfp > 0.0 && ttfp < 30.0, "mean time to first playable {ttfp} s");
    assert_eq!(m.get("flick_time_to_first_playable_seconds_bucket{le=\"+Inf\"}"), 2.0);
    // Done jobs leave the queue (the storyboards, queued when the videos became ready, included).
    let storyboards = "flick_jobs_finished_total{kind=\"storyboard\",outcome=\"ok\"}";
    let m = scrape_until(server.url("/metrics"), "two storyboards", |s| s.value(storyboards) == Some(2.0)).await;
    for state in ["queued", "running", "failed"] {
        assert_eq!(m.get(&format!("flick_jobs{{state=\"{state}\"}}")), 0.0, "{state}");
    }
    assert_eq!(m.get("flick_queue_depth"), 0.0);
    assert_eq!(m.get("flick_queue_oldest_wait_seconds"), 0.0);
    // Nothing names a video.
    assert!(!m.text.contains(&plain) && !m.text.contains(&tus), "{}", m.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_process_serves_its_own_metrics_and_both_see_the_queue() {
    let temp = tempfile::tempdir().expect("tempdir");
    let data = temp.path().join("data");
    let api = Server::start_with_args(&["serve", "--no-workers"], &data, &[]);
    let (code, body) = upload(&api, &fixture("h264_aac_faststart.mp4"), "clip.mp4").await;
    assert_eq!(code, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // No worker yet: the job waits, and the gauges say so.
    let m = scrape(api.url("/metrics")).await;
    assert_eq!(m.get("flick_uploads_completed_total{kind=\"post\"}"), 1.0);
    assert_eq!(m.get("flick_jobs{state=\"queued\"}"), 1.0);
    assert_eq!(m.get("flick_queue_depth"), 1.0);
    let waited = m.get("flick_queue_oldest_wait_seconds");
    assert!((0.4..60.0).contains(&waited), "oldest wait {waited} s");

    let worker = Worker::start(&data, &[("FLICK_PROCESSING__WORKERS", "1")]);
    assert_eq!(wait_done(&api, &id, Duration::from_secs(60)).await["status"], "ready");
    for probe in ["/healthz", "/readyz"] {
        let r = client().get(worker.url(probe)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{probe}");
    }
    let ok = "flick_jobs_finished_total{kind=\"process\",outcome=\"ok\"}";
    scrape_until(worker.url("/metrics"), "the worker's ok job", |s| s.value(ok) == Some(1.0)).await;
    // The storyboard job queued at `ready` is done too before the queue is looked at.
    let storyboard = "flick_jobs_finished_total{kind=\"storyboard\",outcome=\"ok\"}";
    let w = scrape_until(worker.url("/metrics"), "the storyboard job", |s| s.value(storyboard) == Some(1.0)).await;
    assert_eq!(w.content_type, "text/plain; version=0.0.4; charset=utf-8");
    // The time to first playable counts from the upload, so it includes the wait for a worker.
    assert_eq!(w.get("flick_time_to_first_playable_seconds_count"), 1.0);
    let ttfp = w.get("flick_time_to_first_playable_seconds_sum");
    assert!((waited..120.0).contains(&ttfp), "time to first playable {ttfp} s after a wait of {waited} s");
    assert_eq!(w.get("flick_jobs{state=\"queued\"}"), 0.0);
    assert_eq!(w.get("flick_queue_depth"), 0.0);
    // Counters are per process: the upload was counted by the API node, the job by the worker.
    assert!(w.value("flick_uploads_completed_total{kind=\"post\"}").is_none(), "{}", w.text);
    let m = scrape(api.url("/metrics")).await;
    assert!(m.value(ok).is_none(), "{}", m.text);
    assert_eq!(m.get("flick_jobs{state=\"queued\"}"), 0.0);
    assert_eq!(client().get(worker.url("/api/videos")).send().await.unwrap().status(), 404);
    drop((api, worker));
}
