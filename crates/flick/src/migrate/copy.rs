//! The copy: every video of the source, its blobs first, then its record, its captions and the jobs it still needs.

use super::*;

/// Every video of the source, oldest first (so that the destination's insertion order, its tie-break between videos
/// created in the same millisecond, matches the source's).
pub(super) async fn all_videos(db: &dyn Database) -> Result<Vec<Video>, RepoError> {
    let mut all = Vec::new();
    loop {
        let offset = u32::try_from(all.len()).map_err(|_| RepoError::Unavailable("too many videos".into()))?;
        let page = db.list_videos(PAGE, offset).await?;
        let full = page.len() == PAGE as usize;
        all.extend(page);
        if !full {
            break;
        }
    }
    all.reverse();
    Ok(all)
}

/// What the copy did.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) videos_copied: usize,
    pub(super) videos_present: usize,
    pub(super) videos_failed: usize,
    pub(super) blobs_copied: usize,
    pub(super) blobs_present: usize,
    pub(super) bytes_copied: u64,
    pub(super) jobs_queued: usize,
}

/// The stores a run copies between.
pub(super) struct Migration {
    pub(super) source: Arc<dyn Store>,
    pub(super) dest: Arc<dyn Store>,
    pub(super) dest_blobs: BlobStore,
    pub(super) source_db: Arc<dyn Database>,
    pub(super) dest_db: Arc<dyn Database>,
    pub(super) scratch: PathBuf,
}

impl Migration {
    /// Copies a video's missing blobs, then its record, then queues what it still needs.
    pub(super) async fn copy_video(&self, video: &Video, tally: &mut Tally) -> Result<(), MigrateError> {
        let blobs = source_blobs(&*self.source, video.id).await?;
        let present = self.dest_lengths(video.id, &blobs).await?;
        let missing: Vec<_> = blobs.iter().filter(|(key, len)| present.get(key.as_str()) != Some(len)).collect();
        tally.blobs_present += blobs.len() - missing.len();
        let copies = stream::iter(missing.iter().enumerate())
            .map(|(i, (key, len))| {
                let local = self.scratch.join(format!("{}-{i}", video.id));
                async move { self.copy_blob(key, &local).await.map(|()| *len) }
            })
            .buffer_unordered(COPIES_IN_FLIGHT)
            .collect::<Vec<_>>()
            .await;
        let mut first_error = None;
        for copy in copies {
            match copy {
                Ok(len) => {
                    tally.blobs_copied += 1;
                    tally.bytes_copied += len;
                }
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        // No record without every one of its blobs.
        if let Some(e) = first_error {
            return Err(e);
        }

        let inserted = self.dest_db.import_video(video).await.map_err(MigrateError::Record)?;
        if inserted {
            tally.videos_copied += 1;
        } else {
            tally.videos_present += 1;
        }
        let stored = self.dest_db.get_video(video.id).await.map_err(MigrateError::Record)?;
        if stored.as_ref() != Some(video) {
            // Changed since an earlier run (on either side): never overwritten; verification reports it.
            tracing::warn!("the destination already holds a different record of this video; left as it is");
            return Ok(());
        }
        // Its caption tracks (their cues are blobs, copied above); adding one again only relabels it.
        for caption in self.source_db.captions(video.id).await.map_err(MigrateError::ReadSource)? {
            self.dest_db.put_caption(video.id, &caption, u32::MAX).await.map_err(MigrateError::Record)?;
        }
        // What a server's start-up would queue for this record; enqueueing is idempotent.
        let job = match video.status {
            VideoStatus::Processing => Some(JobKind::Process),
            VideoStatus::Ready if !video.has_thumbnail => Some(JobKind::Thumbnail),
            _ => None,
        };
        if let Some(kind) = job {
            self.dest_db.enqueue(video.id, kind).await.map_err(MigrateError::Queue)?;
            tally.jobs_queued += 1;
        }
        tracing::info!(
            blobs = blobs.len(),
            copied = missing.len(),
            record = if inserted { "copied" } else { "already there" },
            "video copied"
        );
        Ok(())
    }

    /// Copies one blob through a local file (a hard link when the source is on this disk).
    pub(super) async fn copy_blob(&self, key: &BlobKey, local: &Path) -> Result<(), MigrateError> {
        let err = |source| MigrateError::Blob { key: key.to_string(), source };
        self.source.fetch_to(key, local).await.map_err(err)?;
        let result = self.dest.put_file(key, local).await.map_err(err);
        if result.is_err() {
            let _ = tokio::fs::remove_file(local).await;
        }
        tracing::debug!(%key, ok = result.is_ok(), "blob copied");
        result
    }

    /// The lengths of those of `blobs` the destination has, by key.
    pub(super) async fn dest_lengths(
        &self,
        id: VideoId,
        blobs: &[(BlobKey, u64)],
    ) -> Result<HashMap<String, u64>, MigrateError> {
        let mut found = HashMap::new();
        let mut ask = Vec::new();
        match &self.dest_blobs {
            BlobStore::Object(bucket) => {
                // One listing answers for every HLS file (a HEAD each would be one request per segment).
                let prefix = BlobKey::hls_prefix(id);
                let listed = bucket
                    .keys_under(Some(&prefix))
                    .await
                    .map_err(|source| MigrateError::Blob { key: prefix.to_string(), source })?;
                found.extend(listed);
                ask.extend(blobs.iter().map(|(key, _)| key).filter(|key| !key.as_str().starts_with("hls/")));
            }
            BlobStore::Local(_) => ask.extend(blobs.iter().map(|(key, _)| key)),
        }
        for key in ask {
            let len = self.dest.len(key).await.map_err(|source| MigrateError::Blob { key: key.to_string(), source })?;
            if let Some(len) = len {
                found.insert(key.to_string(), len);
            }
        }
        Ok(found)
    }
}

/// A video's blobs in `store` with their lengths: `raw/{id}` and `thumbs/{id}.jpg` when present, every file under
/// `hls/{id}/`.
pub(super) async fn source_blobs(store: &dyn Store, id: VideoId) -> Result<Vec<(BlobKey, u64)>, MigrateError> {
    let err = |key: &BlobKey| {
        let key = key.to_string();
        move |source| MigrateError::Blob { key, source }
    };
    let mut blobs = Vec::new();
    for key in [BlobKey::raw(id), BlobKey::thumbnail(id)] {
        if let Some(len) = store.len(&key).await.map_err(err(&key))? {
            blobs.push((key, len));
        }
    }
    let mut folders = vec![(BlobKey::hls_prefix(id), 0)];
    while let Some((folder, depth)) = folders.pop() {
        for name in store.list(&folder).await.map_err(err(&folder))? {
            let Ok(key) = BlobKey::new(format!("{folder}/{name}")) else {
                // No request can name it, so no viewer misses it.
                tracing::warn!(folder = %folder, name, "skipping a file whose name is not a blob key");
                continue;
            };
            match store.len(&key).await.map_err(err(&key))? {
                Some(len) => blobs.push((key, len)),
                None if depth < MAX_DEPTH => folders.push((key, depth + 1)),
                None => tracing::warn!(%key, "skipping a folder nested too deep"),
            }
        }
    }
    Ok(blobs)
}
