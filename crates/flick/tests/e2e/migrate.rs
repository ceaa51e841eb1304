//! `flick migrate`: a single-machine installation (SQLite + the data folder) moved into PostgreSQL
//! (`FLICK_TEST_DATABASE_URL`) and an S3 bucket (Garage, `FLICK_TEST_S3_*`); without those servers the test says so
//! and returns.
//!
//! The copy is checked independently of the command's own verification (same records, same blob keys and lengths),
//! resumed after a destination object and record are lost, caught by `--verify-content` when an object's bytes
//! differ, refused while a server runs on the source, and finally served: every video plays from the destination,
//! and a manage token handed out before the move still deletes its video.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::*;
use bytes::Bytes;
use flick_domain::VideoId;
use flick_domain::config::S3Config;
use flick_domain::ports::BlobKey;
use flick_storage::open_database;

/// The settings that make a server (or `flick migrate`) use the single-machine set-up in `data`, whatever test
/// servers the harness would otherwise apply.
fn single_machine(data: &Path) -> Vec<(String, String)> {
    vec![
        ("FLICK_STORAGE__DATABASE_URL".into(), format!("sqlite://{}/flick.db", data.display())),
        ("FLICK_STORAGE__BLOB_URL".into(), data.display().to_string()),
    ]
}

fn env_of(settings: &[(String, String)]) -> Vec<(&str, &str)> {
    settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The destination `flick migrate` writes to: a PostgreSQL database and a bucket prefix of its own.
struct Destination {
    database: String,
    blobs: String,
    s3: S3Config,
}

/// Runs `flick migrate` with `source` (its data folder) as the installation to copy.
fn migrate(source: &Path, to: &Destination, extra: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flick"));
    cmd.arg("migrate")
        .args(["--to-database", &to.database, "--to-blobs", &to.blobs])
        .args(extra)
        .current_dir(source.parent().unwrap_or(Path::new("/")))
        .env("FLICK_STORAGE__DATA_DIR", source)
        .env("FLICK_STORAGE__S3__ENDPOINT", to.s3.endpoint.clone().unwrap_or_default())
        .env("FLICK_STORAGE__S3__REGION", to.s3.region.clone().unwrap_or_default())
        .env("FLICK_STORAGE__S3__ACCESS_KEY_ID", to.s3.access_key_id.clone().unwrap_or_default())
        .env("FLICK_STORAGE__S3__SECRET_ACCESS_KEY", to.s3.secret_access_key.clone().unwrap_or_default())
        .env("RUST_LOG", "info");
    for (k, v) in single_machine(source) {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let out = cmd.output().expect("run flick migrate");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("flick migrate {extra:?} ({:.1} s, {}):\n{stderr}{stdout}", started.elapsed().as_secs_f64(), out.status);
    out
}

/// The numbers on the summary line that starts with `label` (e.g. `videos:` → copied, already there, …).
fn numbers(out: &Output, label: &str) -> Vec<u64> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("no {label} line in:\n{stdout}"));
    line.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).filter_map(|s| s.parse().ok()).collect()
}

fn assert_success(out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("verification: passed"),
        "migrate failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The source's blobs (the files of raw/, hls/ and thumbs/) with their lengths.
fn source_blobs(data: &Path) -> BTreeMap<String, u64> {
    files_under(data)
        .into_iter()
        .filter(|f| ["raw/", "hls/", "thumbs/"].iter().any(|p| f.starts_with(p)))
        .map(|f| {
            let len = std::fs::metadata(data.join(&f)).expect("source file").len();
            (f, len)
        })
        .collect()
}

/// Every object of the destination's bucket prefix with its length.
async fn destination_blobs(to: &Destination) -> BTreeMap<String, u64> {
    let store = flick_storage::object::ObjectBlobStore::from_s3_url(&to.blobs, &to.s3).expect("open the bucket");
    store.keys_under(None).await.expect("list the bucket").into_iter().collect()
}

/// Polls until a ready video's record says it has its thumbnail (so the source is at rest when it is stopped).
async fn wait_thumbnail(server: &Server, id: &str) {
    let start = Instant::now();
    while status(server, id).await["thumbnailUrl"].as_str().is_none() {
        assert!(start.elapsed() < Duration::from_secs(30), "no thumbnail for {id}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_machine_moves_to_postgres_and_s3_without_losing_a_video() {
    let test_started = Instant::now();
    let temp = tempfile::tempdir().expect("tempdir");
    let source = temp.path().join("source");
    let dest_dir = temp.path().join("destination");
    // The bucket first: without it, no PostgreSQL database is created for nothing.
    let Some((database, (blobs, s3))) =
        s3_blobs_for(&dest_dir).and_then(|b| Some((postgres_database_for(&dest_dir)?, b)))
    else {
        eprintln!("needs FLICK_TEST_DATABASE_URL (PostgreSQL) and FLICK_TEST_S3_ENDPOINT (Garage): skipped");
        return;
    };
    let to = Destination { database, blobs, s3 };
    let local = single_machine(&source);

    // The installation to move: three videos that play, one that failed, and one still waiting for a worker.
    let mut server = Server::start_on(&source, &env_of(&local));
    let playable = ["h264_aac_faststart.mp4", "hevc_rot90.mov", "vp9_opus.webm"];
    let mut videos = Vec::new(); // (id, manage token, fixture)
    for name in playable.into_iter().chain(["truncated.mp4"]) {
        let (code, body) = upload(&server, &fixture(name), name).await;
        assert_eq!(code, 201, "{name}: {body}");
        let (id, token) = (body["id"].as_str().unwrap().to_owned(), body["manageToken"].as_str().unwrap().to_owned());
        videos.push((id, token, name));
    }
    for (id, _, name) in &videos {
        let v = wait_done(&server, id, Duration::from_secs(120)).await;
        let expected = if *name == "truncated.mp4" { "error" } else { "ready" };
        assert_eq!(v["status"], expected, "{name}: {v}");
        if expected == "ready" {
            wait_thumbnail(&server, id).await;
        }
    }
    let failure = status(&server, &videos[3].0).await["error"].clone();
    assert!(failure["message"].as_str().is_some_and(|m| !m.is_empty()), "{failure}");
    // A caption track moves too (its row and its cues).
    let (first, first_token) = (videos[0].0.clone(), videos[0].1.clone());
    let r = client()
        .post(server.url(&format!("/api/video/{first}/captions?lang=en&label=English")))
        .bearer_auth(&first_token)
        .body("1\n00:00:01,000 --> 00:00:02,000\nHello\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    server.kill9();

    // An API-only node takes one more upload that no worker processes; while it runs, migrate refuses to start.
    let mut api_only = local.clone();
    api_only.push(("FLICK_PROCESSING__WORKERS".into(), "0".into()));
    let mut server = Server::start_on(&source, &env_of(&api_only));
    let (code, body) = upload(&server, &fixture("short_1s.mp4"), "short_1s.mp4").await;
    assert_eq!(code, 201, "{body}");
    videos.push((
        body["id"].as_str().unwrap().to_owned(),
        body["manageToken"].as_str().unwrap().to_owned(),
        "short_1s.mp4",
    ));
    assert_eq!(status(&server, &videos[4].0).await["status"], "processing");
    // Blob keys name the storage ids, links the share ids.
    let storage: Vec<String> = videos
        .iter()
        .map(|(share, ..)| {
            sqlite_query(&source.join("flick.db"), &format!("SELECT id FROM videos WHERE share_id = '{share}'"))
        })
        .collect();
    let refused = migrate(&source, &to, &[]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("is running on"), "{stderr}");
    server.kill9();

    // Refused too: the source as destination, and a destination that is no database.
    let itself = Destination {
        database: format!("sqlite://{}/../source/flick.db", source.display()),
        blobs: to.blobs.clone(),
        s3: to.s3.clone(),
    };
    let out = migrate(&source, &itself, &[]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("source's own"), "{out:?}");
    let nowhere = Destination { database: "mysql://u:secret@h/db".into(), blobs: to.blobs.clone(), s3: to.s3.clone() };
    let out = migrate(&source, &nowhere, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("--to-database") && !stderr.contains("secret"), "{stderr}");
    assert!(destination_blobs(&to).await.is_empty(), "a refused run copies nothing");

    // The move, with every byte compared.
    let expected = source_blobs(&source);
    assert!(expected.keys().any(|k| k.starts_with("hls/") && k.ends_with(".ts")), "{expected:?}");
    assert!(expected.contains_key(&format!("raw/{}", storage[4])), "the waiting video's upload: {expected:?}");
    let total = expected.len() as u64;
    let out = migrate(&source, &to, &["--verify-content"]);
    assert_success(&out);
    assert_eq!(numbers(&out, "videos:")[..3], [5, 0, 0]);
    assert_eq!(numbers(&out, "blobs:")[..2], [total, 0]);
    assert_eq!(numbers(&out, "blobs:")[2], expected.values().sum::<u64>());
    assert_eq!(numbers(&out, "jobs queued:")[0], 1, "the waiting video's processing");
    assert!(String::from_utf8_lossy(&out.stdout).contains("SHA-256"));
    // Checked here too, not only by the command: the same blobs with the same lengths…
    assert_eq!(destination_blobs(&to).await, expected);

    // …and after a lost object and a lost record, a re-run copies just those two.
    let bucket = blob_store_for(&dest_dir);
    let segment = expected.keys().find(|k| k.starts_with(&format!("hls/{}/", storage[1])) && k.ends_with(".ts"));
    bucket.delete(&BlobKey::new(segment.expect("a segment").clone()).unwrap()).await.unwrap();
    run_sql(&dest_dir, &format!("DELETE FROM videos WHERE share_id = '{}'", videos[0].0));
    let out = migrate(&source, &to, &[]);
    assert_success(&out);
    assert_eq!(numbers(&out, "videos:")[..3], [1, 4, 0]);
    assert_eq!(numbers(&out, "blobs:")[..2], [1, total - 1]);
    assert_eq!(destination_blobs(&to).await, expected);

    // Bytes that differ at the same length pass the length check but not --verify-content.
    let thumb = BlobKey::thumbnail(VideoId::parse(&storage[2]).unwrap());
    bucket.put_bytes(&thumb, Bytes::from(vec![0u8; expected[thumb.as_str()] as usize])).await.unwrap();
    let out = migrate(&source, &to, &["--verify-content"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success() && stdout.contains("verification: FAILED") && stdout.contains(thumb.as_str()),
        "{stdout}"
    );
    bucket.delete(&thumb).await.unwrap();
    let out = migrate(&source, &to, &["--verify-content"]);
    assert_success(&out);
    assert_eq!(numbers(&out, "blobs:")[..2], [1, total - 1]);

    // The records, read back on both sides: equal field by field.
    let source_db = open_database(&format!("sqlite://{}/flick.db", source.display()), 3u32).await.unwrap();
    let dest_db = open_database(&to.database, 3u32).await.unwrap();
    let (before, after) = (source_db.list_videos(100, 0).await.unwrap(), dest_db.list_videos(100, 0).await.unwrap());
    assert_eq!(before.len(), 5);
    assert_eq!(after, before, "the same records, in the same order");
    source_db.close().await;
    dest_db.close().await;

    // A server on the destination: everything plays, the failure is kept, the waiting video gets processed.
    let server = Server::start_on(&dest_dir, &[]);
    let c = client();
    let captions = status(&server, &first).await["captions"].clone();
    assert_eq!(captions[0]["label"], "English", "{captions}");
    let cues = c.get(server.url(&format!("/streams/{first}/captions/en.vtt"))).send().await.unwrap();
    assert!(cues.text().await.unwrap().ends_with("00:00:01.000 --> 00:00:02.000\nHello\n"));
    for (id, _, name) in &videos {
        let v = wait_done(&server, id, Duration::from_secs(120)).await;
        if *name == "truncated.mp4" {
            assert_eq!(v["status"], "error", "{v}");
            assert_eq!(v["error"], failure);
            continue;
        }
        assert_eq!(v["status"], "ready", "{name}: {v}");
        let decoded = decode_hls(&server.url(&format!("/streams/{id}/master.m3u8")));
        let source_duration = source_duration(&fixture(name));
        assert!((decoded.duration - source_duration).abs() <= 0.5, "{name}: {} vs {source_duration}", decoded.duration);
        wait_thumbnail(&server, id).await;
        let r = c.get(server.url(&format!("/thumbnails/{id}.jpg"))).send().await.unwrap();
        assert_eq!(r.status(), 200, "{name}");
        assert_eq!(r.headers()["content-type"], "image/jpeg");
        assert!(!r.bytes().await.unwrap().is_empty());
    }
    for (id, token, _) in &videos {
        let r = c.delete(server.url(&format!("/api/video/{id}"))).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), 204, "the manage token from before the move deletes {id}");
        assert_eq!(c.get(server.url(&format!("/api/video/{id}"))).send().await.unwrap().status(), 404);
    }
    assert!(destination_blobs(&to).await.is_empty(), "deleting took every object with it");
    eprintln!("migrate test: {:.1} s", test_started.elapsed().as_secs_f64());
}
