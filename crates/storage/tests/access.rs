//! "Private means private" (issue 12) against a real database (SQLite, or PostgreSQL when `FLICK_TEST_DATABASE_URL`
//! names a server): share ids apart from storage ids, the owner's access settings, view limits counted atomically,
//! tombstones, the sweep that ends expired and used-up videos, and shared secrets.

mod common;

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use common::{Db, backend, force_sql, fresh_db, fresh_url};
use flick_domain::ports::RepoError;
use flick_domain::video::LAST_VIEW_GRACE;
use flick_domain::{Access, AccessUpdate, Caption, NewVideo, ShareId, Video, VideoId, VideoStatus, VideoUpdate};
use flick_storage::{Backend, QueueSettings, open_database};

fn new_video(status: VideoStatus) -> NewVideo {
    NewVideo {
        id: VideoId::new(),
        share_id: ShareId::new(),
        status,
        original_name: "clip.mp4".into(),
        size_bytes: 1_000,
        manage_token_hash: "ab".repeat(32),
        uploader: None,
    }
}

/// Creates a `processing` video; returns it as stored.
async fn created(db: &Db) -> Video {
    let new = new_video(VideoStatus::Processing);
    db.create_video(&new).await.unwrap();
    db.get_video(new.id).await.unwrap().unwrap()
}

/// Now, at the precision the databases keep.
fn now_ms() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap()
}

fn limit(n: u32) -> AccessUpdate {
    AccessUpdate { max_views: Some(Some(n)), ..Default::default() }
}

#[tokio::test]
async fn a_video_is_found_by_its_share_id_and_not_by_its_storage_id() {
    let (_fresh, db) = fresh_db().await;
    let v = created(&db).await;
    assert_ne!(v.share_id, ShareId::legacy(v.id));
    assert_eq!(db.get_video_by_share(v.share_id).await.unwrap(), Some(v.clone()));
    assert_eq!(db.get_video_by_share(ShareId::legacy(v.id)).await.unwrap(), None, "the storage id is no link");
    assert_eq!(db.get_video_by_share(ShareId::new()).await.unwrap(), None);

    // A second video with the same share id is refused, and the first keeps its link.
    let thief = NewVideo { share_id: v.share_id, ..new_video(VideoStatus::Uploading) };
    assert!(matches!(db.create_video(&thief).await, Err(RepoError::Duplicate)));
    assert_eq!(db.get_video(thief.id).await.unwrap(), None);
    assert_eq!(db.get_video_by_share(v.share_id).await.unwrap().map(|v| v.id), Some(v.id));
}

#[tokio::test]
async fn a_new_share_id_revokes_the_old_link() {
    let (_fresh, db) = fresh_db().await;
    let v = created(&db).await;
    let other = created(&db).await;
    let share = ShareId::new();
    assert!(db.set_share_id(v.id, share).await.unwrap());
    assert_eq!(db.get_video_by_share(v.share_id).await.unwrap(), None, "the old link stops working at once");
    let after = db.get_video_by_share(share).await.unwrap().expect("the new link works");
    assert_eq!((after.id, after.share_id), (v.id, share));
    assert!(after.updated_at >= v.updated_at);

    // Another video's share id cannot be taken; an absent video has none to change.
    assert!(matches!(db.set_share_id(v.id, other.share_id).await, Err(RepoError::Duplicate)));
    assert_eq!(db.get_video(v.id).await.unwrap().unwrap().share_id, share);
    assert!(!db.set_share_id(VideoId::new(), ShareId::new()).await.unwrap());
}

#[tokio::test]
async fn update_access_changes_only_what_it_names() {
    let (_fresh, db) = fresh_db().await;
    let v = created(&db).await;
    let now = now_ms();
    let expiry = now + TimeDelta::days(7);

    let all = AccessUpdate {
        title: Some("Our holiday — 2024 🌴".into()),
        password_hash: Some(Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into())),
        // Sub-millisecond digits are dropped on both databases.
        expires_at: Some(Some(expiry + TimeDelta::microseconds(789))),
        max_views: Some(Some(3)),
        allow_download: Some(true),
    };
    let after = db.update_access(v.id, &all).await.unwrap().expect("a live video");
    let expected = Access {
        password_hash: all.password_hash.clone().unwrap(),
        expires_at: Some(expiry),
        max_views: Some(3),
        views: 0,
        last_view_at: None,
        allow_download: Some(true),
    };
    assert_eq!(after.title.as_deref(), Some("Our holiday — 2024 🌴"));
    assert_eq!(after.access, expected);
    assert!(after.updated_at >= v.updated_at);
    // What it returns is what is stored, and nothing else moved.
    let stored = db.get_video(v.id).await.unwrap().unwrap();
    assert_eq!(stored, after);
    assert_eq!(Video { title: None, access: Access::default(), updated_at: v.updated_at, ..stored }, v);

    // Nothing named, nothing changed (but the time of the change).
    let same = db.update_access(v.id, &AccessUpdate::default()).await.unwrap().unwrap();
    assert_eq!((same.title, same.access), (after.title.clone(), expected.clone()));

    // `Some(None)` clears one setting, the others stay; an empty title is no title.
    let clear = AccessUpdate {
        title: Some(String::new()),
        password_hash: Some(None),
        expires_at: Some(None),
        ..Default::default()
    };
    let cleared = db.update_access(v.id, &clear).await.unwrap().unwrap();
    assert_eq!(cleared.title, None);
    assert_eq!(cleared.access, Access { max_views: Some(3), allow_download: Some(true), ..Access::default() });
    // The download switch is turned off, never cleared back to the site's default.
    let off = AccessUpdate { allow_download: Some(false), ..Default::default() };
    assert_eq!(db.update_access(v.id, &off).await.unwrap().unwrap().access.allow_download, Some(false));

    // A title the database refuses (the HTTP layer checks first) is an error, not a truncation.
    let long = AccessUpdate { title: Some("x".repeat(201)), ..Default::default() };
    assert!(db.update_access(v.id, &long).await.is_err());
    let fits = AccessUpdate { title: Some("é".repeat(200)), ..Default::default() };
    assert_eq!(db.update_access(v.id, &fits).await.unwrap().unwrap().title, Some("é".repeat(200)));

    assert_eq!(db.update_access(VideoId::new(), &all).await.unwrap(), None, "absent");
}

#[tokio::test]
async fn setting_or_clearing_the_view_limit_counts_again_from_zero() {
    let (_fresh, db) = fresh_db().await;
    let v = created(&db).await;
    let now = now_ms();
    db.update_access(v.id, &limit(5)).await.unwrap();
    assert_eq!(db.count_view(v.id, now).await.unwrap(), Some(1));
    assert_eq!(db.count_view(v.id, now).await.unwrap(), Some(2));
    let counted = db.get_video(v.id).await.unwrap().unwrap().access;
    assert_eq!((counted.views, counted.last_view_at, counted.views_left()), (2, Some(now), Some(3)));

    // Another setting leaves the count alone.
    let title = AccessUpdate { title: Some("t".into()), expires_at: Some(Some(now)), ..Default::default() };
    assert_eq!(db.update_access(v.id, &title).await.unwrap().unwrap().access.views, 2);

    // A new limit (even the same one) starts again.
    let again = db.update_access(v.id, &limit(5)).await.unwrap().unwrap().access;
    assert_eq!((again.max_views, again.views, again.last_view_at), (Some(5), 0, None));
    assert_eq!(db.count_view(v.id, now).await.unwrap(), Some(1));

    // No limit: nothing counted, nothing to count.
    let none = AccessUpdate { max_views: Some(None), ..Default::default() };
    let unlimited = db.update_access(v.id, &none).await.unwrap().unwrap().access;
    assert_eq!((unlimited.max_views, unlimited.views, unlimited.last_view_at), (None, 0, None));
    assert_eq!(db.count_view(v.id, now).await.unwrap(), None);

    // Zero views is no limit the database takes (the HTTP layer refuses it first).
    assert!(db.update_access(v.id, &limit(0)).await.is_err());
    assert_eq!(db.update_access(v.id, &limit(u32::MAX)).await.unwrap().unwrap().access.max_views, Some(u32::MAX));
}

#[tokio::test]
async fn count_view_stops_at_the_limit() {
    let (_fresh, db) = fresh_db().await;
    let v = created(&db).await;
    let t0 = now_ms();
    assert_eq!(db.count_view(v.id, t0).await.unwrap(), None, "no limit");
    assert_eq!(db.count_view(VideoId::new(), t0).await.unwrap(), None, "absent");

    db.update_access(v.id, &limit(3)).await.unwrap();
    for n in 1..=3 {
        let at = t0 + TimeDelta::seconds(i64::from(n));
        assert_eq!(db.count_view(v.id, at).await.unwrap(), Some(n));
    }
    let last = t0 + TimeDelta::seconds(3);
    for _ in 0..3 {
        assert_eq!(db.count_view(v.id, t0 + TimeDelta::hours(1)).await.unwrap(), None, "no view left");
    }
    let access = db.get_video(v.id).await.unwrap().unwrap().access;
    assert_eq!((access.views, access.views_left(), access.last_view_at), (3, Some(0), Some(last)));
    // The last view started at `last`: within the grace it is not over, after it it is.
    assert!(!access.ended(last + LAST_VIEW_GRACE - TimeDelta::milliseconds(1)));
    assert!(access.ended(last + LAST_VIEW_GRACE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_views_never_pass_the_limit() {
    let (_fresh, db) = fresh_db().await;
    // Each video has one view left; every round, several viewers ask for it at once: exactly one gets it.
    const VIEWERS: usize = 6;
    for round in 0..10 {
        let v = created(&db).await;
        db.update_access(v.id, &limit(2)).await.unwrap();
        assert_eq!(db.count_view(v.id, now_ms()).await.unwrap(), Some(1));
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(VIEWERS));
        let tasks: Vec<_> = (0..VIEWERS)
            .map(|_| {
                let (db, barrier) = (db.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    db.count_view(v.id, now_ms()).await.unwrap()
                })
            })
            .collect();
        let mut got = Vec::new();
        for task in tasks {
            got.push(task.await.unwrap());
        }
        let granted: Vec<_> = got.iter().flatten().collect();
        assert_eq!(granted, [&2], "round {round}: {got:?}");
        assert_eq!(db.get_video(v.id).await.unwrap().unwrap().access.views, 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_views_from_two_processes_never_pass_the_limit() {
    let (fresh, one) = fresh_db().await;
    let two = open_database(&fresh.url, 3u32).await.unwrap();
    for round in 0..10 {
        let v = created(&one).await;
        one.update_access(v.id, &limit(1)).await.unwrap();
        let (a, b) = tokio::join!(
            tokio::spawn({
                let one = one.clone();
                async move { one.count_view(v.id, now_ms()).await.unwrap() }
            }),
            tokio::spawn({
                let two = two.clone();
                async move { two.count_view(v.id, now_ms()).await.unwrap() }
            })
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(matches!((a, b), (Some(1), None) | (None, Some(1))), "round {round}: {a:?} {b:?}");
    }
    two.close().await;
}

#[tokio::test]
async fn a_tombstone_is_left_out_and_refuses_the_owners_writes() {
    let (_fresh, db) = fresh_db().await;
    let processing = created(&db).await;
    let uploading = new_video(VideoStatus::Uploading);
    db.create_video(&uploading).await.unwrap();
    let ready = created(&db).await;
    db.update_video(ready.id, &VideoUpdate { status: Some(VideoStatus::Ready), ..Default::default() }).await.unwrap();
    let kept = created(&db).await;
    for v in [processing.id, ready.id] {
        db.update_access(v, &limit(4)).await.unwrap();
        db.count_view(v, now_ms()).await.unwrap();
    }

    let at = now_ms();
    for id in [processing.id, uploading.id, ready.id] {
        assert!(db.mark_deleted(id, at).await.unwrap());
        assert!(!db.mark_deleted(id, at + TimeDelta::seconds(1)).await.unwrap(), "already a tombstone");
    }
    assert!(!db.mark_deleted(VideoId::new(), at).await.unwrap(), "absent");

    // Reads by id or link still return it, marked.
    let tomb = db.get_video(processing.id).await.unwrap().expect("a tombstone is still read by id");
    assert_eq!(tomb.deleted_at, Some(at), "the first deletion's time");
    assert_eq!(db.get_video_by_share(processing.share_id).await.unwrap(), Some(tomb.clone()));
    assert!(db.exists(processing.id).await.unwrap(), "its blobs are not orphans until the purge ends");

    // Listings leave it out.
    let listed: Vec<_> = db.list_videos(10, 0).await.unwrap().into_iter().map(|v| v.id).collect();
    assert_eq!(listed, [kept.id]);
    assert_eq!(db.processing_video_ids().await.unwrap(), [kept.id]);
    assert!(db.ready_without_thumbnail().await.unwrap().is_empty());

    // The owner's writes do nothing.
    let all = AccessUpdate {
        title: Some("t".into()),
        password_hash: Some(Some("h".into())),
        expires_at: Some(None),
        max_views: Some(None),
        allow_download: Some(true),
    };
    assert_eq!(db.update_access(processing.id, &all).await.unwrap(), None);
    assert!(!db.set_share_id(processing.id, ShareId::new()).await.unwrap());
    assert_eq!(db.count_view(processing.id, now_ms()).await.unwrap(), None);
    assert_eq!(db.get_video(processing.id).await.unwrap(), Some(tomb.clone()), "unchanged");
    // Its upload finishing queues nothing.
    assert!(!db.upload_finished(uploading.id).await.unwrap());
    assert_eq!(db.get_video(uploading.id).await.unwrap().unwrap().status, VideoStatus::Uploading);

    // A worker that has not heard of it still writes harmlessly: it stays a tombstone.
    let done = VideoUpdate { status: Some(VideoStatus::Ready), has_thumbnail: Some(true), ..Default::default() };
    assert!(db.update_video(processing.id, &done).await.unwrap());
    let worked = db.get_video(processing.id).await.unwrap().unwrap();
    assert_eq!((worked.status, worked.deleted_at), (VideoStatus::Ready, Some(at)));
    assert!(db.list_videos(10, 0).await.unwrap().iter().all(|v| v.id != processing.id));

    // The purge's last step removes the row for good.
    assert!(db.delete_video(processing.id).await.unwrap());
    assert_eq!(db.get_video(processing.id).await.unwrap(), None);
    assert_eq!(db.get_video_by_share(processing.share_id).await.unwrap(), None);
}

#[tokio::test]
async fn tombstones_are_listed_oldest_first() {
    let (_fresh, db) = fresh_db().await;
    let t = now_ms();
    let (a, b, c, live) = (created(&db).await, created(&db).await, created(&db).await, created(&db).await);
    // Deleted in another order than created.
    db.mark_deleted(b.id, t - TimeDelta::hours(2)).await.unwrap();
    db.mark_deleted(c.id, t).await.unwrap();
    db.mark_deleted(a.id, t - TimeDelta::minutes(5)).await.unwrap();
    let expected = vec![(b.id, t - TimeDelta::hours(2)), (a.id, t - TimeDelta::minutes(5)), (c.id, t)];
    assert_eq!(db.tombstones().await.unwrap(), expected);
    assert!(db.delete_video(a.id).await.unwrap());
    assert_eq!(db.tombstones().await.unwrap(), [expected[0], expected[2]]);
    assert!(db.get_video(live.id).await.unwrap().unwrap().deleted_at.is_none());
}

#[tokio::test]
async fn mark_ended_takes_the_expired_and_the_used_up_past_their_grace_only() {
    let (_fresh, db) = fresh_db().await;
    let now = now_ms();
    let ms = TimeDelta::milliseconds;
    let mut cases: Vec<(&str, VideoId, bool)> = Vec::new();
    let mut case = async |name, access: AccessUpdate, views: &[DateTime<Utc>], ends| {
        let v = created(&db).await;
        db.update_access(v.id, &access).await.unwrap();
        for at in views {
            assert!(db.count_view(v.id, *at).await.unwrap().is_some(), "{name}");
        }
        cases.push((name, v.id, ends));
        v.id
    };
    let expires = |at| AccessUpdate { expires_at: Some(Some(at)), ..Default::default() };
    case("expired long ago", expires(now - TimeDelta::days(1)), &[], true).await;
    case("expires right now", expires(now), &[], true).await;
    case("expires in a moment", expires(now + ms(1)), &[], false).await;
    case("no limits", AccessUpdate::default(), &[], false).await;
    case("views left", limit(3), &[now - TimeDelta::days(2), now - TimeDelta::days(2)], false).await;
    case(
        "used up, last view past its grace",
        limit(2),
        &[now - TimeDelta::days(1), now - LAST_VIEW_GRACE - ms(1)],
        true,
    )
    .await;
    case("used up, grace ends now", limit(1), &[now - LAST_VIEW_GRACE], true).await;
    case("used up, last view still within its grace", limit(1), &[now - LAST_VIEW_GRACE + ms(1)], false).await;
    case(
        "used up but its grace runs, expired anyway",
        AccessUpdate { max_views: Some(Some(1)), ..expires(now) },
        &[now],
        true,
    )
    .await;
    let already = case("expired, already a tombstone", expires(now - TimeDelta::days(1)), &[], false).await;
    let deleted_before = now - TimeDelta::hours(3);
    assert!(db.mark_deleted(already, deleted_before).await.unwrap());
    // Used up with no time of the last view (an imported record): over.
    let imported = Video {
        id: VideoId::new(),
        share_id: ShareId::new(),
        access: Access { max_views: Some(2), views: 2, ..Access::default() },
        ..db.get_video(cases[3].1).await.unwrap().unwrap()
    };
    assert!(db.import_video(&imported).await.unwrap());
    cases.push(("used up, time of the last view unknown", imported.id, true));

    // The database agrees with the domain's rule on every case.
    for (name, id, ends) in &cases {
        let v = db.get_video(*id).await.unwrap().unwrap();
        assert_eq!(v.deleted_at.is_none() && v.access.ended(now), *ends, "Access::ended: {name}");
    }

    let ended: BTreeSet<VideoId> = db.mark_ended(now).await.unwrap().into_iter().collect();
    let expected: BTreeSet<VideoId> = cases.iter().filter(|c| c.2).map(|c| c.1).collect();
    let names =
        |ids: &BTreeSet<VideoId>| -> Vec<&str> { cases.iter().filter(|c| ids.contains(&c.1)).map(|c| c.0).collect() };
    assert_eq!(names(&ended), names(&expected));
    for (name, id, ends) in &cases {
        let v = db.get_video(*id).await.unwrap().unwrap();
        let deleted_at = if *ends {
            Some(now)
        } else if *id == already {
            Some(deleted_before)
        } else {
            None
        };
        assert_eq!(v.deleted_at, deleted_at, "{name}");
    }
    assert_eq!(db.list_videos(100, 0).await.unwrap().len(), cases.len() - expected.len() - 1);

    // Once: a second sweep at the same time finds nothing new; a later one finds the grace that has run out since.
    assert!(db.mark_ended(now).await.unwrap().is_empty());
    let later = db.mark_ended(now + ms(1)).await.unwrap();
    assert_eq!(names(&later.into_iter().collect()).len(), 2, "the moment passed and the grace ran out");
}

#[tokio::test]
async fn a_secret_is_made_once_and_shared() {
    let (fresh, db) = fresh_db().await;
    let first = db.secret("cookie-key", &[0, 1, 2, 0xfe, 0xff]).await.unwrap();
    assert_eq!(first, [0, 1, 2, 0xfe, 0xff]);
    assert_eq!(db.secret("cookie-key", b"another fresh value").await.unwrap(), first, "the stored one wins");
    assert_eq!(db.secret("other", b"").await.unwrap(), b"", "names are independent");
    assert_eq!(db.secret("other", b"x").await.unwrap(), b"");

    // Many processes asking for a new one at once all get the same.
    let two = open_database(&fresh.url, 3u32).await.unwrap();
    let tasks: Vec<_> = (0..8u8)
        .map(|i| {
            let db = if i % 2 == 0 { db.clone() } else { two.clone() };
            tokio::spawn(async move { db.secret("raced", &[i; 32]).await.unwrap() })
        })
        .collect();
    let mut got = BTreeSet::new();
    for task in tasks {
        got.insert(task.await.unwrap());
    }
    assert_eq!(got.len(), 1, "{got:?}");
    let value = got.into_iter().next().unwrap();
    assert!(value.len() == 32 && value.iter().all(|b| *b == value[0]));
    two.close().await;
}

#[tokio::test]
async fn corrupt_access_fields_are_reported_not_panicked() {
    let fresh = fresh_url().await;
    let db = open_database(&fresh.url, QueueSettings::default()).await.unwrap();
    let v = created(&db).await;
    let id = v.id;
    let set = |assignment: &str| format!("UPDATE videos SET {assignment} WHERE id = '{id}'");
    force_sql(&fresh, &set("share_id = 'NOT-A-SHARE-ID'"), &set("share_id = 'NOT-A-SHARE-ID'")).await;
    assert!(matches!(db.get_video(id).await, Err(RepoError::Corrupt(m)) if m.contains("share id")));
    force_sql(&fresh, &set("share_id = id, views = -1"), &set("share_id = id, views = -1")).await;
    assert!(matches!(db.get_video(id).await, Err(RepoError::Corrupt(m)) if m.contains("views")));
    force_sql(&fresh, &set("views = 0, max_views = 4294967296"), &set("views = 0, max_views = 4294967296")).await;
    assert!(matches!(db.list_videos(10, 0).await, Err(RepoError::Corrupt(m)) if m.contains("max_views")));
    if backend() == Backend::Sqlite {
        // An instant no date can hold (only SQLite's integers can be so far out).
        force_sql(&fresh, &set("max_views = NULL, deleted_at = 9223372036854775807"), "").await;
        assert!(matches!(db.tombstones().await, Err(RepoError::Corrupt(m)) if m.contains("deleted_at")));
        assert!(matches!(db.get_video(id).await, Err(RepoError::Corrupt(m)) if m.contains("deleted_at")));
    }
    force_sql(
        &fresh,
        "INSERT INTO secrets (name, value) VALUES ('bad', 'xyz')",
        "INSERT INTO secrets (name, value) VALUES ('bad', 'xyz')",
    )
    .await;
    assert!(matches!(db.secret("bad", b"fresh").await, Err(RepoError::Corrupt(m)) if m.contains("bad")));
    db.close().await;
}

#[tokio::test]
async fn captions_are_added_relabelled_bounded_and_go_with_the_video() {
    let (_fresh, db) = fresh_db().await;
    let v = created(&db).await;
    let caption = |lang: &str, label: &str| Caption::new(lang, label).unwrap();
    assert!(db.captions(v.id).await.unwrap().is_empty());
    assert!(db.put_caption(v.id, &caption("en", "English"), 2).await.unwrap());
    assert!(db.put_caption(v.id, &caption("fr", "Français"), 2).await.unwrap());
    // A third language is over the limit; the same language again only relabels.
    assert!(!db.put_caption(v.id, &caption("de", "Deutsch"), 2).await.unwrap());
    assert!(db.put_caption(v.id, &caption("en", "English (CC)"), 2).await.unwrap());
    assert_eq!(db.captions(v.id).await.unwrap(), [caption("en", "English (CC)"), caption("fr", "Français")]);
    assert!(db.delete_caption(v.id, "fr").await.unwrap());
    assert!(!db.delete_caption(v.id, "fr").await.unwrap());
    assert_eq!(db.captions(v.id).await.unwrap(), [caption("en", "English (CC)")]);

    // A tombstone takes none; the record's removal takes its tracks with it.
    assert!(db.mark_deleted(v.id, now_ms()).await.unwrap());
    assert!(!db.put_caption(v.id, &caption("es", "Español"), 20).await.unwrap());
    assert!(!db.put_caption(VideoId::new(), &caption("es", "Español"), 20).await.unwrap());
    assert!(db.delete_video(v.id).await.unwrap());
    assert!(db.captions(v.id).await.unwrap().is_empty());
}
