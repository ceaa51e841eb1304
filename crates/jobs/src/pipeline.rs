//! What a job does. A `Process` job follows its video's original (as it arrives, or whole) and makes it playable the
//! cheapest way:
//!
//! - MP4/MOV whose index can be read early (sent first, or at the front of the file) and whose streams browsers play
//!   (H.264 + AAC): served from the original itself, cut into fMP4 segments on request (`original.rs`); the job only
//!   reads the index and makes the thumbnail.
//! - Other MP4/MOV: their index drives an fMP4 view of the original that ffmpeg re-encodes as it arrives
//!   (`encode.rs`); Matroska/WebM and fragmented MP4 are read by ffmpeg front to back as they arrive.
//! - An MP4/MOV whose index is at the end and is sent front to back can only start once its last byte is in: the
//!   job ends at once and the upload's completion queues it again.
//!
//! The job is idempotent: run again (after a crash, or at the upload's completion), it finds what an earlier run did
//! and carries on from there. A `Thumbnail` job only heals a missing thumbnail; a `Storyboard` job makes a ready
//! video's seek-bar previews (`storyboard.rs`); a `Ladder` job adds its lower renditions (`ladder.rs`).

use std::path::Path;

use flick_domain::ports::{Job, JobKind};
use flick_domain::upload::{Container, SNIFF_LEN, sniff};
use flick_domain::{Delivery, Video, VideoStatus};
use flick_media::MediaError;
use flick_packaging::mp4::{BoxPos, BoxScanner, ScanState, parse_movie};
use flick_stream::{Arrived, Original};

use crate::Context;
use crate::error::JobError;
use crate::steps::{PATIENCE, original_of, record_shape};

/// A box header longer than this ahead of what has arrived is past the media: front to back, the index comes last.
const LOOKAHEAD: u64 = 16 << 20;

/// Runs one claimed job to its end.
pub async fn run(ctx: &Context, job: &Job, work: &Path) -> Result<(), JobError> {
    let Some(video) = ctx.repo.get_video(job.video_id).await?.filter(|v| v.deleted_at.is_none()) else {
        tracing::info!("the video was deleted; nothing to do");
        return Ok(());
    };
    match job.kind {
        JobKind::Process if matches!(video.status, VideoStatus::Uploading | VideoStatus::Processing) => {
            process(ctx, &video, work).await
        }
        JobKind::Process => Ok(()),
        JobKind::Thumbnail => crate::thumbs::heal(ctx, &video, work).await,
        JobKind::Storyboard => Box::pin(crate::storyboard::run(ctx, &video, work)).await,
        JobKind::Download => Box::pin(crate::download::run(ctx, &video, work)).await,
        JobKind::Ladder => Box::pin(crate::ladder::run(ctx, &video, work)).await,
    }
}

async fn process(ctx: &Context, video: &Video, work: &Path) -> Result<(), JobError> {
    let original = original_of(ctx, video);
    if video.delivery == Delivery::Original {
        // An earlier run packaged it: only the end remains.
        return crate::original::carry_on(ctx, video, &original, work).await;
    }
    let Some(head) = original.read_to_vec(0..SNIFF_LEN as u64, Some(PATIENCE)).await? else {
        tracing::info!("no bytes yet; the upload's first bytes will queue the job again");
        return Ok(());
    };
    match sniff(&head) {
        // Boxed: the paths' futures are large, and a worker thread's stack is not.
        Some(Container::IsoBmff { .. }) => Box::pin(mp4(ctx, video, &original, work)).await,
        Some(Container::Matroska { .. }) => Box::pin(crate::encode::front_to_back(ctx, video, &original, work)).await,
        None => Err(JobError::Media(MediaError::NotAVideo { detail: "not an MP4/MOV or Matroska/WebM file".into() })),
    }
}

/// MP4/MOV: read the index as soon as it has arrived, then serve from the original or encode.
async fn mp4(ctx: &Context, video: &Video, original: &Original, work: &Path) -> Result<(), JobError> {
    let Some(moov) = locate_index(original).await? else {
        tracing::info!("the index comes after the media (or the upload stands still): the upload's completion goes on");
        return Ok(());
    };
    if moov.size > ctx.max_index_bytes {
        return Err(JobError::Index(flick_packaging::mp4::Mp4Error::IndexTooLarge(format!(
            "the index is {} bytes, the limit is {}",
            moov.size, ctx.max_index_bytes
        ))));
    }
    let Some(bytes) = original.read_to_vec(moov.offset..moov.end(), Some(PATIENCE)).await? else {
        tracing::info!("the upload stands still before its index is in: its completion goes on");
        return Ok(());
    };
    let limits = flick_packaging::mp4::Limits { max_index_bytes: ctx.max_index_bytes, ..Default::default() };
    let movie = parse_movie(&bytes, moov.offset, original.len(), &limits)?;
    drop(bytes);
    if movie.fragmented {
        // Fragments carry their own tables: ffmpeg reads them front to back.
        return Box::pin(crate::encode::front_to_back(ctx, video, original, work)).await;
    }
    let info = flick_media::media_info_from_movie(&movie, original.len())?;
    // An upload still arriving is encoded (if it must be) while it is watched: one preset faster.
    let live = !original.arrived().await?.is_whole();
    let settings = flick_media::PlanSettings { live, ..flick_media::PlanSettings::from_config(&ctx.settings) };
    let plan = flick_media::plan(&info, &settings)?;
    tracing::info!(
        ?plan,
        duration = info.duration_seconds,
        width = info.video.width,
        height = info.video.height,
        "planned"
    );
    record_shape(ctx, video, &info).await?;
    match plan {
        flick_media::Plan::Remux => Box::pin(crate::original::serve(ctx, video, original, &movie, work)).await,
        plan => Box::pin(crate::encode::from_movie(ctx, video, original, &movie, info, plan, work)).await,
    }
}

/// Where the index (`moov`) is, once the headers in front of it have arrived; `None` when it comes after the media
/// of an upload still running front to back (it arrives last), or the upload stood still for [`PATIENCE`]: a job
/// never holds a worker for an uploader who went away (the upload's completion queues it again).
async fn locate_index(original: &Original) -> Result<Option<BoxPos>, JobError> {
    let arrived = original.arrived().await?;
    if let Arrived::Partly { upload, .. } = &arrived
        && let Some(m) = upload.index_offset
    {
        // Sent first; the upload itself checked that a `moov` box starts there.
        let Some(header) = original.read_to_vec(m..m + 16, Some(PATIENCE)).await? else { return Ok(None) };
        return index_at(m, &header, original.len()).map(Some);
    }
    let mut scanner = BoxScanner::new(original.len());
    loop {
        match scanner.state() {
            ScanState::Found { moov, .. } => return Ok(Some(moov)),
            ScanState::NoIndex => {
                return Err(JobError::Media(MediaError::NotAVideo { detail: "the MP4/MOV file has no index".into() }));
            }
            ScanState::Failed | ScanState::Scanning => {}
        }
        let Some((offset, len)) = scanner.wants() else {
            return Err(JobError::Media(MediaError::NotAVideo { detail: "the MP4/MOV file has no index".into() }));
        };
        let arrived = original.arrived().await?;
        if !arrived.is_whole() && offset > arrived.prefix_len(original.len()) + LOOKAHEAD {
            return Ok(None);
        }
        let Some(bytes) = original.read_to_vec(offset..offset + len as u64, Some(PATIENCE)).await? else {
            return Ok(None);
        };
        scanner.feed(&bytes)?;
    }
}

/// The `moov` box whose header is `header`, at `offset` of a file of `file_len` bytes.
fn index_at(offset: u64, header: &[u8], file_len: u64) -> Result<BoxPos, JobError> {
    let malformed =
        || JobError::Index(flick_packaging::mp4::Mp4Error::IndexMalformed("no index where the upload said".into()));
    if header.len() < 8 || &header[4..8] != b"moov" {
        return Err(malformed());
    }
    let size32 = u64::from(u32::from_be_bytes([header[0], header[1], header[2], header[3]]));
    let size = match size32 {
        0 => file_len - offset,
        1 if header.len() >= 16 => u64::from_be_bytes([
            header[8], header[9], header[10], header[11], header[12], header[13], header[14], header[15],
        ]),
        n => n,
    };
    if size < 8 || offset.checked_add(size).is_none_or(|end| end > file_len) {
        return Err(malformed());
    }
    Ok(BoxPos { offset, size })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_must_be_a_moov_box_inside_the_file() {
        let header = |size: u32, kind: &[u8; 4]| [&size.to_be_bytes()[..], kind, &[0u8; 8]].concat();
        assert_eq!(index_at(80, &header(20, b"moov"), 100).unwrap(), BoxPos { offset: 80, size: 20 });
        assert_eq!(index_at(80, &header(0, b"moov"), 100).unwrap(), BoxPos { offset: 80, size: 20 });
        assert!(index_at(80, &header(21, b"moov"), 100).is_err(), "runs past the end");
        assert!(index_at(80, &header(20, b"mdat"), 100).is_err());
        assert!(index_at(80, &header(4, b"moov"), 100).is_err());
        let large = [&1u32.to_be_bytes()[..], b"moov", &20u64.to_be_bytes()].concat();
        assert_eq!(index_at(80, &large, 100).unwrap(), BoxPos { offset: 80, size: 20 });
    }
}
