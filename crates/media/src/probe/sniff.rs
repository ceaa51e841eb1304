//! The container of a file from its first bytes, so that ffprobe never has to guess.

use std::path::Path;

use tokio::io::AsyncReadExt;

use crate::error::MediaError;
use crate::input::Demuxer;

/// The demuxer for a file's first bytes, when they are those of a container Flick accepts.
pub(super) async fn sniff_demuxer(input: &Path) -> Result<Option<Demuxer>, MediaError> {
    let mut f =
        tokio::fs::File::open(input).await.map_err(|e| MediaError::io(format!("opening {}", input.display()), e))?;
    let mut head = Vec::with_capacity(flick_domain::upload::SNIFF_LEN);
    (&mut f)
        .take(flick_domain::upload::SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .await
        .map_err(|e| MediaError::io(format!("reading {}", input.display()), e))?;
    Ok(flick_domain::upload::sniff(&head).map(Demuxer::of_sniffed))
}
