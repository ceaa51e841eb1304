//! Fair use against a real database (SQLite, or PostgreSQL when `FLICK_TEST_DATABASE_URL` names a server): claims
//! take turns between uploaders, byte budgets per uploader and for the installation, and the retention policy.

mod common;

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use common::fresh_db;
use flick_domain::ports::{Budgets, OverBudget, Pool, UploadRecord};
use flick_domain::{NewVideo, ShareId, VideoId, VideoStatus, VideoUpdate};

const LEASE: Duration = Duration::from_secs(60);
const GIB: u64 = 1 << 30;

fn video_of(uploader: &str, size_bytes: u64) -> NewVideo {
    NewVideo {
        id: VideoId::new(),
        share_id: ShareId::new(),
        status: VideoStatus::Processing,
        original_name: "v.mp4".into(),
        size_bytes,
        manage_token_hash: "ab".repeat(32),
        uploader: Some(uploader.into()),
    }
}

#[tokio::test]
async fn claims_take_turns_between_uploaders_not_arrival_order() {
    let (_dir, db) = fresh_db().await;
    // A flood of five from one uploader, then one from another, then one more of the first.
    let flood: Vec<VideoId> = (0..5).map(|_| video_of("flooder", 1).id).collect();
    for id in &flood {
        db.create_video(&NewVideo { id: *id, ..video_of("flooder", 1) }).await.unwrap();
    }
    let honest = video_of("honest", 1);
    db.create_video(&honest).await.unwrap();

    // One worker finishing each job before the next claim: the flood's first, then the honest one at once.
    let first = db.claim("w", LEASE, Pool::Any).await.unwrap().unwrap();
    assert_eq!(first.video_id, flood[0]);
    db.complete(&first).await.unwrap();
    let second = db.claim("w", LEASE, Pool::Any).await.unwrap().unwrap();
    assert_eq!(second.video_id, honest.id, "the honest uploader's turn comes second, not sixth");
    db.complete(&second).await.unwrap();
    // Then the rest of the flood, oldest first.
    for id in &flood[1..] {
        let job = db.claim("w", LEASE, Pool::Any).await.unwrap().unwrap();
        assert_eq!(job.video_id, *id);
        db.complete(&job).await.unwrap();
    }
    assert!(db.claim("w", LEASE, Pool::Any).await.unwrap().is_none());

    // Two workers, jobs still running: they alternate as well.
    let (a1, a2, b1) = (video_of("a", 1), video_of("a", 1), video_of("b", 1));
    for v in [&a1, &a2, &b1] {
        db.create_video(v).await.unwrap();
    }
    let x = db.claim("w1", LEASE, Pool::Any).await.unwrap().unwrap();
    let y = db.claim("w2", LEASE, Pool::Any).await.unwrap().unwrap();
    assert_eq!((x.video_id, y.video_id), (a1.id, b1.id));
    let z = db.claim("w1", LEASE, Pool::Any).await.unwrap().unwrap();
    assert_eq!(z.video_id, a2.id);
}

#[tokio::test]
async fn byte_budgets_refuse_past_each_limit_and_forget_after_a_day() {
    let (_dir, db) = fresh_db().await;
    let now = Utc::now();
    let budgets = Budgets { uploader_per_day: 3 * GIB, uploader_unfinished: 2 * GIB, total: 0 };

    // The day's budget: 3 GiB, whatever becomes of the uploads.
    for _ in 0..3 {
        assert_eq!(db.reserve_bytes("a", GIB, false, &budgets, now).await.unwrap(), Ok(()));
    }
    assert_eq!(db.reserve_bytes("a", 1, false, &budgets, now).await.unwrap(), Err(OverBudget::Day));
    // Another uploader has its own.
    assert_eq!(db.reserve_bytes("b", GIB, false, &budgets, now).await.unwrap(), Ok(()));
    // A day later the grants have aged out; pruned, they are gone from the table as well.
    let tomorrow = now + TimeDelta::hours(24) + TimeDelta::seconds(1);
    assert_eq!(db.reserve_bytes("a", GIB, false, &budgets, tomorrow).await.unwrap(), Ok(()));
    assert_eq!(db.prune_grants(now + TimeDelta::seconds(1)).await.unwrap(), 4, "the first day's four grants");

    // Unfinished resumable uploads: 2 GiB together.
    let upload = |length: u64, partial: bool| UploadRecord {
        id: VideoId::new(),
        length,
        offset: 0,
        index_offset: None,
        partial,
        file_name: None,
        metadata: None,
        manage_token_hash: "cd".repeat(32),
        created_at: now,
        expires_at: now + TimeDelta::hours(1),
        uploader: Some("c".into()),
    };
    let open = upload(2 * GIB, false);
    assert_eq!(db.reserve_bytes("c", open.length, true, &budgets, now).await.unwrap(), Ok(()));
    db.create_upload(&open).await.unwrap();
    assert_eq!(db.reserve_bytes("c", 1, true, &budgets, now).await.unwrap(), Err(OverBudget::Unfinished));
    assert_eq!(
        db.reserve_bytes("c", 1, false, &budgets, now).await.unwrap(),
        Ok(()),
        "a plain upload is never unfinished"
    );
    db.delete_upload(open.id).await.unwrap();
    assert_eq!(db.reserve_bytes("c", GIB - 1, true, &budgets, now).await.unwrap(), Ok(()), "finished: room again");

    // The installation's total counts videos (any uploader's, or none) and the parts of concatenations.
    let total = Budgets { total: 10 * GIB, ..Budgets::default() };
    db.create_video(&video_of("x", 6 * GIB)).await.unwrap();
    db.create_video(&NewVideo { uploader: None, ..video_of("x", 2 * GIB) }).await.unwrap();
    db.create_upload(&upload(GIB, true)).await.unwrap();
    assert_eq!(db.reserve_bytes("d", GIB, false, &total, now).await.unwrap(), Ok(()), "9 GiB stored: 1 fits");
    assert_eq!(db.reserve_bytes("d", GIB + 1, false, &total, now).await.unwrap(), Err(OverBudget::Total));
    // The installation's refusal is named first, even when the uploader's day is over as well.
    let both = Budgets { uploader_per_day: 1, ..total };
    assert_eq!(db.reserve_bytes("a", 2 * GIB, false, &both, now).await.unwrap(), Err(OverBudget::Total));
}

#[tokio::test]
async fn videos_not_watched_within_the_retention_become_tombstones() {
    let (_dir, db) = fresh_db().await;
    let ready = VideoUpdate { status: Some(VideoStatus::Ready), ..Default::default() };
    let (watched, unwatched, processing) = (video_of("a", 1), video_of("a", 1), video_of("a", 1));
    for v in [&watched, &unwatched, &processing] {
        db.create_video(v).await.unwrap();
    }
    db.update_video(watched.id, &ready).await.unwrap();
    db.update_video(unwatched.id, &ready).await.unwrap();

    // Ninety days on: one was watched a day ago.
    let later = Utc::now() + TimeDelta::days(90);
    db.touch_watched(watched.id, later - TimeDelta::days(1)).await.unwrap();
    let ended = db.mark_unwatched(later - TimeDelta::days(30), later).await.unwrap();
    assert_eq!(ended, vec![unwatched.id], "only the finished video nobody watched within 30 days");
    assert!(db.get_video(unwatched.id).await.unwrap().unwrap().deleted_at.is_some());
    assert!(db.get_video(watched.id).await.unwrap().unwrap().deleted_at.is_none());
    assert!(db.get_video(processing.id).await.unwrap().unwrap().deleted_at.is_none(), "still being made");

    // A view within the hour is not written again (the time only moves hourly).
    db.touch_watched(watched.id, later - TimeDelta::days(1) + TimeDelta::minutes(30)).await.unwrap();
    let ended = db.mark_unwatched(later - TimeDelta::days(1) + TimeDelta::minutes(10), later).await.unwrap();
    assert_eq!(ended, vec![watched.id], "its last recorded view is the one a day ago");
}
