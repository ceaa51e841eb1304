//! Uploads cannot starve the rest of the database's users (PostgreSQL, when `FLICK_TEST_DATABASE_URL` names a
//! server; these are no-ops on SQLite, whose locks are files and whose writes take turns anyway): every upload lock of
//! a process shares one session, and upload queries use at most half the pool.

mod common;

use std::time::Duration;

use chrono::Utc;
use common::{backend, fresh_db};
use flick_domain::ports::UploadRecord;
use flick_domain::{NewVideo, ShareId, VideoId, VideoStatus};
use flick_storage::{Backend, QueueSettings, open_database};
use sqlx::Connection;

/// Sessions the process may open: its pool (10), its listener and its lock keeper.
const SESSIONS_AT_MOST: i64 = 12;

fn postgres_only() -> bool {
    if backend() != Backend::Postgres {
        eprintln!("PostgreSQL only (FLICK_TEST_DATABASE_URL): skipped");
        return false;
    }
    true
}

async fn sessions(url: &str) -> i64 {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let n = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'flick'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    n
}

#[tokio::test]
async fn a_hundred_upload_locks_hold_one_session_and_still_exclude_other_processes() {
    if !postgres_only() {
        return;
    }
    let (fresh, one) = fresh_db().await;
    let two = open_database(&fresh.url, QueueSettings::default()).await.unwrap();
    let ids: Vec<VideoId> = (0..100).map(|_| VideoId::new()).collect();
    let mut held = Vec::new();
    for id in &ids {
        // Each take answers at once: none waits for a connection of its own.
        let lock = tokio::time::timeout(Duration::from_secs(5), one.try_lock_upload(*id))
            .await
            .expect("a lock is taken without waiting for a free connection")
            .unwrap();
        held.push(lock.expect("a free upload can be locked"));
    }
    assert!(sessions(&fresh.url).await <= 2 * SESSIONS_AT_MOST, "one session per lock?");
    for id in ids.iter().step_by(10) {
        assert!(one.try_lock_upload(*id).await.unwrap().is_none(), "this process already holds {id}");
        assert!(two.try_lock_upload(*id).await.unwrap().is_none(), "another process holds {id}");
    }
    drop(held);
    // Released (asynchronously, by the keeper): the other process takes them all.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut taken = Vec::new();
    for id in &ids {
        loop {
            if let Some(lock) = two.try_lock_upload(*id).await.unwrap() {
                taken.push(lock);
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "the lock of {id} was not released");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn a_lock_whose_taker_gave_up_is_released() {
    if !postgres_only() {
        return;
    }
    let (_fresh, db) = fresh_db().await;
    let id = VideoId::new();
    // Cancelled at once: the keeper may take the lock after the caller is gone, and must then let it go.
    for _ in 0..20 {
        let _ = tokio::time::timeout(Duration::from_micros(1), db.try_lock_upload(id)).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while db.try_lock_upload(id).await.unwrap().is_none() {
        assert!(tokio::time::Instant::now() < deadline, "a lock nobody holds stayed taken");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn stuck_upload_queries_leave_connections_for_readers() {
    if !postgres_only() {
        return;
    }
    let (fresh, db) = fresh_db().await;
    let video = NewVideo {
        id: VideoId::new(),
        share_id: ShareId::new(),
        status: VideoStatus::Processing,
        original_name: "v.mp4".into(),
        size_bytes: 1,
        manage_token_hash: "ab".repeat(32),
        uploader: None,
    };
    db.create_video(&video).await.unwrap();
    let now = Utc::now();
    let upload = UploadRecord {
        id: VideoId::new(),
        length: 1000,
        offset: 0,
        index_offset: None,
        partial: false,
        file_name: None,
        metadata: None,
        manage_token_hash: "cd".repeat(32),
        created_at: now,
        expires_at: now + chrono::TimeDelta::hours(1),
        uploader: None,
    };
    db.create_upload(&upload).await.unwrap();

    // Another session blocks every write to `uploads` (reads still pass): each upload query now holds its
    // connection until the block is lifted, as a slow disk or a lock storm would.
    let mut blocker = sqlx::PgConnection::connect(&fresh.url).await.unwrap();
    sqlx::raw_sql("BEGIN; LOCK TABLE uploads IN EXCLUSIVE MODE").execute(&mut blocker).await.unwrap();
    let writers: Vec<_> = (0..20u64)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move { db.set_upload_offset(upload.id, i, upload.expires_at).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The reader gets a connection well before the pool's 10 s acquire timeout.
    let read = tokio::time::timeout(Duration::from_secs(5), db.get_video(video.id)).await;
    assert!(matches!(read, Ok(Ok(Some(_)))), "a reader starved behind stuck upload queries: {read:?}");

    sqlx::raw_sql("COMMIT").execute(&mut blocker).await.unwrap();
    for writer in writers {
        assert!(writer.await.unwrap().unwrap(), "every upload query completes once unblocked");
    }
}
