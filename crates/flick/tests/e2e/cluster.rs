//! Scale-out on one machine: 2 API-only nodes (`flick serve --no-workers`) and 2 `flick worker` processes sharing
//! the database (PostgreSQL with `FLICK_TEST_DATABASE_URL`, else the SQLite file) and the data folder. A worker is
//! SIGKILLed in the middle of a re-encode; the other re-claims the job when its lease expires and the video ends
//! ready.

use std::time::{Duration, Instant};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_api_nodes_and_two_workers_survive_a_killed_worker() {
    let temp = tempfile::tempdir().expect("tempdir");
    let data = temp.path().join("data");
    let one_worker = [("FLICK_PROCESSING__WORKERS", "1")];
    let a = Server::start_with_args(&["serve", "--no-workers"], &data, &[]);
    let b = Server::start_with_args(&["serve", "--no-workers"], &data, &[]);
    let mut workers = [Worker::start(&data, &one_worker), Worker::start(&data, &one_worker)];
    assert_ne!(workers[0].node, workers[1].node, "each process has its own node name");
    assert!(workers[0].node.contains(&format!("/{}-", workers[0].pid())), "the node name carries the pid");

    for node in [&a, &b] {
        let r = client().get(node.url("/readyz")).send().await.expect("readyz");
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    }

    // Upload through A; watch from B.
    let clip = fixture("crash_reencode.mov");
    let (code, body) = upload(&a, &clip, "long.mov").await;
    assert_eq!(code, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let token = body["manageToken"].as_str().unwrap().to_owned();
    let start = Instant::now();
    loop {
        let v = status(&b, &id).await;
        assert_eq!(v["status"], "processing", "the re-encode ended before the crash could happen: {v}");
        if v["playable"] == true {
            let blobs = if test_s3().is_some() { "S3" } else { "local disk" };
            eprintln!(
                "cluster: first playable {:.0} ms after the upload ({blobs})",
                start.elapsed().as_secs_f64() * 1e3
            );
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "never became playable: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The worker whose ffmpeg is running holds the job: SIGKILL it.
    let busy = single_busy_worker(&workers).await;
    let orphaned = ffmpeg_children_of(workers[busy].pid());
    workers[busy].kill9();
    let killed_at = Instant::now();
    // Its ffmpeg dies with it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while orphaned.iter().any(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(*pid)) {
        assert!(Instant::now() < deadline, "ffmpeg outlived the killed worker");
        std::thread::sleep(Duration::from_millis(50));
    }

    // The other worker re-claims it once the lease (30 s) expires, and finishes it.
    let v = wait_done(&b, &id, Duration::from_secs(150)).await;
    assert_eq!(v["status"], "ready", "{v}");
    let took = killed_at.elapsed();
    eprintln!("cluster: ready {:.1} s after the busy worker was killed", took.as_secs_f64());
    let survivor = 1 - busy;
    assert!(workers[survivor].child.try_wait().unwrap().is_none(), "the other worker is still running");

    let decoded = decode_hls(&a.url(&format!("/streams/{id}/master.m3u8")));
    let source = source_duration(&clip);
    assert!((decoded.duration - source).abs() <= 0.5, "decoded {} vs {source}", decoded.duration);
    assert!(
        !blob_keys(&data).await.contains(&format!("raw/{}", storage_id(&data, &id))),
        "the raw upload is removed once ready"
    );

    // Delete through B: the files go.
    let r = client().delete(b.url(&format!("/api/video/{id}"))).bearer_auth(&token).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(client().get(a.url(&format!("/api/video/{id}"))).send().await.unwrap().status(), 404);
    let objects: Vec<String> = blob_keys(&data).await.into_iter().filter(|k| k.contains(&id)).collect();
    assert!(objects.is_empty(), "blobs of the deleted video remain: {objects:?}");
    let left: Vec<String> = files_under(&data).into_iter().filter(|f| f.contains(&id)).collect();
    // Only the killed worker's scratch folder remains: nobody may touch it until this host knows its owner is dead.
    let dead_work = format!("work/{}", workers[busy].node.trim_end_matches('/'));
    assert!(left.iter().all(|f| f.starts_with(&dead_work)), "files of the deleted video remain: {left:?}");
    // A process starting on this host sweeps the dead one's folder (and not the live worker's).
    let live_work = data.join(format!("work/{}", workers[survivor].node.trim_end_matches('/')));
    let replacement = Worker::start(&data, &one_worker);
    assert!(!data.join(&dead_work).exists(), "the dead worker's work folder was not swept");
    assert!(live_work.exists(), "a live worker's work folder was swept");
    let left: Vec<String> = files_under(&data).into_iter().filter(|f| f.contains(&id)).collect();
    assert!(left.is_empty(), "files of the deleted video remain: {left:?}");
    drop(replacement);

    // SIGTERM: the surviving worker stops promptly and cleanly.
    // SAFETY: signalling our own child process.
    assert_eq!(unsafe { libc::kill(workers[survivor].pid() as libc::pid_t, libc::SIGTERM) }, 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(status) = workers[survivor].child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the worker did not stop within 20 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "graceful shutdown should exit 0, got {exit:?}");
    drop((a, b, workers));
    drop(temp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_answers_503_when_the_store_cannot_be_written() {
    // Blobs on the local disk even when the suite runs on S3: a file in the way is how a test breaks a store here.
    let temp = tempfile::tempdir().expect("tempdir");
    let data = temp.path().join("data");
    let local = data.display().to_string();
    let server = Server::start_on(&data, &[("FLICK_PROCESSING__WORKERS", "0"), ("FLICK_STORAGE__BLOB_URL", &local)]);
    let ok = client().get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    // A file where the probe's folder should be: the store cannot write there.
    let health = server.data_dir.join("health");
    let _ = std::fs::remove_dir_all(&health);
    std::fs::write(&health, b"in the way").unwrap();
    // The answer is reused for a few seconds (the check writes to the store; anyone may ask): still ready at once...
    let cached = client().get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(cached.status(), 200, "a check a moment old is reused");
    // ...then the next check finds the store broken.
    let started = std::time::Instant::now();
    let r = loop {
        let r = client().get(server.url("/readyz")).send().await.unwrap();
        if r.status() != 200 || started.elapsed() > Duration::from_secs(15) {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_ready", "{body}");
    // Liveness is not readiness.
    assert_eq!(client().get(server.url("/healthz")).send().await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_that_does_not_answer_stops_start_up_with_a_clear_error() {
    let temp = tempfile::tempdir().expect("tempdir");
    // Nothing listens on port 9 of 127.0.0.1 (discard): the store cannot be reached.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_flick"))
        .arg("serve")
        .env("FLICK_STORAGE__DATA_DIR", temp.path().join("data"))
        .env("FLICK_STORAGE__DATABASE_URL", format!("sqlite://{}/flick.db", temp.path().display()))
        .env("FLICK_STORAGE__BLOB_URL", "s3://nobody/flick")
        .env("FLICK_STORAGE__S3__ENDPOINT", "http://127.0.0.1:9")
        .env("FLICK_STORAGE__S3__ACCESS_KEY_ID", "key")
        .env("FLICK_STORAGE__S3__SECRET_ACCESS_KEY", "secret")
        .env("FLICK_STORAGE__S3__REGION", "garage")
        .env("FLICK_SERVER__PORT", "0")
        .output()
        .expect("run flick");
    assert!(!out.status.success(), "start-up must fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("s3://nobody/flick") && stderr.contains("does not answer"), "{stderr}");
    assert!(!stderr.contains("secret"), "the secret must not be printed: {stderr}");
}
