//! What watching a video while its upload still runs needs of the database (SQLite, or PostgreSQL when
//! `FLICK_TEST_DATABASE_URL` names a server): videos created `uploading`, their upload finishing, the new record and
//! upload fields, and waking whoever follows an upload.

mod common;

use std::time::{Duration, Instant};

use chrono::Utc;
use common::{Db, backend, fresh_db};
use flick_domain::ports::{JobKind, Pool, RepoError, UploadRecord};
use flick_domain::{Delivery, NewVideo, ShareId, UPLOAD_ABANDONED, VideoId, VideoStatus, VideoUpdate};
use flick_storage::{Backend, QueueSettings, open_database};
use tokio::task::JoinHandle;

const LEASE: Duration = Duration::from_secs(30);

fn new_video(status: VideoStatus) -> NewVideo {
    NewVideo {
        id: VideoId::new(),
        share_id: ShareId::new(),
        status,
        original_name: "live.mp4".into(),
        size_bytes: 1_000,
        manage_token_hash: "ab".repeat(32),
        uploader: None,
    }
}

fn upload(id: VideoId) -> UploadRecord {
    let now = chrono::DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
    UploadRecord {
        id,
        length: 1_000,
        offset: 0,
        index_offset: None,
        partial: false,
        file_name: Some("live.mp4".into()),
        metadata: None,
        manage_token_hash: "ab".repeat(32),
        created_at: now,
        expires_at: now + chrono::Duration::hours(1),
        uploader: None,
    }
}

#[tokio::test]
async fn an_uploading_video_is_created_without_a_job_and_finished_once() {
    let (_fresh, db) = fresh_db().await;
    let new = new_video(VideoStatus::Uploading);
    db.create_video(&new).await.unwrap();
    let created = db.get_video(new.id).await.unwrap().unwrap();
    assert_eq!(created.status, VideoStatus::Uploading);
    assert!(db.processing_video_ids().await.unwrap().is_empty(), "start-up recovery leaves uploads alone");
    // No job waits for bytes that have not come: its first bytes queue it.
    assert!(db.claim("w", LEASE, Pool::Any).await.unwrap().is_none(), "no job before the first bytes");
    db.enqueue(new.id, JobKind::Process).await.unwrap();
    let job = db.claim("w", LEASE, Pool::Any).await.unwrap().expect("its processing job");
    assert_eq!((job.video_id, job.kind), (new.id, JobKind::Process));

    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(db.upload_finished(new.id).await.unwrap());
    let finished = db.get_video(new.id).await.unwrap().unwrap();
    assert_eq!(finished.status, VideoStatus::Processing);
    assert!(finished.updated_at > created.updated_at);
    assert_eq!(db.processing_video_ids().await.unwrap(), vec![new.id]);
    // The job running meanwhile covers it: no second one.
    assert!(db.claim("w2", LEASE, Pool::Any).await.unwrap().is_none());

    assert!(!db.upload_finished(new.id).await.unwrap(), "finished already");
    assert!(!db.upload_finished(VideoId::new()).await.unwrap(), "no such video");
    assert!(db.claim("w2", LEASE, Pool::Any).await.unwrap().is_none());
}

#[tokio::test]
async fn upload_finished_queues_the_process_job_when_none_is_live() {
    let (_fresh, db) = fresh_db().await;
    let new = new_video(VideoStatus::Uploading);
    db.create_video(&new).await.unwrap();
    db.enqueue(new.id, JobKind::Process).await.unwrap();
    let first = db.claim("w", LEASE, Pool::Any).await.unwrap().unwrap();
    db.complete(&first).await.unwrap();

    // A worker waits for work; the finished upload wakes it.
    let waiter = {
        let db = db.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            db.wait_for_work(Duration::from_secs(30)).await;
            start.elapsed()
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiter.is_finished(), "nothing to do yet");
    assert!(db.upload_finished(new.id).await.unwrap());
    let waited = tokio::time::timeout(Duration::from_secs(10), waiter).await.expect("woken").unwrap();
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
    let job = db.claim("w", LEASE, Pool::Any).await.unwrap().expect("a new processing job");
    assert_eq!((job.video_id, job.kind, job.attempt), (new.id, JobKind::Process, 1));
    assert_ne!(job.id, first.id);
}

#[tokio::test]
async fn upload_finished_leaves_other_videos_alone() {
    let (_fresh, db) = fresh_db().await;
    // Abandoned (its upload expired or was cancelled) before its last byte.
    let abandoned = new_video(VideoStatus::Uploading);
    db.create_video(&abandoned).await.unwrap();
    db.update_video(abandoned.id, &VideoUpdate::failed(UPLOAD_ABANDONED, "The upload was not finished."))
        .await
        .unwrap();
    // Complete from the start.
    let plain = new_video(VideoStatus::Processing);
    db.create_video(&plain).await.unwrap();
    while let Some(job) = db.claim("w", LEASE, Pool::Any).await.unwrap() {
        db.complete(&job).await.unwrap();
    }

    assert!(!db.upload_finished(abandoned.id).await.unwrap());
    assert!(!db.upload_finished(plain.id).await.unwrap());
    assert_eq!(db.get_video(abandoned.id).await.unwrap().unwrap().status, VideoStatus::Error);
    assert_eq!(db.get_video(plain.id).await.unwrap().unwrap().status, VideoStatus::Processing);
    assert!(db.claim("w", LEASE, Pool::Any).await.unwrap().is_none(), "no job for either");
}

#[tokio::test]
async fn playable_seconds_are_clamped_and_nan_ignored_and_delivery_kept() {
    let (_fresh, db) = fresh_db().await;
    let new = new_video(VideoStatus::Uploading);
    db.create_video(&new).await.unwrap();
    let seconds = |s| VideoUpdate { playable_seconds: Some(s), ..Default::default() };
    let read = async || db.get_video(new.id).await.unwrap().unwrap();

    db.update_video(new.id, &seconds(12.5)).await.unwrap();
    assert_eq!(read().await.playable_seconds, 12.5);
    db.update_video(new.id, &seconds(f64::NAN)).await.unwrap();
    db.update_video(new.id, &seconds(f64::INFINITY)).await.unwrap();
    assert_eq!(read().await.playable_seconds, 12.5, "not a number of seconds: ignored");
    db.update_video(new.id, &seconds(-4.0)).await.unwrap();
    assert_eq!(read().await.playable_seconds, 0.0);

    let original = VideoUpdate { delivery: Some(Delivery::Original), ..Default::default() };
    db.update_video(new.id, &original).await.unwrap();
    db.update_video(new.id, &VideoUpdate { progress: Some(0.5), ..Default::default() }).await.unwrap();
    let v = read().await;
    assert_eq!((v.delivery, v.progress, v.status), (Delivery::Original, 0.5, VideoStatus::Uploading));
}

#[tokio::test]
async fn upload_records_keep_their_layout_and_refuse_an_index_outside_the_file() {
    let (_fresh, db) = fresh_db().await;
    let index_first = UploadRecord { index_offset: Some(900), ..upload(VideoId::new()) };
    db.create_upload(&index_first).await.unwrap();
    assert_eq!(db.get_upload(index_first.id).await.unwrap(), Some(index_first.clone()));
    let part = UploadRecord { partial: true, ..upload(VideoId::new()) };
    db.create_upload(&part).await.unwrap();
    assert_eq!(db.get_upload(part.id).await.unwrap(), Some(part));

    for bad in [0, 1_000, 5_000] {
        let record = UploadRecord { index_offset: Some(bad), ..upload(VideoId::new()) };
        let refused = db.create_upload(&record).await;
        assert!(matches!(refused, Err(RepoError::Unavailable(_))), "index offset {bad}: {refused:?}");
        assert!(!db.upload_exists(record.id).await.unwrap());
    }
}

/// Follows uploads on `db` for up to 10 s in a task; returns how long it waited.
fn follow(db: &Db) -> JoinHandle<Duration> {
    let db = db.clone();
    tokio::spawn(async move {
        let start = Instant::now();
        db.wait_for_progress(Duration::from_secs(10)).await;
        start.elapsed()
    })
}

/// Checks that `change`, made while a follower waits on `follower`, wakes it promptly.
async fn wakes(follower: &Db, what: &str, change: impl AsyncFnOnce()) {
    let waiter = follow(follower);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiter.is_finished(), "{what}: woken before the change");
    change().await;
    let waited = tokio::time::timeout(Duration::from_secs(8), waiter).await.expect(what).unwrap();
    assert!(waited < Duration::from_secs(5), "{what}: waited {waited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_progress_wakes_on_every_change_a_follower_cares_about() {
    let (_fresh, db) = fresh_db().await;
    let new = new_video(VideoStatus::Uploading);
    db.create_video(&new).await.unwrap();
    let record = upload(new.id);
    db.create_upload(&record).await.unwrap();

    wakes(&db, "offset", async || assert!(db.set_upload_offset(new.id, 500, record.expires_at).await.unwrap())).await;
    let status = VideoUpdate { status: Some(VideoStatus::Uploading), ..Default::default() };
    wakes(&db, "status", async || assert!(db.update_video(new.id, &status).await.unwrap())).await;
    wakes(&db, "upload deleted", async || assert!(db.delete_upload(new.id).await.unwrap())).await;
    wakes(&db, "upload finished", async || assert!(db.upload_finished(new.id).await.unwrap())).await;
    wakes(&db, "video deleted", async || assert!(db.delete_video(new.id).await.unwrap())).await;
}

#[tokio::test]
async fn wait_for_progress_waits_its_max_when_no_upload_changes() {
    let (_fresh, db) = fresh_db().await;
    let new = new_video(VideoStatus::Uploading);
    db.create_video(&new).await.unwrap();
    let waiter = {
        let db = db.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            db.wait_for_progress(Duration::from_millis(600)).await;
            start.elapsed()
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Neither a change of progress nor one to an unknown upload is news to a follower.
    db.update_video(new.id, &VideoUpdate { progress: Some(0.5), ..Default::default() }).await.unwrap();
    assert!(!db.set_upload_offset(VideoId::new(), 1, Utc::now()).await.unwrap());
    let waited = waiter.await.unwrap();
    assert!(waited >= Duration::from_millis(600), "woken after {waited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_progress_wakes_followers_in_another_process() {
    if backend() != Backend::Postgres {
        eprintln!("skipped: a SQLite database serves one process (set {} to test PostgreSQL)", common::ENV);
        return;
    }
    let (fresh, one) = fresh_db().await;
    let two = open_database(&fresh.url, QueueSettings::default()).await.unwrap();
    let new = new_video(VideoStatus::Uploading);
    one.create_video(&new).await.unwrap();
    let record = upload(new.id);
    one.create_upload(&record).await.unwrap();

    wakes(&one, "offset, from another process", async || {
        assert!(two.set_upload_offset(new.id, 500, record.expires_at).await.unwrap())
    })
    .await;
    wakes(&two, "offset, from the first process", async || {
        assert!(one.set_upload_offset(new.id, 600, record.expires_at).await.unwrap())
    })
    .await;
    wakes(&one, "upload finished, from another process", async || assert!(two.upload_finished(new.id).await.unwrap()))
        .await;
    two.close().await;
}

#[tokio::test]
async fn live_and_settled_workers_take_their_own_jobs() {
    let (_fresh, db) = fresh_db().await;
    let uploading = new_video(VideoStatus::Uploading);
    db.create_video(&uploading).await.unwrap();
    db.enqueue(uploading.id, JobKind::Process).await.unwrap();
    let complete = new_video(VideoStatus::Processing);
    db.create_video(&complete).await.unwrap();

    // A worker for finished uploads never waits on an uploader; one for live uploads takes only those.
    let settled = db.claim("settled", LEASE, Pool::Settled).await.unwrap().expect("the complete video's job");
    assert_eq!(settled.video_id, complete.id);
    assert!(db.claim("settled", LEASE, Pool::Settled).await.unwrap().is_none(), "the live job is not for it");
    let live = db.claim("live", LEASE, Pool::Live).await.unwrap().expect("the uploading video's job");
    assert_eq!(live.video_id, uploading.id);
    db.complete(&live).await.unwrap();

    // Once complete, its next job is a settled one.
    assert!(db.upload_finished(uploading.id).await.unwrap());
    assert!(db.claim("live", LEASE, Pool::Live).await.unwrap().is_none());
    let after = db.claim("settled", LEASE, Pool::Settled).await.unwrap().expect("its job after the upload");
    assert_eq!(after.video_id, uploading.id);
}
