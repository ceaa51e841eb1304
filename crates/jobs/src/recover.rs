//! Start-up reconciliation: whatever a crash left behind is finished, redone or removed.

use flick_domain::VideoId;
use flick_domain::ports::{BlobKey, JobKind};

use crate::error::JobError;
use crate::{Context, Node};

/// What start-up reconciliation did, for the log.
#[derive(Debug, Default)]
pub struct Recovery {
    pub released_leases: u64,
    pub work_dirs_removed: usize,
    pub requeued: usize,
    pub thumbnails_queued: usize,
    pub orphans_removed: usize,
}

/// Puts things right after an unclean stop, safely while other processes share the database and the data folder:
///
/// - releases the leases of dead processes on this host (their worker names carry their pid, see [`Node`]), so a
///   crashed single server's jobs restart at once; a dead process of another host is never known dead here: its
///   leases expire after [`crate::worker::LEASE`] and are re-claimed by whichever worker comes first;
/// - removes the work folders of dead processes of this host (`work/{host}/{pid}-{tag}`), never a live one's;
/// - re-enqueues videos still processing and queues missing thumbnails (enqueueing is idempotent);
/// - only when `alone` (this process holds the data folder's lock by itself, so no other process can be writing
///   into it): also removes work folders of older layouts and blobs no record owns. With several processes on one
///   data folder that sweep is skipped, as a blob may belong to an upload whose record is not written yet.
pub async fn recover(ctx: &Context, alone: bool) -> Result<Recovery, JobError> {
    let mut r = Recovery::default();
    let here = &ctx.node;
    for owner in ctx.queue.lease_owners().await? {
        if let Some(node) = Node::parse(&owner)
            && node.is_dead_on(here)
        {
            r.released_leases += ctx.queue.release_leases_of(&node.name()).await?;
        }
    }
    // Workers of earlier versions were all `{host}/serve/wN`, one process per host.
    r.released_leases += ctx.queue.release_leases_of(&format!("{}/serve/", here.host)).await?;

    let host_dir = ctx.work_dir.join(&here.host);
    tokio::fs::create_dir_all(&host_dir).await?;
    let mut entries = tokio::fs::read_dir(&host_dir).await?;
    while let Some(entry) = entries.next_entry().await? {
        let name = entry.file_name();
        let dead = Node::parse_folder(&here.host, &name.to_string_lossy()).is_none_or(|n| n.is_dead_on(here));
        if dead {
            remove_dir(&entry.path()).await?;
            r.work_dirs_removed += 1;
        }
    }
    if alone {
        // Earlier versions ran jobs in `work/{video_id}-{lease_id}`.
        let mut entries = tokio::fs::read_dir(&ctx.work_dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.get(..32).is_some_and(|id| VideoId::parse(id).is_ok()) && name.as_bytes().get(32) == Some(&b'-') {
                remove_dir(&entry.path()).await?;
                r.work_dirs_removed += 1;
            }
        }
    }
    tokio::fs::create_dir_all(here.work_dir(&ctx.work_dir)).await?;

    for id in ctx.repo.processing_video_ids().await? {
        ctx.queue.enqueue(id, JobKind::Process).await?;
        r.requeued += 1;
    }
    for id in ctx.repo.ready_without_thumbnail().await? {
        ctx.queue.enqueue(id, JobKind::Thumbnail).await?;
        r.thumbnails_queued += 1;
    }
    if alone {
        r.orphans_removed = remove_orphans(ctx).await?;
    }
    tracing::info!(?r, alone, node = %here.name(), "start-up recovery done");
    Ok(r)
}

async fn remove_dir(path: &std::path::Path) -> Result<(), JobError> {
    let result = if path.is_dir() { tokio::fs::remove_dir_all(path).await } else { tokio::fs::remove_file(path).await };
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Deletes raw uploads, HLS folders and thumbnails whose video has no record. (A ready video's original is released
/// by its storyboard and ladder jobs, which run again after a crash.)
async fn remove_orphans(ctx: &Context) -> Result<usize, JobError> {
    let mut removed = 0;
    for (prefix, suffix) in [("raw", ""), ("hls", ""), ("thumbs", ".jpg")] {
        let prefix_key = BlobKey::new(prefix)?;
        for name in ctx.store.list(&prefix_key).await? {
            let id_part = name.strip_suffix(suffix).unwrap_or(&name);
            // A ready video's original is the business of its storyboard and ladder jobs (which release it).
            let keep = match VideoId::parse(id_part) {
                Ok(id) => ctx.repo.exists(id).await?,
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
