//! The `Repo` (and `UploadRepo`) against a real database (SQLite, or PostgreSQL when `FLICK_TEST_DATABASE_URL`
//! names a server).

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{Db, backend, force_sql, fresh_db, fresh_url};
use flick_domain::ports::{JobKind, JobQueue, Pool, Repo, RepoError, UploadRecord, UploadRepo, UploadWriteLock};
use flick_domain::{Access, Delivery, NewVideo, ShareId, Video, VideoFailure, VideoId, VideoStatus, VideoUpdate};
use flick_storage::{Backend, Database, QueueSettings, SqliteDb, open_database};

const LEASE: Duration = Duration::from_secs(30);

fn new_video(name: &str) -> NewVideo {
    NewVideo {
        id: VideoId::new(),
        share_id: ShareId::new(),
        status: VideoStatus::Processing,
        original_name: name.into(),
        size_bytes: 123_456_789,
        manage_token_hash: "ab".repeat(32),
        uploader: None,
    }
}

#[tokio::test]
async fn create_then_get_round_trips_every_field() {
    let (_dir, db) = fresh_db().await;
    let new = new_video("holiday (1).mp4");
    let before = Utc::now();
    db.create_video(&new).await.unwrap();
    let after = Utc::now();

    let v = db.get_video(new.id).await.unwrap().expect("inserted video");
    assert_eq!((v.id, v.share_id), (new.id, new.share_id));
    assert_eq!(v.original_name, "holiday (1).mp4");
    assert_eq!(v.title, None);
    assert_eq!(v.access, Access::default(), "no password, expiry or view limit");
    assert_eq!(v.deleted_at, None);
    assert_eq!(v.size_bytes, 123_456_789);
    assert_eq!(v.status, VideoStatus::Processing);
    assert!(!v.playable);
    assert_eq!((v.playable_seconds, v.delivery), (0.0, Delivery::Stored));
    assert_eq!(v.progress, 0.0);
    assert_eq!((v.duration_seconds, v.width, v.height), (None, None, None));
    assert!(!v.has_thumbnail);
    assert_eq!(v.failure, None);
    assert_eq!(v.manage_token_hash, new.manage_token_hash);
    assert_eq!(v.created_at, v.updated_at);
    assert_eq!(v.created_at.timestamp_subsec_nanos() % 1_000_000, 0, "stored at millisecond precision");
    assert!(v.created_at >= before - chrono::Duration::milliseconds(1) && v.created_at <= after);

    // Every field set by updates reads back exactly.
    let update = VideoUpdate {
        status: Some(VideoStatus::Ready),
        playable: Some(true),
        playable_seconds: Some(8.25),
        delivery: Some(Delivery::Original),
        progress: Some(0.5),
        duration_seconds: Some(12.345),
        width: Some(1920),
        height: Some(u32::MAX),
        has_thumbnail: Some(true),
        has_storyboard: Some(true),
        failure: None,
    };
    assert!(db.update_video(new.id, &update).await.unwrap());
    let v2 = db.get_video(new.id).await.unwrap().unwrap();
    assert_eq!(v2.status, VideoStatus::Ready);
    assert!(v2.playable && v2.has_thumbnail && v2.has_storyboard);
    assert_eq!((v2.playable_seconds, v2.delivery), (8.25, Delivery::Original));
    assert_eq!((v2.progress, v2.duration_seconds), (0.5, Some(12.345)));
    assert_eq!((v2.width, v2.height), (Some(1920), Some(u32::MAX)));
    assert_eq!(v2.created_at, v.created_at);
    assert!(v2.updated_at >= v.updated_at);
    assert!(db.get_video(VideoId::new()).await.unwrap().is_none());
    assert_eq!(db.get_video_by_share(new.share_id).await.unwrap(), Some(v2), "found by its share id too");
}

#[tokio::test]
async fn a_duplicate_import_or_create_is_refused() {
    let (_dir, db) = fresh_db().await;
    let new = new_video("a.mp4");
    db.create_video(&new).await.unwrap();
    let first = db.get_video(new.id).await.unwrap().unwrap();
    assert!(!db.import_video(&Video { original_name: "b.mp4".into(), ..first.clone() }).await.unwrap());
    assert!(matches!(db.create_video(&new).await, Err(RepoError::Duplicate)));
    assert_eq!(db.get_video(new.id).await.unwrap(), Some(first));
}

#[tokio::test]
async fn create_video_queues_a_claimable_process_job() {
    let (_dir, db) = fresh_db().await;
    let new = new_video("a.mp4");
    db.create_video(&new).await.unwrap();

    let v = db.get_video(new.id).await.unwrap().expect("created video");
    assert_eq!((v.status, v.original_name.as_str()), (VideoStatus::Processing, "a.mp4"));
    let job = db.claim("w", LEASE, Pool::Any).await.unwrap().expect("its processing job");
    assert_eq!((job.video_id, job.kind, job.attempt), (new.id, JobKind::Process, 1));
    assert!(db.claim("w", LEASE, Pool::Any).await.unwrap().is_none(), "exactly one job");
}

#[tokio::test]
async fn create_video_wakes_a_waiting_worker() {
    let (_dir, db) = fresh_db().await;
    let waiter = {
        let db = db.clone();
        tokio::spawn(async move {
            let start = std::time::Instant::now();
            db.wait_for_work(Duration::from_secs(30)).await;
            start.elapsed()
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    db.create_video(&new_video("a.mp4")).await.unwrap();
    let waited = tokio::time::timeout(Duration::from_secs(10), waiter).await.expect("woken").unwrap();
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
}

#[tokio::test]
async fn create_video_with_a_taken_id_is_refused_and_queues_nothing() {
    let (_dir, db) = fresh_db().await;
    // A video recorded without a job (as `flick migrate` imports one): a duplicate must not give it one.
    let bare = imported(VideoStatus::Processing, None);
    assert!(db.import_video(&bare).await.unwrap());
    let again = NewVideo { id: bare.id, ..new_video("other.mp4") };
    assert!(matches!(db.create_video(&again).await, Err(RepoError::Duplicate)));
    assert!(db.claim("w", LEASE, Pool::Any).await.unwrap().is_none(), "a refused video queues no job");
    assert_eq!(db.get_video(bare.id).await.unwrap(), Some(bare), "the first one stays");

    // Nor a second one to a video whose first job is done.
    let new = new_video("a.mp4");
    db.create_video(&new).await.unwrap();
    let job = db.claim("w", LEASE, Pool::Any).await.unwrap().unwrap();
    db.complete(&job).await.unwrap();
    assert!(matches!(db.create_video(&new).await, Err(RepoError::Duplicate)));
    assert!(db.claim("w", LEASE, Pool::Any).await.unwrap().is_none(), "no second job");
}

#[tokio::test]
async fn update_applies_only_given_fields_and_bumps_updated_at() {
    let (_dir, db) = fresh_db().await;
    let new = new_video("a.mp4");
    db.create_video(&new).await.unwrap();
    let set = VideoUpdate { width: Some(640), height: Some(360), duration_seconds: Some(3.0), ..Default::default() };
    db.update_video(new.id, &set).await.unwrap();
    let before = db.get_video(new.id).await.unwrap().unwrap();

    tokio::time::sleep(Duration::from_millis(5)).await;
    db.update_video(new.id, &VideoUpdate { progress: Some(0.25), ..Default::default() }).await.unwrap();
    let v = db.get_video(new.id).await.unwrap().unwrap();
    assert_eq!(v.progress, 0.25);
    assert_eq!((v.width, v.height, v.duration_seconds), (Some(640), Some(360), Some(3.0)), "untouched");
    assert_eq!(v.status, VideoStatus::Processing);
    assert!(v.updated_at > before.updated_at, "updated_at must move on");
}

#[tokio::test]
async fn error_is_final_and_keeps_its_first_failure() {
    let (_dir, db) = fresh_db().await;
    let new = new_video("a.mp4");
    db.create_video(&new).await.unwrap();

    db.update_video(new.id, &VideoUpdate::failed("unsupported_codec", "This codec is not supported.")).await.unwrap();
    let v = db.get_video(new.id).await.unwrap().unwrap();
    assert_eq!(v.status, VideoStatus::Error);
    let expected = VideoFailure { code: "unsupported_codec".into(), message: "This codec is not supported.".into() };
    assert_eq!(v.failure, Some(expected.clone()));

    // An update that does not touch the status keeps the failure.
    db.update_video(new.id, &VideoUpdate { progress: Some(1.0), ..Default::default() }).await.unwrap();
    assert_eq!(db.get_video(new.id).await.unwrap().unwrap().failure, Some(expected.clone()));

    // A worker that had not heard of the failure (an abandoned upload, say) cannot bring the video back, nor
    // replace why it failed.
    let back = VideoUpdate { status: Some(VideoStatus::Ready), playable: Some(true), ..Default::default() };
    db.update_video(new.id, &back).await.unwrap();
    db.update_video(new.id, &VideoUpdate::failed("source_missing", "Gone.")).await.unwrap();
    let v = db.get_video(new.id).await.unwrap().unwrap();
    assert_eq!(v.status, VideoStatus::Error);
    assert_eq!(v.failure, Some(expected));
}

#[tokio::test]
async fn a_status_other_than_error_clears_nothing_it_should_not() {
    let (_dir, db) = fresh_db().await;
    let new = new_video("b.mp4");
    db.create_video(&new).await.unwrap();
    let ready = VideoUpdate { status: Some(VideoStatus::Ready), ..Default::default() };
    db.update_video(new.id, &ready).await.unwrap();
    let v = db.get_video(new.id).await.unwrap().unwrap();
    assert_eq!((v.status, v.failure), (VideoStatus::Ready, None));
}

#[tokio::test]
async fn a_failure_is_only_stored_with_the_error_status() {
    let (_fresh, db) = fresh_db().await;
    let new = new_video("a.mp4");
    db.create_video(&new).await.unwrap();
    // A failure sent without the error status does not attach to a processing video.
    let update =
        VideoUpdate { failure: Some(VideoFailure { code: "c".into(), message: "m".into() }), ..Default::default() };
    assert!(db.update_video(new.id, &update).await.unwrap());
    assert_eq!(db.get_video(new.id).await.unwrap().unwrap().failure, None);
}

#[tokio::test]
async fn progress_is_clamped_and_nan_ignored() {
    let (_dir, db) = fresh_db().await;
    let new = new_video("a.mp4");
    db.create_video(&new).await.unwrap();
    let progress = |p| VideoUpdate { progress: Some(p), ..Default::default() };

    db.update_video(new.id, &progress(7.0)).await.unwrap();
    assert_eq!(db.get_video(new.id).await.unwrap().unwrap().progress, 1.0);
    db.update_video(new.id, &progress(-3.0)).await.unwrap();
    assert_eq!(db.get_video(new.id).await.unwrap().unwrap().progress, 0.0);
    db.update_video(new.id, &progress(0.4)).await.unwrap();
    db.update_video(new.id, &progress(f64::NAN)).await.unwrap();
    assert_eq!(db.get_video(new.id).await.unwrap().unwrap().progress, 0.4);
}

#[tokio::test]
async fn update_and_delete_of_unknown_video_return_false() {
    let (_dir, db) = fresh_db().await;
    let ghost = VideoId::new();
    assert!(!db.update_video(ghost, &VideoUpdate { playable: Some(true), ..Default::default() }).await.unwrap());
    assert!(!db.delete_video(ghost).await.unwrap());

    let new = new_video("a.mp4");
    db.create_video(&new).await.unwrap();
    assert!(db.exists(new.id).await.unwrap());
    assert!(db.delete_video(new.id).await.unwrap());
    assert!(!db.exists(new.id).await.unwrap());
    assert!(db.get_video(new.id).await.unwrap().is_none());
    assert!(!db.delete_video(new.id).await.unwrap());
}

#[tokio::test]
async fn list_is_newest_first_with_limit_and_offset() {
    let (_dir, db) = fresh_db().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let new = new_video(&format!("{i}.mp4"));
        db.create_video(&new).await.unwrap();
        ids.push(new.id);
        // Some inserts share a millisecond, some do not: order must hold either way.
        if i % 2 == 0 {
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
    }
    ids.reverse();
    let all: Vec<_> = db.list_videos(100, 0).await.unwrap().into_iter().map(|v| v.id).collect();
    assert_eq!(all, ids);
    let page: Vec<_> = db.list_videos(2, 1).await.unwrap().into_iter().map(|v| v.id).collect();
    assert_eq!(page, ids[1..3]);
    assert!(db.list_videos(10, 5).await.unwrap().is_empty());
    assert!(db.list_videos(0, 0).await.unwrap().is_empty());
}

#[tokio::test]
async fn start_up_queries_find_processing_and_thumbnail_less_videos() {
    let (_dir, db) = fresh_db().await;
    let processing = new_video("p.mp4");
    let uploading = NewVideo { status: VideoStatus::Uploading, ..new_video("u.mp4") };
    let ready_bare = new_video("r.mp4");
    let ready_thumb = new_video("t.mp4");
    let failed = new_video("e.mp4");
    for v in [&processing, &uploading, &ready_bare, &ready_thumb, &failed] {
        db.create_video(v).await.unwrap();
    }
    let ready =
        |thumb| VideoUpdate { status: Some(VideoStatus::Ready), has_thumbnail: Some(thumb), ..Default::default() };
    db.update_video(ready_bare.id, &ready(false)).await.unwrap();
    db.update_video(ready_thumb.id, &ready(true)).await.unwrap();
    db.update_video(failed.id, &VideoUpdate::failed("x", "y")).await.unwrap();

    assert_eq!(db.processing_video_ids().await.unwrap(), vec![processing.id]);
    assert_eq!(db.ready_without_thumbnail().await.unwrap(), vec![ready_bare.id]);
}

/// A record as an older installation holds it: every field away from what `create_video` would set.
fn imported(status: VideoStatus, failure: Option<VideoFailure>) -> Video {
    let created_at = DateTime::from_timestamp_millis(1_600_000_000_123).unwrap();
    let ms = chrono::Duration::milliseconds;
    Video {
        id: VideoId::new(),
        share_id: ShareId::new(),
        original_name: "old holiday (2).mov".into(),
        title: Some("Our holiday — 2020 🌴".into()),
        size_bytes: 987_654_321,
        status,
        playable: true,
        playable_seconds: 42.5,
        delivery: Delivery::Original,
        progress: 0.625,
        duration_seconds: Some(61.042),
        width: Some(1080),
        height: Some(u32::MAX),
        has_thumbnail: status == VideoStatus::Ready,
        has_storyboard: status == VideoStatus::Ready,
        failure,
        manage_token_hash: "cd".repeat(32),
        access: Access {
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into()),
            expires_at: Some(created_at + ms(86_400_000)),
            max_views: Some(u32::MAX),
            views: u32::MAX - 1,
            last_view_at: Some(created_at + ms(1_234)),
            allow_download: Some(true),
        },
        deleted_at: None,
        created_at,
        updated_at: created_at + ms(45_678),
    }
}

#[tokio::test]
async fn import_video_round_trips_the_exact_record_once() {
    let (_dir, db) = fresh_db().await;
    let ready = imported(VideoStatus::Ready, None);
    let failed = imported(VideoStatus::Error, Some(VideoFailure { code: "unsupported".into(), message: "No.".into() }));
    let bare = Video {
        title: None,
        access: Access::default(),
        playable: false,
        playable_seconds: 0.0,
        delivery: Delivery::Stored,
        progress: 0.0,
        duration_seconds: None,
        width: None,
        height: None,
        ..imported(VideoStatus::Processing, None)
    };
    // A tombstone moves as one (its purge was not finished where it came from).
    let tombstone = Video { deleted_at: Some(failed.created_at + chrono::Duration::days(3)), ..failed.clone() };
    let tombstone = Video { id: VideoId::new(), share_id: ShareId::new(), ..tombstone };
    for video in [&ready, &failed, &bare, &tombstone] {
        assert!(db.import_video(video).await.unwrap(), "{:?} inserted", video.status);
        assert_eq!(db.get_video(video.id).await.unwrap().as_ref(), Some(video), "read back exactly");
        assert_eq!(db.get_video_by_share(video.share_id).await.unwrap().as_ref(), Some(video), "by its link too");
    }
    assert_eq!(db.list_videos(10, 0).await.unwrap().len(), 3, "the tombstone is not listed");
    assert_eq!(db.tombstones().await.unwrap(), [(tombstone.id, tombstone.deleted_at.unwrap())]);

    // Another video with a share id already taken is refused, and the first keeps its link.
    let thief = Video { id: VideoId::new(), ..bare.clone() };
    assert!(matches!(db.import_video(&thief).await, Err(RepoError::Duplicate)));
    assert_eq!(db.get_video_by_share(bare.share_id).await.unwrap().map(|v| v.id), Some(bare.id));

    // A second import of the same id changes nothing, whatever it says.
    let changed = Video { status: VideoStatus::Processing, has_thumbnail: false, ..ready.clone() };
    assert!(!db.import_video(&changed).await.unwrap());
    assert_eq!(db.get_video(ready.id).await.unwrap(), Some(ready.clone()));

    // The imported record lives on as usual: updates apply and bump `updated_at` past the imported one.
    assert!(db.update_video(bare.id, &VideoUpdate { progress: Some(0.5), ..Default::default() }).await.unwrap());
    let after = db.get_video(bare.id).await.unwrap().unwrap();
    assert_eq!((after.progress, after.created_at), (0.5, bare.created_at));
    assert!(after.updated_at >= bare.updated_at);
}

#[tokio::test]
async fn records_survive_close_and_reopen() {
    let fresh = fresh_url().await;
    let new = new_video("keep.mp4");
    let stored = {
        let db = open_database(&fresh.url, 3u32).await.unwrap();
        db.create_video(&new).await.unwrap();
        db.update_video(new.id, &VideoUpdate::failed("c", "m")).await.unwrap();
        let v = db.get_video(new.id).await.unwrap().unwrap();
        db.close().await;
        v
    };
    // Migrations are idempotent: opening again applies none and keeps the data.
    let db = open_database(&fresh.url, 3u32).await.unwrap();
    assert_eq!(db.get_video(new.id).await.unwrap(), Some(stored));
}

#[tokio::test]
async fn the_database_hands_out_its_narrower_ports_by_upcasting() {
    /// What the workers and the HTTP layer hold.
    struct Ports {
        repo: Arc<dyn Repo>,
        queue: Arc<dyn JobQueue>,
        uploads: Arc<dyn UploadRepo>,
    }
    async fn names(db: &dyn Database) -> Vec<String> {
        db.list_videos(10, 0).await.unwrap().into_iter().map(|v| v.original_name).collect()
    }
    let (_fresh, db) = fresh_db().await;
    let ports = Ports { repo: db.clone(), queue: db.clone(), uploads: db.clone() };
    let new = new_video("ports.mp4");
    ports.repo.create_video(&new).await.unwrap();
    assert_eq!(ports.queue.claim("w", LEASE, Pool::Any).await.unwrap().unwrap().video_id, new.id);
    assert!(!ports.uploads.upload_exists(new.id).await.unwrap());
    assert_eq!(names(&*db).await, ["ports.mp4"]);
    drop(ports);
    db.close().await;
}

#[tokio::test]
async fn open_refuses_a_bad_url() {
    assert!(SqliteDb::open("postgres://nope").await.is_err());
    assert!(flick_storage::PgDb::open("sqlite://nope.db").await.is_err());
    let err = open_database("mysql://user:secret@host/db", 3u32).await.unwrap_err().to_string();
    assert!(err.contains("unsupported database scheme") && !err.contains("secret"), "{err}");
}

#[tokio::test]
async fn a_corrupt_status_is_reported_not_panicked() {
    let (fresh, db) = fresh_db().await;
    let id = VideoId::new();
    force_video(&fresh, &id.to_string(), "exploded").await;
    assert!(matches!(db.get_video(id).await, Err(RepoError::Corrupt(m)) if m.contains("exploded")));
    assert!(matches!(db.list_videos(10, 0).await, Err(RepoError::Corrupt(_))));
}

#[tokio::test]
async fn a_corrupt_id_is_reported_not_panicked() {
    let (fresh, db) = fresh_db().await;
    force_video(&fresh, "../../etc/passwd", "processing").await;
    assert!(matches!(db.list_videos(10, 0).await, Err(RepoError::Corrupt(m)) if m.contains("passwd")));
    assert!(matches!(db.processing_video_ids().await, Err(RepoError::Corrupt(_))));
}

#[tokio::test]
async fn a_negative_size_or_dimension_is_corrupt() {
    let (fresh, db) = fresh_db().await;
    let id = VideoId::new();
    force_video(&fresh, &id.to_string(), "ready").await;
    force_sql(
        &fresh,
        &format!("UPDATE videos SET width = -1 WHERE id = '{id}'"),
        &format!("UPDATE videos SET width = -1 WHERE id = '{id}'"),
    )
    .await;
    assert!(matches!(db.get_video(id).await, Err(RepoError::Corrupt(m)) if m.contains("width")));
    force_sql(
        &fresh,
        &format!("UPDATE videos SET width = 1, size_bytes = -5 WHERE id = '{id}'"),
        &format!("UPDATE videos SET width = 1, size_bytes = -5 WHERE id = '{id}'"),
    )
    .await;
    assert!(matches!(db.get_video(id).await, Err(RepoError::Corrupt(m)) if m.contains("size")));
}

/// Writes a video row the CHECK constraints would refuse.
async fn force_video(fresh: &common::Fresh, id: &str, status: &str) {
    let columns = "id, share_id, original_name, size_bytes, status, manage_token_hash, created_at, updated_at";
    force_sql(
        fresh,
        &format!("INSERT INTO videos ({columns}) VALUES ('{id}', '{id}', 'x.mp4', 1, '{status}', 'h', 0, 0)"),
        &format!("INSERT INTO videos ({columns}) VALUES ('{id}', '{id}', 'x.mp4', 1, '{status}', 'h', now(), now())"),
    )
    .await;
}

#[tokio::test]
async fn uploads_round_trip_advance_and_expire() {
    let (_fresh, db) = fresh_db().await;
    let now = chrono::DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
    let id = VideoId::new();
    let record = UploadRecord {
        id,
        length: 100,
        offset: 0,
        index_offset: Some(80),
        partial: true,
        file_name: Some("a.mp4".into()),
        metadata: Some("filename YS5tcDQ=".into()),
        manage_token_hash: "h".into(),
        created_at: now,
        expires_at: now + chrono::Duration::seconds(60),
        uploader: None,
    };
    db.create_upload(&record).await.unwrap();
    assert!(matches!(db.create_upload(&record).await, Err(RepoError::Duplicate)));
    assert_eq!(db.get_upload(id).await.unwrap(), Some(record.clone()));
    assert!(db.set_upload_offset(id, 40, now + chrono::Duration::seconds(120)).await.unwrap());
    assert_eq!(db.get_upload(id).await.unwrap().unwrap().offset, 40);
    // The CHECK keeps an offset past the length out of the table.
    assert!(db.set_upload_offset(id, 101, now).await.is_err());
    assert!(!db.set_upload_offset(VideoId::new(), 1, now).await.unwrap());
    assert!(db.expired_uploads(now + chrono::Duration::seconds(119)).await.unwrap().is_empty());
    assert_eq!(db.expired_uploads(now + chrono::Duration::seconds(120)).await.unwrap(), vec![id]);
    assert!(db.upload_exists(id).await.unwrap());
    assert!(db.delete_upload(id).await.unwrap());
    assert!(!db.delete_upload(id).await.unwrap());
    assert!(!db.upload_exists(id).await.unwrap());
    assert_eq!(db.get_upload(id).await.unwrap(), None);
}

/// Takes the upload's lock, retrying for up to 2 s: on PostgreSQL a dropped lock is released asynchronously.
async fn lock_eventually(db: &Db, id: VideoId) -> UploadWriteLock {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        if let Some(lock) = db.try_lock_upload(id).await.unwrap() {
            return lock;
        }
        assert!(tokio::time::Instant::now() < deadline, "the lock of {id} was not released within 2 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_upload_write_lock_excludes_other_writers_until_dropped() {
    let (_fresh, db) = fresh_db().await;
    let id = VideoId::new();
    let first = db.try_lock_upload(id).await.unwrap().expect("a free upload can be locked");
    // SQLite stripes its lock files by the id's first three hex digits: another upload is one on another stripe.
    let other_id = loop {
        let o = VideoId::new();
        if o.to_string()[..3] != id.to_string()[..3] {
            break o;
        }
    };
    let other = db.try_lock_upload(other_id).await.unwrap();
    assert!(other.is_some(), "another upload's lock is independent");
    assert!(db.try_lock_upload(id).await.unwrap().is_none(), "held: a second writer is refused");
    drop(first);
    let again = lock_eventually(&db, id).await;
    assert!(db.try_lock_upload(id).await.unwrap().is_none(), "held again");
    drop(again);
    drop(lock_eventually(&db, id).await);
}

#[tokio::test]
async fn an_upload_write_lock_holds_across_processes() {
    let (fresh, one) = fresh_db().await;
    let two = open_database(&fresh.url, QueueSettings::default()).await.unwrap();
    let id = VideoId::new();

    let held = one.try_lock_upload(id).await.unwrap().expect("free");
    assert!(two.try_lock_upload(id).await.unwrap().is_none(), "the other process is refused");
    drop(held);
    // Released, not just pooled with the lock still held: the other process gets it.
    let held = lock_eventually(&two, id).await;
    assert!(one.try_lock_upload(id).await.unwrap().is_none(), "and the first one is refused in turn");
    drop(held);
    drop(lock_eventually(&one, id).await);
    two.close().await;
}

/// A lock dropped where no runtime runs is released all the same: the keeper (a task of the runtime) lets it go as
/// soon as the runtime runs again.
#[test]
fn an_upload_write_lock_dropped_outside_a_runtime_is_released() {
    if backend() != Backend::Postgres {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (_fresh, one, two, id, held) = runtime.block_on(async {
        let (fresh, one) = fresh_db().await;
        let two = open_database(&fresh.url, QueueSettings::default()).await.unwrap();
        let id = VideoId::new();
        let held = one.try_lock_upload(id).await.unwrap().expect("free");
        assert!(two.try_lock_upload(id).await.unwrap().is_none());
        (fresh, one, two, id, held)
    });
    assert!(tokio::runtime::Handle::try_current().is_err());
    drop(held);
    runtime.block_on(async {
        drop(lock_eventually(&two, id).await);
        drop(lock_eventually(&one, id).await);
    });
}

#[tokio::test]
async fn postgres_over_tls_when_the_url_requires_it() {
    if common::backend() != flick_storage::Backend::Postgres {
        eprintln!("PostgreSQL only (FLICK_TEST_DATABASE_URL): skipped");
        return;
    }
    let fresh = fresh_url().await;
    let sep = if fresh.url.contains('?') { '&' } else { '?' };
    let url = format!("{}{sep}sslmode=require", fresh.url);
    // Managed PostgreSQL services require TLS: Flick's own pool must speak it.
    let db = open_database(&url, 3).await.unwrap_or_else(|e| panic!("sslmode=require: {e}"));
    let video = new_video("tls.mp4");
    db.create_video(&video).await.unwrap();
    assert!(db.get_video(video.id).await.unwrap().is_some());
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let encrypted: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(encrypted, "the connection is not encrypted");
}
