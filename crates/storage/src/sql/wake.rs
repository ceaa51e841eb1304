//! Waking this process's idle waiters: workers waiting for a job ([`JobQueue::wait_for_work`]) and requests following
//! an upload as it arrives ([`UploadRepo::wait_for_progress`]).
//!
//! Both are hints: a waiter looks again (claims, reads the record) after every wake-up and after its `max` at the
//! latest, so a wake-up too many costs a query and one too few costs at most `max`. This process's own changes wake
//! its waiters directly, after they are committed (a woken waiter must find them); on PostgreSQL the listener wakes
//! them for other processes' changes.
//!
//! [`JobQueue::wait_for_work`]: flick_domain::ports::JobQueue::wait_for_work
//! [`UploadRepo::wait_for_progress`]: flick_domain::ports::UploadRepo::wait_for_progress

use std::future::Future;
use std::time::Duration;

use flick_domain::ports::QueueError;
use tokio::sync::Notify;

/// The waiters of one database (shared by its clones).
#[derive(Debug, Default)]
pub(crate) struct Wakers {
    jobs: Notify,
    uploads: Notify,
}

impl Wakers {
    /// A job may have become claimable, or its due time moved.
    pub(crate) fn jobs_changed(&self) {
        self.jobs.notify_waiters();
    }

    /// An upload's offset may have moved, or an upload or a video's status changed.
    pub(crate) fn uploads_changed(&self) {
        self.uploads.notify_waiters();
    }

    /// Waits until woken, until `until_due` (how long until the next job is due, looked up after registering for a
    /// wake-up so that a change committed meanwhile still wakes) has passed, or until `max` has.
    pub(crate) async fn wait_for_work(
        &self,
        max: Duration,
        until_due: impl Future<Output = Result<Option<Duration>, QueueError>>,
    ) {
        let notified = self.jobs.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();

        let wait = match until_due.await {
            Ok(Some(until_due)) => max.min(until_due),
            Ok(None) => max,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look for due jobs; waiting for a wake-up");
                max
            }
        };
        if wait.is_zero() {
            return;
        }
        let _ = tokio::time::timeout(wait, notified).await;
    }

    /// Waits until an upload changes or `max` has passed. A change made once this has been called (its future polled)
    /// wakes it; one made before may not (nothing says which changes the caller has seen): the caller re-reads what
    /// it follows after every return, so such a change is noticed `max` later at the latest.
    pub(crate) async fn wait_for_progress(&self, max: Duration) {
        let _ = tokio::time::timeout(max, self.uploads.notified()).await;
    }
}
