//! Upgrading a database made by an earlier Flick (SQLite, or PostgreSQL when `FLICK_TEST_DATABASE_URL` names a
//! server): its rows survive the new migrations and read back as before, with the new fields at their defaults.

mod common;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{backend, fresh_url};
use flick_domain::ports::{JobKind, Pool, UploadRecord};
use flick_domain::{Access, AccessUpdate, Delivery, NewVideo, ShareId, Video, VideoFailure, VideoId, VideoStatus};
use flick_storage::{Backend, open_database};
use sqlx::migrate::Migrator;

/// The migration that made videos watchable while they upload, on either database.
const LIVE_UPLOADS: &str = "live_uploads";

/// The migration that gave links their own id and owners their access controls (issue 12), on either database.
const ACCESS: &str = "access";

/// A migrator made of the migrations before the one named `*_{before}.sql` (copied aside, so that their checksums
/// are the real ones and the upgrade sees them as applied).
async fn old_migrator(dir: &Path, before: &str) -> Migrator {
    let folder = match backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(folder);
    let mut names: Vec<String> = std::fs::read_dir(&source)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .collect();
    names.sort();
    let end = names.iter().position(|name| name.ends_with(&format!("_{before}.sql"))).expect("the migration");
    assert!(end > 0, "older migrations exist");
    for name in &names[..end] {
        std::fs::copy(source.join(name), dir.join(name)).unwrap();
    }
    Migrator::new(dir).await.unwrap()
}

/// Runs `sql` on a database migrated with `migrator` only.
async fn build_old(url: &str, migrator: &Migrator, sql: &str) {
    match backend() {
        Backend::Sqlite => {
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).unwrap().create_if_missing(true);
            std::fs::create_dir_all(options.get_filename().parent().unwrap()).unwrap();
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            migrator.run(&pool).await.unwrap();
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            migrator.run(&pool).await.unwrap();
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

/// An instant as an SQL literal of the back end under test.
fn at(ms: i64) -> String {
    match backend() {
        Backend::Sqlite => ms.to_string(),
        Backend::Postgres => format!("(TIMESTAMPTZ 'epoch' + {ms} * interval '1 millisecond')"),
    }
}

#[tokio::test]
async fn rows_of_the_previous_schema_survive_the_upgrade() {
    let fresh = fresh_url().await;
    let dir = tempfile::tempdir().unwrap();
    let migrator = old_migrator(dir.path(), LIVE_UPLOADS).await;
    let (ready, failed, waiting, upload_id) = (VideoId::new(), VideoId::new(), VideoId::new(), VideoId::new());
    let t = 1_600_000_000_123;
    let columns = "id, original_name, size_bytes, status, playable, progress, duration_seconds, width, height, \
                   has_thumbnail, error_code, error_message, manage_token_hash, created_at, updated_at";
    // `failed` and `waiting` share a millisecond: their insertion order must survive too.
    let sql = format!(
        "INSERT INTO videos ({columns}) VALUES \
           ('{ready}', 'holiday.mov', 987654321, 'ready', TRUE, 1.0, 61.042, 1920, 1080, TRUE, NULL, NULL, 'h1', \
            {created}, {updated}); \
         INSERT INTO videos ({columns}) VALUES \
           ('{failed}', 'broken.mp4', 10, 'error', FALSE, 0.25, NULL, NULL, NULL, FALSE, 'unsupported', 'No.', 'h2', \
            {later}, {later}); \
         INSERT INTO videos ({columns}) VALUES \
           ('{waiting}', 'next.mp4', 20, 'processing', FALSE, 0.0, NULL, NULL, NULL, FALSE, NULL, NULL, 'h3', \
            {later}, {later}); \
         INSERT INTO jobs (video_id, kind, state, attempts, run_at, created_at) \
           VALUES ('{waiting}', 'process', 'queued', 0, {created}, {created}); \
         INSERT INTO uploads (id, length, upload_offset, file_name, metadata, manage_token_hash, created_at, \
           expires_at) VALUES ('{upload_id}', 500, 200, 'up.mp4', 'filename dXAubXA0', 'h4', {created}, {later});",
        created = at(t),
        updated = at(t + 45_678),
        later = at(t + 100_000),
    );
    build_old(&fresh.url, &migrator, &sql).await;

    // Opening applies the new migrations.
    let db = open_database(&fresh.url, 3u32).await.unwrap();
    let time = |ms| DateTime::from_timestamp_millis(ms).unwrap();
    let expected_ready = Video {
        id: ready,
        share_id: ShareId::legacy(ready),
        original_name: "holiday.mov".into(),
        title: None,
        size_bytes: 987_654_321,
        status: VideoStatus::Ready,
        playable: true,
        playable_seconds: 0.0,
        delivery: Delivery::Stored,
        progress: 1.0,
        duration_seconds: Some(61.042),
        width: Some(1920),
        height: Some(1080),
        has_thumbnail: true,
        has_storyboard: false,
        failure: None,
        manage_token_hash: "h1".into(),
        access: Access::default(),
        deleted_at: None,
        created_at: time(t),
        updated_at: time(t + 45_678),
    };
    assert_eq!(db.get_video(ready).await.unwrap(), Some(expected_ready));
    let v = db.get_video(failed).await.unwrap().unwrap();
    assert_eq!(v.failure, Some(VideoFailure { code: "unsupported".into(), message: "No.".into() }));
    assert_eq!((v.status, v.progress, v.delivery), (VideoStatus::Error, 0.25, Delivery::Stored));
    let order: Vec<_> = db.list_videos(10, 0).await.unwrap().into_iter().map(|v| v.id).collect();
    assert_eq!(order, [waiting, failed, ready], "newest first, later insert first");
    assert_eq!(db.processing_video_ids().await.unwrap(), [waiting]);

    let upload = db.get_upload(upload_id).await.unwrap().unwrap();
    let expected_upload = UploadRecord {
        id: upload_id,
        length: 500,
        offset: 200,
        index_offset: None,
        partial: false,
        file_name: Some("up.mp4".into()),
        metadata: Some("filename dXAubXA0".into()),
        manage_token_hash: "h4".into(),
        created_at: time(t),
        expires_at: time(t + 100_000),
        uploader: None,
    };
    assert_eq!(upload, expected_upload);
    let job = db.claim("w", Duration::from_secs(30), Pool::Any).await.unwrap().expect("the queued job");
    assert_eq!((job.video_id, job.kind, job.attempt), (waiting, JobKind::Process, 1));

    // What the new schema allows works on the upgraded database.
    let live = NewVideo {
        id: VideoId::new(),
        share_id: ShareId::new(),
        status: VideoStatus::Uploading,
        original_name: "live.mp4".into(),
        size_bytes: 1,
        manage_token_hash: "h5".into(),
        uploader: None,
    };
    db.create_video(&live).await.unwrap();
    assert_eq!(db.get_video(live.id).await.unwrap().unwrap().status, VideoStatus::Uploading);
    db.close().await;

    // The rebuilt table has its indexes again (SQLite; PostgreSQL changes the table in place).
    if backend() == Backend::Sqlite {
        let pool = sqlx::SqlitePool::connect(&fresh.url).await.unwrap();
        let indexes: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'videos' ORDER BY 1",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        for index in ["videos_by_created", "videos_by_status", "videos_by_share", "videos_ending", "videos_tombstones"]
        {
            assert!(indexes.iter().any(|i| i == index), "{index} in {indexes:?}");
        }
        pool.close().await;
    }
}

#[tokio::test]
async fn links_given_out_before_share_ids_keep_working() {
    let fresh = fresh_url().await;
    let dir = tempfile::tempdir().unwrap();
    let migrator = old_migrator(dir.path(), ACCESS).await;
    let (live, ready, failed) = (VideoId::new(), VideoId::new(), VideoId::new());
    let t = 1_700_000_000_321;
    let columns = "id, original_name, size_bytes, status, playable, playable_seconds, delivery, progress, \
                   duration_seconds, width, height, has_thumbnail, error_code, error_message, manage_token_hash, \
                   created_at, updated_at";
    // `ready` and `failed` share a millisecond: their insertion order must survive the rebuild of the table.
    let sql = format!(
        "INSERT INTO videos ({columns}) VALUES \
           ('{live}', 'live.mp4', 5000, 'uploading', TRUE, 4.5, 'original', 0.0, NULL, 640, 360, FALSE, NULL, NULL, \
            'h1', {created}, {created}); \
         INSERT INTO videos ({columns}) VALUES \
           ('{ready}', 'holiday.mov', 987654321, 'ready', TRUE, 61.0, 'stored', 1.0, 61.042, 1920, 1080, TRUE, NULL, \
            NULL, 'h2', {later}, {updated}); \
         INSERT INTO videos ({columns}) VALUES \
           ('{failed}', 'broken.mp4', 10, 'error', FALSE, 0.0, 'stored', 0.25, NULL, NULL, NULL, FALSE, 'unsupported', \
            'No.', 'h3', {later}, {later}); \
         INSERT INTO jobs (video_id, kind, state, attempts, run_at, created_at) \
           VALUES ('{live}', 'process', 'queued', 0, {created}, {created});",
        created = at(t),
        later = at(t + 100_000),
        updated = at(t + 145_678),
    );
    build_old(&fresh.url, &migrator, &sql).await;

    let db = open_database(&fresh.url, 3u32).await.unwrap();
    let time = |ms| DateTime::from_timestamp_millis(ms).unwrap();
    let expected_ready = Video {
        id: ready,
        share_id: ShareId::legacy(ready),
        original_name: "holiday.mov".into(),
        title: None,
        size_bytes: 987_654_321,
        status: VideoStatus::Ready,
        playable: true,
        playable_seconds: 61.0,
        delivery: Delivery::Stored,
        progress: 1.0,
        duration_seconds: Some(61.042),
        width: Some(1920),
        height: Some(1080),
        has_thumbnail: true,
        has_storyboard: false,
        failure: None,
        manage_token_hash: "h2".into(),
        access: Access::default(),
        deleted_at: None,
        created_at: time(t + 100_000),
        updated_at: time(t + 145_678),
    };
    assert_eq!(db.get_video(ready).await.unwrap(), Some(expected_ready.clone()));
    // The old link (the video's own id) finds each old video.
    for id in [live, ready, failed] {
        let v = db.get_video_by_share(ShareId::legacy(id)).await.unwrap().expect("found by its old link");
        assert_eq!((v.id, v.share_id, v.deleted_at), (id, ShareId::legacy(id), None));
    }
    let v = db.get_video(live).await.unwrap().unwrap();
    assert_eq!((v.status, v.playable_seconds, v.delivery), (VideoStatus::Uploading, 4.5, Delivery::Original));
    let v = db.get_video(failed).await.unwrap().unwrap();
    assert_eq!(v.failure, Some(VideoFailure { code: "unsupported".into(), message: "No.".into() }));
    let order: Vec<_> = db.list_videos(10, 0).await.unwrap().into_iter().map(|v| v.id).collect();
    assert_eq!(order, [failed, ready, live], "newest first, later insert first");
    let job = db.claim("w", Duration::from_secs(30), Pool::Any).await.unwrap().expect("the queued job");
    assert_eq!((job.video_id, job.kind), (live, JobKind::Process));

    // The new columns work on the upgraded rows: a revoked link stops working, a new one works.
    let share = ShareId::new();
    assert!(db.set_share_id(ready, share).await.unwrap());
    assert!(db.get_video_by_share(ShareId::legacy(ready)).await.unwrap().is_none());
    assert_eq!(db.get_video_by_share(share).await.unwrap().map(|v| v.id), Some(ready));
    let update = AccessUpdate { title: Some("Holiday".into()), max_views: Some(Some(1)), ..Default::default() };
    let v = db.update_access(failed, &update).await.unwrap().expect("a live video");
    assert_eq!((v.title.as_deref(), v.access.max_views), (Some("Holiday"), Some(1)));
    assert_eq!(db.count_view(failed, Utc::now()).await.unwrap(), Some(1));
    assert!(db.mark_deleted(live, Utc::now()).await.unwrap());
    assert_eq!(db.tombstones().await.unwrap().len(), 1);
    // A video created now has a share id of its own, not its id.
    let new = NewVideo {
        id: VideoId::new(),
        share_id: ShareId::new(),
        status: VideoStatus::Uploading,
        original_name: "new.mp4".into(),
        size_bytes: 1,
        manage_token_hash: "h4".into(),
        uploader: None,
    };
    db.create_video(&new).await.unwrap();
    assert!(db.get_video_by_share(ShareId::legacy(new.id)).await.unwrap().is_none(), "its id is no link");
    assert_eq!(db.get_video_by_share(new.share_id).await.unwrap().map(|v| v.id), Some(new.id));
    assert_eq!(db.secret("k", b"one").await.unwrap(), b"one");
    db.close().await;
}
