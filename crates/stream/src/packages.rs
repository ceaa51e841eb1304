//! The packages of videos delivered from their original (`hls/{id}/package`, written once by the worker that read
//! the original's index), kept in memory: every playlist and segment request needs one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use flick_domain::VideoId;
use flick_domain::ports::{BlobKey, Store, StoreError};
use flick_packaging::mp4::Package;
use futures_util::StreamExt;

use crate::original::StreamError;

/// The blob name of a video's package.
pub const PACKAGE_FILE: &str = "package";
/// The most a stored package may weigh (a three-hour 60 fps video's is a few tens of MB).
const MAX_PACKAGE_BYTES: u64 = 256 << 20;

/// Packages by video, least recently used dropped first beyond a memory budget. Cheap to clone: clones share it.
#[derive(Clone)]
pub struct Packages {
    store: Arc<dyn Store>,
    inner: Arc<Mutex<Cache>>,
}

struct Cache {
    budget: usize,
    used: usize,
    tick: u64,
    entries: HashMap<VideoId, (Arc<Package>, usize, u64)>,
}

impl Packages {
    /// A cache of at most about `budget` bytes of packages, loaded from `store`.
    pub fn new(store: Arc<dyn Store>, budget: usize) -> Self {
        let cache = Cache { budget, used: 0, tick: 0, entries: HashMap::new() };
        Packages { store, inner: Arc::new(Mutex::new(cache)) }
    }

    /// The blob of a video's package.
    pub fn key(id: VideoId) -> Result<BlobKey, StoreError> {
        BlobKey::hls_file(id, PACKAGE_FILE)
    }

    /// Stores a video's package (it never changes afterwards) and keeps it at hand.
    pub async fn put(&self, id: VideoId, package: Package) -> Result<Arc<Package>, StreamError> {
        let bytes = package.encode();
        let size = bytes.len();
        self.store.put_bytes(&Self::key(id)?, Bytes::from(bytes)).await?;
        let package = Arc::new(package);
        self.remember(id, package.clone(), size);
        Ok(package)
    }

    /// A video's package, or `None` when it has none.
    pub async fn get(&self, id: VideoId) -> Result<Option<Arc<Package>>, StreamError> {
        {
            let mut cache = self.lock();
            cache.tick += 1;
            let tick = cache.tick;
            if let Some(entry) = cache.entries.get_mut(&id) {
                entry.2 = tick;
                return Ok(Some(entry.0.clone()));
            }
        }
        let Some(blob) = self.store.get(&Self::key(id)?, None).await? else { return Ok(None) };
        if blob.total_len > MAX_PACKAGE_BYTES {
            return Err(StreamError::Package(format!("{} bytes", blob.total_len)));
        }
        let mut bytes = Vec::with_capacity(blob.total_len as usize);
        let mut body = blob.body;
        while let Some(chunk) = body.next().await {
            bytes.extend_from_slice(&chunk?);
        }
        let package = Package::decode(&bytes).map_err(|e| StreamError::Package(e.to_string()))?;
        let package = Arc::new(package);
        self.remember(id, package.clone(), bytes.len());
        Ok(Some(package))
    }

    /// Forgets a video's package (it was deleted).
    pub fn forget(&self, id: VideoId) {
        let mut cache = self.lock();
        if let Some((_, size, _)) = cache.entries.remove(&id) {
            cache.used -= size;
        }
    }

    fn remember(&self, id: VideoId, package: Arc<Package>, size: usize) {
        let mut cache = self.lock();
        cache.tick += 1;
        let tick = cache.tick;
        if let Some((_, old, _)) = cache.entries.insert(id, (package, size, tick)) {
            cache.used -= old;
        }
        cache.used += size;
        while cache.used > cache.budget && cache.entries.len() > 1 {
            let Some(oldest) =
                cache.entries.iter().filter(|(k, _)| **k != id).min_by_key(|(_, e)| e.2).map(|(k, _)| *k)
            else {
                break;
            };
            if let Some((_, size, _)) = cache.entries.remove(&oldest) {
                cache.used -= size;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}
