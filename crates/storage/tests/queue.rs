//! The `JobQueue` against a real database (SQLite, or PostgreSQL when `FLICK_TEST_DATABASE_URL` names a server):
//! leases, retries, concurrency and wake-ups.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{Db, backend, force_sql, fresh_db, fresh_db_with};
use flick_domain::VideoId;
use flick_domain::ports::{JobKind, JobOutcome, Pool, QueueStats};
use flick_storage::{Backend, QueueSettings, open_database};

const LEASE: Duration = Duration::from_secs(60);

/// Settings with a 1 s first backoff: short for a test, long enough that "not yet due" is no race.
fn quick(max_attempts: u32) -> QueueSettings {
    QueueSettings { max_attempts, backoff_base: Duration::from_secs(1), backoff_cap: Duration::from_secs(10) }
}

#[tokio::test]
async fn enqueue_is_idempotent_while_queued_or_running() {
    let (_dir, db) = fresh_db().await;
    let v = VideoId::new();
    db.enqueue(v, JobKind::Process).await.unwrap();
    db.enqueue(v, JobKind::Process).await.unwrap();
    // A different kind of the same video is a different job.
    db.enqueue(v, JobKind::Thumbnail).await.unwrap();

    let first = db.claim("w", LEASE, Pool::Any).await.unwrap().unwrap();
    assert_eq!((first.video_id, first.kind, first.attempt), (v, JobKind::Process, 1));
    db.enqueue(v, JobKind::Process).await.unwrap(); // running: still a no-op
    let second = db.claim("w", LEASE, Pool::Any).await.unwrap().unwrap();
    assert_eq!(second.kind, JobKind::Thumbnail);
    assert!(db.claim("w", LEASE, Pool::Any).await.unwrap().is_none(), "no duplicate process job");

    // Once completed, the same job may be enqueued again.
    db.complete(&first).await.unwrap();
    db.enqueue(v, JobKind::Process).await.unwrap();
    assert!(db.claim("w", LEASE, Pool::Any).await.unwrap().is_some());
}

#[tokio::test]
async fn claim_returns_the_oldest_due_job() {
    let (_dir, db) = fresh_db().await;
    let videos: Vec<_> = (0..3).map(|_| VideoId::new()).collect();
    for v in &videos {
        db.enqueue(*v, JobKind::Process).await.unwrap();
    }
    for v in &videos {
        let job = db.claim("w", LEASE, Pool::Any).await.unwrap().unwrap();
        assert_eq!(job.video_id, *v);
        assert_eq!(job.lease_id.len(), 32);
    }
    assert!(db.claim("w", LEASE, Pool::Any).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_never_share_a_job() {
    let (_dir, db) = fresh_db().await;
    let mut enqueued = HashSet::new();
    for _ in 0..50 {
        let v = VideoId::new();
        db.enqueue(v, JobKind::Process).await.unwrap();
        enqueued.insert(v);
    }
    let tasks: Vec<_> = (0..16)
        .map(|n| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(job) = db.claim(&format!("worker-{n}"), LEASE, Pool::Any).await.unwrap() {
                    mine.push(job);
                    tokio::task::yield_now().await;
                }
                mine
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for t in tasks {
        claimed.extend(t.await.unwrap());
    }
    assert_eq!(claimed.len(), 50, "every job claimed exactly once");
    let ids: HashSet<_> = claimed.iter().map(|j| j.id).collect();
    assert_eq!(ids.len(), 50, "no job claimed twice");
    let videos: HashSet<_> = claimed.iter().map(|j| j.video_id).collect();
    assert_eq!(videos, enqueued);
    assert!(claimed.iter().all(|j| j.attempt == 1));
}

#[tokio::test]
async fn an_expired_lease_lets_another_worker_reclaim() {
    let (_dir, db) = fresh_db().await;
    let v = VideoId::new();
    db.enqueue(v, JobKind::Process).await.unwrap();
    let first = db.claim("a", LEASE, Pool::Any).await.unwrap().unwrap();
    assert!(db.claim("b", LEASE, Pool::Any).await.unwrap().is_none(), "lease still held");
    // The holder's heartbeat sets the expiry: a short one makes the lease lapse soon.
    assert!(db.heartbeat(&first, Duration::from_millis(200)).await.unwrap());

    tokio::time::sleep(Duration::from_millis(400)).await;
    let second = db.claim("b", LEASE, Pool::Any).await.unwrap().expect("expired lease is claimable");
    assert_eq!(second.id, first.id);
    assert_eq!(second.attempt, 2);
    assert_ne!(second.lease_id, first.lease_id);

    // The first holder has lost the job: nothing it does touches the new claim.
    assert!(!db.heartbeat(&first, LEASE).await.unwrap());
    db.complete(&first).await.unwrap();
    assert_eq!(db.fail(&first, "late", false).await.unwrap(), JobOutcome::WillRetry { after: Duration::ZERO });
    assert!(db.heartbeat(&second, LEASE).await.unwrap(), "second claim is intact");
    db.complete(&second).await.unwrap();
    assert!(!db.heartbeat(&second, LEASE).await.unwrap(), "completed job is gone");
    assert!(db.claim("c", LEASE, Pool::Any).await.unwrap().is_none());
}

#[tokio::test]
async fn a_retryable_failure_backs_off_then_runs_again() {
    let (_dir, db) = fresh_db_with(quick(3)).await;
    let v = VideoId::new();
    db.enqueue(v, JobKind::Process).await.unwrap();
    let job = db.claim("w", LEASE, Pool::Any).await.unwrap().unwrap();
    let outcome = db.fail(&job, "ffmpeg crashed", true).await.unwrap();
    assert_eq!(outcome, JobOutcome::WillRetry { after: Duration::from_secs(1) });
    assert!(!db.heartbeat(&job, LEASE).await.unwrap(), "lease cleared");
    assert!(db.claim("w", LEASE, Pool::Any).await.unwrap().is_none(), "not claimable before its backoff");

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let again = db.claim("w", LEASE, Pool::Any).await.unwrap().expect("due after backoff");
    assert_eq!((again.id, again.attempt), (job.id, 2));
    // Backoff grows fourfold.
    assert_eq!(db.fail(&again, "again", true).await.unwrap(), JobOutcome::WillRetry { after: Duration::from_secs(4) });
}

#[tokio::test]
async fn gives_up_after_max_attempts_or_when_not_retryable() {
    let settings = QueueSettings { max_attempts: 2, backoff_base: Duration::ZERO, backoff_cap: Duration::ZERO };
    let (_dir, db) = fresh_db_with(settings).await;
    let v = VideoId::new();
    db.enqueue(v, JobKind::Process).await.unwrap();
    let job = db.claim("w", LEASE, Pool::Any).await.unwrap().unwrap();
    assert!(matches!(db.fail(&job, "transient", true).await.unwrap(), JobOutcome::WillRetry { .. }));
    let job = db.claim("w", LEASE, Pool::Any).await.unwrap().unwrap();
    assert_eq!(job.attempt, 2);
    assert_eq!(db.fail(&job, "transient twice", true).await.unwrap(), JobOutcome::GaveUp);
    assert!(db.claim("w", LEASE, Pool::Any).await.unwrap().is_none(), "a given-up job never runs again");
    assert_eq!(db.last_error_of(job.id).await.unwrap().as_deref(), Some("transient twice"));

    // A permanent failure gives up at once, whatever attempts remain.
    let other = VideoId::new();
    db.enqueue(other, JobKind::Thumbnail).await.unwrap();
    let job = db.claim("w", LEASE, Pool::Any).await.unwrap().unwrap();
    assert_eq!(db.fail(&job, "not a video", false).await.unwrap(), JobOutcome::GaveUp);
    assert_eq!(db.last_error_of(job.id).await.unwrap().as_deref(), Some("not a video"));

    // A given-up job does not block a fresh enqueue of the same work.
    db.enqueue(other, JobKind::Thumbnail).await.unwrap();
    let fresh = db.claim("w", LEASE, Pool::Any).await.unwrap().expect("re-enqueued after giving up");
    assert_eq!((fresh.video_id, fresh.attempt), (other, 1));
    assert_ne!(fresh.id, job.id);
}

#[tokio::test]
async fn release_leases_of_frees_only_matching_workers() {
    let (_dir, db) = fresh_db().await;
    for _ in 0..4 {
        db.enqueue(VideoId::new(), JobKind::Process).await.unwrap();
    }
    let dead = db.claim("host%1/worker-0", LEASE, Pool::Any).await.unwrap().unwrap();
    let dead2 = db.claim("host%1/worker-1", LEASE, Pool::Any).await.unwrap().unwrap();
    // '%' and '_' would match anything under LIKE; here they are literal.
    let alive = db.claim("hostX1/worker-0", LEASE, Pool::Any).await.unwrap().unwrap();
    let alive2 = db.claim("host_1/worker-0", LEASE, Pool::Any).await.unwrap().unwrap();

    let mut owners = db.lease_owners().await.unwrap();
    owners.sort();
    assert_eq!(owners, ["host%1/worker-0", "host%1/worker-1", "hostX1/worker-0", "host_1/worker-0"]);
    assert_eq!(db.release_leases_of("host%1/").await.unwrap(), 2);
    let mut owners = db.lease_owners().await.unwrap();
    owners.sort();
    assert_eq!(owners, ["hostX1/worker-0", "host_1/worker-0"]);
    assert!(!db.heartbeat(&dead, LEASE).await.unwrap());
    assert!(db.heartbeat(&alive, LEASE).await.unwrap());
    assert!(db.heartbeat(&alive2, LEASE).await.unwrap());

    let mut reclaimed: Vec<_> = vec![
        db.claim("new", LEASE, Pool::Any).await.unwrap().unwrap(),
        db.claim("new", LEASE, Pool::Any).await.unwrap().unwrap(),
    ];
    reclaimed.sort_by_key(|j| j.id);
    assert_eq!(reclaimed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![dead.id, dead2.id]);
    // The interrupted claim stays counted; the release itself adds none.
    assert!(reclaimed.iter().all(|j| j.attempt == 2));
    assert!(db.claim("new", LEASE, Pool::Any).await.unwrap().is_none());
    assert_eq!(db.release_leases_of("nobody").await.unwrap(), 0);
}

#[tokio::test]
async fn cancel_video_drops_all_its_jobs() {
    let (_dir, db) = fresh_db().await;
    let gone = VideoId::new();
    let kept = VideoId::new();
    db.enqueue(gone, JobKind::Process).await.unwrap();
    db.enqueue(kept, JobKind::Process).await.unwrap();
    db.enqueue(gone, JobKind::Thumbnail).await.unwrap();
    let running = db.claim("w", LEASE, Pool::Any).await.unwrap().unwrap();
    assert_eq!(running.video_id, gone);

    db.cancel_video(gone).await.unwrap();
    assert!(!db.heartbeat(&running, LEASE).await.unwrap(), "the running job's lease is lost");
    let next = db.claim("w", LEASE, Pool::Any).await.unwrap().unwrap();
    assert_eq!(next.video_id, kept);
    assert!(db.claim("w", LEASE, Pool::Any).await.unwrap().is_none());
    db.cancel_video(VideoId::new()).await.unwrap();
}

#[tokio::test]
async fn stats_count_jobs_by_state_and_how_long_due_ones_wait() {
    let settings = QueueSettings { max_attempts: 3, backoff_base: Duration::from_secs(60), backoff_cap: LEASE };
    let (_dir, db) = fresh_db_with(settings).await;
    assert_eq!(db.stats().await.unwrap(), QueueStats::default(), "an empty queue");

    for _ in 0..4 {
        db.enqueue(VideoId::new(), JobKind::Process).await.unwrap();
    }
    let _running = db.claim("w", LEASE, Pool::Any).await.unwrap().unwrap();
    let backing_off = db.claim("w", LEASE, Pool::Any).await.unwrap().unwrap();
    assert!(matches!(db.fail(&backing_off, "transient", true).await.unwrap(), JobOutcome::WillRetry { .. }));
    let given_up = db.claim("w", LEASE, Pool::Any).await.unwrap().unwrap();
    assert_eq!(db.fail(&given_up, "not a video", false).await.unwrap(), JobOutcome::GaveUp);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let stats = db.stats().await.unwrap();
    // The job backing off is queued but not due: it does not wait for a worker, so its age is not counted.
    assert_eq!((stats.queued, stats.running, stats.failed, stats.due), (2, 1, 1, 1), "{stats:?}");
    assert!(stats.oldest_due_wait >= Duration::from_millis(250), "{stats:?}");
    assert!(stats.oldest_due_wait < Duration::from_secs(30), "{stats:?}");

    let last = db.claim("w", LEASE, Pool::Any).await.unwrap().unwrap();
    db.complete(&last).await.unwrap();
    let stats = db.stats().await.unwrap();
    assert_eq!((stats.queued, stats.running, stats.due, stats.oldest_due_wait), (1, 1, 0, Duration::ZERO));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_work_wakes_promptly_on_enqueue() {
    let (_dir, db) = fresh_db().await;
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
    db.enqueue(VideoId::new(), JobKind::Process).await.unwrap();
    let waited = tokio::time::timeout(Duration::from_secs(10), waiter).await.expect("woken").unwrap();
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
}

#[tokio::test]
async fn wait_for_work_returns_at_once_when_a_job_is_due_and_times_out_when_idle() {
    let (_dir, db) = fresh_db().await;
    let start = Instant::now();
    db.wait_for_work(Duration::from_millis(150)).await;
    assert!(start.elapsed() >= Duration::from_millis(150), "idle: waits the full time");

    // Enqueued before the wait began (no notification to catch): still returns at once.
    db.enqueue(VideoId::new(), JobKind::Process).await.unwrap();
    let start = Instant::now();
    db.wait_for_work(Duration::from_secs(30)).await;
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn wait_for_work_wakes_when_a_backoff_ends() {
    let (_dir, db) = fresh_db_with(quick(3)).await;
    db.enqueue(VideoId::new(), JobKind::Process).await.unwrap();
    let job = db.claim("w", LEASE, Pool::Any).await.unwrap().unwrap();
    db.fail(&job, "transient", true).await.unwrap();
    let start = Instant::now();
    db.wait_for_work(Duration::from_secs(30)).await;
    let waited = start.elapsed();
    assert!(waited < Duration::from_secs(5), "woke for the retry after {waited:?}");
    assert!(db.claim("w", LEASE, Pool::Any).await.unwrap().is_some());
}

#[tokio::test]
async fn a_corrupt_job_row_is_set_aside_not_claimed_forever() {
    let (fresh, db) = fresh_db().await;
    let bad = VideoId::new();
    let good = VideoId::new();
    let columns = "video_id, kind, state, attempts, run_at, created_at";
    force_sql(
        &fresh,
        &format!("INSERT INTO jobs ({columns}) VALUES ('{bad}', 'exploded', 'queued', 0, 0, 0)"),
        &format!("INSERT INTO jobs ({columns}) VALUES ('{bad}', 'exploded', 'queued', 0, now(), now())"),
    )
    .await;
    db.enqueue(good, JobKind::Process).await.unwrap();
    let job = db.claim("w", LEASE, Pool::Any).await.unwrap().expect("the good job behind the corrupt one");
    assert_eq!(job.video_id, good);
    assert!(db.claim("w", LEASE, Pool::Any).await.unwrap().is_none(), "the corrupt job is not claimable any more");
    let reason = db.last_error_of(job.id - 1).await.unwrap().unwrap_or_default();
    assert!(reason.contains("corrupt") && reason.contains("exploded"), "{reason}");
}

/// Two processes sharing one PostgreSQL database (two pools, two listeners); `None` on SQLite, whose queue is
/// for one process.
async fn two_processes(settings: QueueSettings) -> Option<(common::Fresh, Db, Db)> {
    if backend() != Backend::Postgres {
        eprintln!("skipped: the SQLite queue serves one process (set {} to test PostgreSQL)", common::ENV);
        return None;
    }
    let (fresh, a) = fresh_db_with(settings).await;
    let b = open_database(&fresh.url, settings).await.unwrap();
    Some((fresh, a, b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn claimers_in_two_processes_never_share_a_job() {
    let Some((_fresh, a, b)) = two_processes(QueueSettings::default()).await else { return };
    let mut enqueued = HashSet::new();
    for i in 0..60 {
        let v = VideoId::new();
        // Enqueued through both.
        if i % 2 == 0 { &a } else { &b }.enqueue(v, JobKind::Process).await.unwrap();
        enqueued.insert(v);
    }
    let tasks: Vec<_> = (0..16)
        .map(|n| {
            let db = if n % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(job) = db.claim(&format!("host-{}/worker-{n}", n % 2), LEASE, Pool::Any).await.unwrap() {
                    mine.push(job);
                }
                mine
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for t in tasks {
        claimed.extend(t.await.unwrap());
    }
    let ids: HashSet<_> = claimed.iter().map(|j| j.id).collect();
    assert_eq!((claimed.len(), ids.len()), (60, 60), "every job claimed exactly once");
    assert_eq!(claimed.iter().map(|j| j.video_id).collect::<HashSet<_>>(), enqueued);
}

/// Waits (up to 30 s) in `waiter` on a task; returns how long it waited.
fn wait_in(waiter: &Db) -> tokio::task::JoinHandle<Duration> {
    let waiter = waiter.clone();
    tokio::spawn(async move {
        let start = Instant::now();
        waiter.wait_for_work(Duration::from_secs(30)).await;
        start.elapsed()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_wakes_a_worker_in_another_process_on_enqueue_retry_and_release() {
    let settings = QueueSettings { max_attempts: 3, backoff_base: Duration::ZERO, backoff_cap: Duration::ZERO };
    let Some((_fresh, a, b)) = two_processes(settings).await else { return };

    // Enqueue in B wakes A.
    let waiter = wait_in(&a);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiter.is_finished(), "nothing to do yet");
    b.enqueue(VideoId::new(), JobKind::Process).await.unwrap();
    let waited = tokio::time::timeout(Duration::from_secs(10), waiter).await.expect("woken").unwrap();
    assert!(waited < Duration::from_secs(5), "enqueue: waited {waited:?}");

    // A failure that will be retried, in B, wakes A.
    let job = b.claim("b/w", LEASE, Pool::Any).await.unwrap().unwrap();
    let waiter = wait_in(&a);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiter.is_finished(), "the only job is running under a live lease");
    assert!(matches!(b.fail(&job, "transient", true).await.unwrap(), JobOutcome::WillRetry { .. }));
    let waited = tokio::time::timeout(Duration::from_secs(10), waiter).await.expect("woken").unwrap();
    assert!(waited < Duration::from_secs(5), "retry: waited {waited:?}");

    // Releasing a dead node's leases, from B, wakes A.
    let job = a.claim("dead/w", LEASE, Pool::Any).await.unwrap().unwrap();
    let waiter = wait_in(&a);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiter.is_finished());
    assert_eq!(b.release_leases_of("dead/").await.unwrap(), 1);
    let waited = tokio::time::timeout(Duration::from_secs(10), waiter).await.expect("woken").unwrap();
    assert!(waited < Duration::from_secs(5), "release: waited {waited:?}");
    assert_eq!(a.claim("a/w", LEASE, Pool::Any).await.unwrap().unwrap().id, job.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_reconnects_when_its_connection_is_killed() {
    let Some((fresh, a, b)) = two_processes(QueueSettings::default()).await else { return };
    // Kill A's (and B's) listening connections while the database refuses new connections, as a server restart or
    // a network cut would: sqlx's own immediate reconnection fails, and the listener must keep trying on its own.
    // (From another database: a database cannot refuse connections while the one asking is in it.)
    let name = fresh.url.rsplit('/').next().unwrap().to_owned();
    let admin_url = common::with_database(&fresh.url, "postgres");
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url).await.unwrap();
    sqlx::raw_sql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).execute(&mut admin).await.unwrap();
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND query LIKE 'LISTEN%') AS t",
    )
    .bind(&name)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(killed, 2, "one listener per process");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    sqlx::raw_sql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).execute(&mut admin).await.unwrap();

    // Once reconnected (well within a few seconds), a notification from B reaches A again.
    let mut listening = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        listening = sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'",
        )
        .bind(&name)
        .fetch_one(&mut admin)
        .await
        .unwrap();
        if listening == 2 {
            break;
        }
    }
    assert_eq!(listening, 2, "both listeners reconnected");
    let waiter = wait_in(&a);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiter.is_finished(), "nothing to do yet");
    b.enqueue(VideoId::new(), JobKind::Process).await.unwrap();
    let waited = tokio::time::timeout(Duration::from_secs(10), waiter).await.expect("woken").unwrap();
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
}

#[tokio::test]
async fn a_dead_process_lease_is_swept_by_another_process() {
    let Some((_fresh, a, b)) = two_processes(QueueSettings::default()).await else { return };
    let v = VideoId::new();
    a.enqueue(v, JobKind::Process).await.unwrap();
    let lost = a.claim("a/w", Duration::from_millis(300), Pool::Any).await.unwrap().unwrap();
    // Process A dies: no more heartbeats, no release.
    a.close().await;
    drop(a);
    assert!(b.claim("b/w", LEASE, Pool::Any).await.unwrap().is_none(), "lease still running");
    b.wait_for_work(Duration::from_secs(10)).await; // wakes when the lease lapses
    let job = b.claim("b/w", LEASE, Pool::Any).await.unwrap().expect("stale lease reclaimed");
    assert_eq!((job.id, job.attempt), (lost.id, 2));
    assert!(!b.heartbeat(&lost, LEASE).await.unwrap(), "the dead claim is void");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_skips_a_job_another_transaction_holds_instead_of_waiting() {
    let Some((fresh, a, _b)) = two_processes(QueueSettings::default()).await else { return };
    let first = VideoId::new();
    let second = VideoId::new();
    a.enqueue(first, JobKind::Process).await.unwrap();
    a.enqueue(second, JobKind::Process).await.unwrap();
    // Another process is in the middle of claiming the first job: its row is locked until that transaction ends.
    let mut other = <sqlx::PgConnection as sqlx::Connection>::connect(&fresh.url).await.unwrap();
    sqlx::raw_sql("BEGIN").execute(&mut other).await.unwrap();
    sqlx::query("SELECT id FROM jobs WHERE video_id = $1 FOR UPDATE")
        .bind(first.to_string())
        .fetch_one(&mut other)
        .await
        .unwrap();
    // Without SKIP LOCKED this claim would queue behind that lock (every idle worker would, on every claim).
    let job = tokio::time::timeout(Duration::from_secs(3), a.claim("w", LEASE, Pool::Any))
        .await
        .expect("claim must not wait for the locked row")
        .unwrap()
        .expect("the unlocked job");
    assert_eq!(job.video_id, second);
    sqlx::raw_sql("ROLLBACK").execute(&mut other).await.unwrap();
    assert_eq!(a.claim("w", LEASE, Pool::Any).await.unwrap().unwrap().video_id, first);
}
