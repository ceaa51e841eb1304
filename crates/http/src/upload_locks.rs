//! One writer per upload in this process: the process-local half of an upload's write lock (the database holds the
//! half that keeps out other API nodes).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use flick_domain::VideoId;

/// The uploads some request is writing to (or deleting) right now.
#[derive(Clone, Default)]
pub struct UploadLocks(Arc<Mutex<HashSet<VideoId>>>);

/// Holds an upload's lock until dropped.
pub struct UploadGuard {
    locks: UploadLocks,
    id: VideoId,
}

impl UploadLocks {
    /// Takes the upload's lock, or `None` when another request holds it (it is never waited for: a client
    /// whose previous request is still being read would otherwise queue behind itself).
    pub fn try_lock(&self, id: VideoId) -> Option<UploadGuard> {
        let mut held = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        held.insert(id).then(|| UploadGuard { locks: self.clone(), id })
    }
}

impl Drop for UploadGuard {
    fn drop(&mut self) {
        let mut held = self.locks.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        held.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_writer_at_a_time() {
        let locks = UploadLocks::default();
        let id = VideoId::new();
        let guard = locks.try_lock(id).expect("first lock");
        assert!(locks.try_lock(id).is_none(), "second writer refused");
        assert!(locks.try_lock(VideoId::new()).is_some(), "other uploads unaffected");
        drop(guard);
        assert!(locks.try_lock(id).is_some(), "released on drop");
    }
}
