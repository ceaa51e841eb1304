//! The packages of videos delivered from their original (`hls/{id}/package`, written once by the worker that read
//! the original's index), kept in memory: every playlist and segment request needs one. Beside each, how its
//! segments are served without their SEI, found once per segment.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use flick_domain::VideoId;
use flick_domain::ports::{BlobKey, Store, StoreError};
use flick_packaging::mp4::{Mp4Error, Package, SeiTracks};
use futures_util::StreamExt;
use tokio::sync::OnceCell;

use crate::cut::{SegmentBody, Served, segment_body, serve, strip};
use crate::original::{Arrived, Original, StreamError};

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
    entries: HashMap<VideoId, Entry>,
}

impl Cache {
    /// Drops the least recently used packages other than `keep` until the budget is met.
    fn evict(&mut self, keep: VideoId) {
        while self.used > self.budget && self.entries.len() > 1 {
            let oldest = self.entries.iter().filter(|(k, _)| **k != keep).min_by_key(|(_, e)| e.tick).map(|(k, _)| *k);
            let Some(entry) = oldest.and_then(|k| self.entries.remove(&k)) else { break };
            self.used -= entry.size;
        }
    }
}

struct Entry {
    package: Arc<Package>,
    layouts: Arc<Layouts>,
    /// What the package and its layouts are counted for against the budget.
    size: usize,
    tick: u64,
}

/// How each segment of a package is served, found the first time it is (reading its bytes once), then kept: later
/// requests stream the kept ranges straight from the original.
struct Layouts {
    tracks: Result<SeiTracks, Mp4Error>,
    /// What the data says is kept too (the same every time); a failed read is not, and is tried again.
    segments: Vec<OnceCell<Result<Arc<Served>, Mp4Error>>>,
}

impl Layouts {
    fn of(package: &Package) -> Self {
        let segments = package.segments.iter().map(|_| OnceCell::new()).collect();
        Layouts { tracks: SeiTracks::of(package), segments }
    }
}

/// What a package's layouts weigh at least, counted when it is cached: one more copy of its segment headers (the cuts
/// are counted as they are found).
fn layouts_weight(package: &Package) -> usize {
    package.segments.iter().map(|s| s.header.len() + 64).sum()
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
                entry.tick = tick;
                return Ok(Some(entry.package.clone()));
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

    /// The bytes of segment `index` of `package` (this cache's package of `original`'s video; the caller found the
    /// segment servable), stripped of H.264 SEI: the first request reads the segment once to lay it out, and the
    /// layout is kept with the package, so every later one streams the original's ranges as they are read.
    pub async fn segment_body(
        &self,
        original: &Original,
        arrived: &Arrived,
        package: &Package,
        index: usize,
    ) -> Result<SegmentBody, StreamError> {
        let segment = package.segments.get(index).ok_or(StreamError::Gone)?;
        let layouts = {
            let cache = self.lock();
            let entry = cache.entries.get(&original.id()).filter(|e| std::ptr::eq(Arc::as_ptr(&e.package), package));
            entry.map(|e| e.layouts.clone())
        };
        // Not (or no longer) cached: laid out for this request alone.
        let Some(layouts) = layouts else { return segment_body(original, arrived, package, index).await };
        let tracks = layouts.tracks.as_ref().map_err(|e| StreamError::Segment(e.clone()))?;
        let cell = layouts.segments.get(index).ok_or(StreamError::Gone)?;
        // Concurrent first requests wait for one read of the segment.
        let layout = cell
            .get_or_try_init(|| async {
                Ok::<_, StreamError>(
                    strip(original, arrived, tracks, segment).await?.map(|s| Arc::new(Served::from(s))),
                )
            })
            .await?;
        let layout = layout.as_ref().map_err(|e| StreamError::Segment(e.clone()))?;
        if !layout.charged.swap(true, std::sync::atomic::Ordering::Relaxed) {
            self.charge(original.id(), &layouts, layout.weight());
        }
        serve(original, arrived, segment, layout).await
    }

    /// Forgets a video's package (it was deleted).
    pub fn forget(&self, id: VideoId) {
        let mut cache = self.lock();
        if let Some(entry) = cache.entries.remove(&id) {
            cache.used -= entry.size;
        }
    }

    fn remember(&self, id: VideoId, package: Arc<Package>, size: usize) {
        let size = size + layouts_weight(&package);
        let layouts = Arc::new(Layouts::of(&package));
        let mut cache = self.lock();
        cache.tick += 1;
        let tick = cache.tick;
        if let Some(old) = cache.entries.insert(id, Entry { package, layouts, size, tick }) {
            cache.used -= old.size;
        }
        cache.used += size;
        cache.evict(id);
    }

    /// Counts a segment layout of video `id` (if `layouts` are still its) against the budget.
    fn charge(&self, id: VideoId, layouts: &Arc<Layouts>, weight: usize) {
        let mut cache = self.lock();
        let Some(entry) = cache.entries.get_mut(&id).filter(|e| Arc::ptr_eq(&e.layouts, layouts)) else { return };
        entry.size += weight;
        cache.used += weight;
        cache.evict(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}
