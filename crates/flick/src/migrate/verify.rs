//! Verification: each record read back and compared with the source's, field by field; each blob by length, or by
//! SHA-256 with `--verify-content`.

use super::copy::{Migration, source_blobs};
use super::*;

/// What verification found.
#[derive(Debug, Default)]
pub(super) struct Verification {
    pub(super) records: usize,
    pub(super) blobs: usize,
    pub(super) bytes_hashed: u64,
    pub(super) problems: Vec<String>,
}

impl Verification {
    pub(super) fn problem(&mut self, id: VideoId, text: impl std::fmt::Display) {
        tracing::error!(problem = %text, "verification");
        self.problems.push(format!("video {id}: {text}"));
    }
}

impl Migration {
    /// Checks the destination's record and blobs of a video against the source's.
    pub(super) async fn verify_video(&self, video: &Video, content: bool, check: &mut Verification) {
        check.records += 1;
        match self.dest_db.get_video(video.id).await {
            Ok(Some(stored)) if stored == *video => {}
            Ok(Some(stored)) => check.problem(video.id, format!("record differs in {}", differences(video, &stored))),
            Ok(None) => check.problem(video.id, "record missing"),
            Err(e) => check.problem(video.id, format!("cannot read the record: {e}")),
        }
        let blobs = match source_blobs(&*self.source, video.id).await {
            Ok(blobs) => blobs,
            Err(e) => return check.problem(video.id, e),
        };
        let present = match self.dest_lengths(video.id, &blobs).await {
            Ok(present) => present,
            Err(e) => return check.problem(video.id, e),
        };
        let mut same_length = Vec::new();
        for (key, len) in &blobs {
            check.blobs += 1;
            match present.get(key.as_str()) {
                None => check.problem(video.id, format!("blob {key} missing")),
                Some(found) if found != len => {
                    check.problem(video.id, format!("blob {key} is {found} bytes, the source's {len}"))
                }
                Some(_) => same_length.push(key),
            }
        }
        if !content {
            return;
        }
        let hashes = stream::iter(same_length)
            .map(|key| async move {
                let (source, dest) = tokio::join!(sha256(&*self.source, key), sha256(&*self.dest, key));
                (key, source, dest)
            })
            .buffer_unordered(HASHES_IN_FLIGHT)
            .collect::<Vec<_>>()
            .await;
        for (key, source, dest) in hashes {
            match (source, dest) {
                (Ok((a, len)), Ok((b, _))) if a == b => check.bytes_hashed += len,
                (Ok(_), Ok(_)) => check.problem(video.id, format!("blob {key} has other content (SHA-256)")),
                (Err(e), _) | (_, Err(e)) => check.problem(video.id, format!("cannot hash {key}: {e}")),
            }
        }
    }
}

/// SHA-256 and length of a blob, streamed.
pub(super) async fn sha256(store: &dyn Store, key: &BlobKey) -> Result<([u8; 32], u64), StoreError> {
    let Some(mut blob) = store.get(key, None).await? else {
        return Err(StoreError::Io { key: key.to_string(), source: io::Error::new(io::ErrorKind::NotFound, "gone") });
    };
    let mut hasher = Sha256::new();
    let mut len = 0u64;
    while let Some(chunk) = blob.body.next().await {
        let chunk = chunk.map_err(|source| StoreError::Io { key: key.to_string(), source })?;
        len += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Ok((hasher.finalize().into(), len))
}

/// The names of the fields in which two records of the same video differ.
pub(super) fn differences(a: &Video, b: &Video) -> String {
    // Destructured: a field added to `Video` does not compile here until it is compared.
    let Video {
        id: _,
        share_id,
        original_name,
        title,
        size_bytes,
        status,
        playable,
        playable_seconds,
        delivery,
        progress,
        duration_seconds,
        width,
        height,
        has_thumbnail,
        has_storyboard,
        failure,
        manage_token_hash,
        access,
        deleted_at,
        created_at,
        updated_at,
    } = a;
    let fields = [
        ("share_id", *share_id == b.share_id),
        ("original_name", *original_name == b.original_name),
        ("title", *title == b.title),
        ("size_bytes", *size_bytes == b.size_bytes),
        ("status", *status == b.status),
        ("playable", *playable == b.playable),
        ("playable_seconds", *playable_seconds == b.playable_seconds),
        ("delivery", *delivery == b.delivery),
        ("progress", *progress == b.progress),
        ("duration_seconds", *duration_seconds == b.duration_seconds),
        ("width", *width == b.width),
        ("height", *height == b.height),
        ("has_thumbnail", *has_thumbnail == b.has_thumbnail),
        ("has_storyboard", *has_storyboard == b.has_storyboard),
        ("failure", *failure == b.failure),
        ("manage_token_hash", *manage_token_hash == b.manage_token_hash),
        ("access", *access == b.access),
        ("deleted_at", *deleted_at == b.deleted_at),
        ("created_at", *created_at == b.created_at),
        ("updated_at", *updated_at == b.updated_at),
    ];
    let differing: Vec<_> = fields.iter().filter(|(_, same)| !same).map(|(name, _)| *name).collect();
    differing.join(", ")
}
