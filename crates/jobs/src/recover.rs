//! Start-up reconciliation: whatever a crash left behind is finished, redone or removed.

use flick_domain::VideoId;
use flick_domain::VideoStatus;
use flick_domain::ports::{BlobKey, JobKind};

use crate::Context;
use crate::error::JobError;

/// What start-up reconciliation did, for the log.
#[derive(Debug, Default)]
pub struct Recovery {
    pub released_leases: u64,
    pub requeued: usize,
    pub thumbnails_queued: usize,
    pub orphans_removed: usize,
}

/// Puts things right after an unclean stop: releases this node's leases, empties the work folder,
/// re-enqueues videos still processing, queues missing thumbnails, and deletes blobs no record owns.
pub async fn recover(ctx: &Context) -> Result<Recovery, JobError> {
    let mut r = Recovery { released_leases: ctx.queue.release_leases_of(&ctx.node).await?, ..Default::default() };
    match tokio::fs::remove_dir_all(&ctx.work_dir).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    tokio::fs::create_dir_all(&ctx.work_dir).await?;
    for id in ctx.repo.processing_video_ids().await? {
        ctx.queue.enqueue(id, JobKind::Process).await?;
        r.requeued += 1;
    }
    for id in ctx.repo.ready_without_thumbnail().await? {
        ctx.queue.enqueue(id, JobKind::Thumbnail).await?;
        r.thumbnails_queued += 1;
    }
    r.orphans_removed = remove_orphans(ctx).await?;
    tracing::info!(?r, "start-up recovery done");
    Ok(r)
}

/// Deletes raw uploads, HLS folders and thumbnails whose video has no record, and raw uploads of ready videos.
async fn remove_orphans(ctx: &Context) -> Result<usize, JobError> {
    let mut removed = 0;
    for (prefix, suffix) in [("raw", ""), ("hls", ""), ("thumbs", ".jpg")] {
        let prefix_key = BlobKey::new(prefix)?;
        for name in ctx.store.list(&prefix_key).await? {
            let id_part = name.strip_suffix(suffix).unwrap_or(&name);
            let keep = match VideoId::parse(id_part) {
                Ok(id) => match ctx.repo.get_video(id).await? {
                    Some(v) => !(prefix == "raw" && v.status == VideoStatus::Ready),
                    None => false,
                },
                Err(_) => false,
            };
            if keep {
                continue;
            }
            let key = BlobKey::new(format!("{prefix}/{name}"))?;
            if prefix == "hls" {
                ctx.store.delete_prefix(&key).await?;
            } else {
                ctx.store.delete(&key).await?;
            }
            tracing::info!(key = %key, "removed an orphan blob");
            removed += 1;
        }
    }
    Ok(removed)
}
