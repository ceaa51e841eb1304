//! fMP4 segments cut from an original by its package: which can be served now, their playlists, and their bytes.
//!
//! A segment is listed once every byte it copies from the original has arrived, so a listed segment never changes:
//! its bytes are its package's header and the original's own bytes, whether read from the upload spool or, once
//! complete, from the store.

use std::sync::Arc;

use bytes::Bytes;
use flick_domain::ports::{ByteRange, ByteStream};
use flick_packaging::mp4::{Package, PackagedSegment};
use flick_packaging::playlist::{self, MediaPlaylist, Segment, Variant};
use futures_util::StreamExt;

use crate::original::{Arrived, Original, StreamError, bytes_stream};

/// The name of the init segment in a video's playlist.
pub const INIT_FILE: &str = "init.mp4";

/// Whether every byte a segment copies from the original has arrived.
pub fn is_servable(segment: &PackagedSegment, arrived: &Arrived) -> bool {
    segment.ranges.iter().all(|&(offset, len)| arrived.contains(offset..offset.saturating_add(len)))
}

/// How many segments, from the first, can be served now.
pub fn servable(package: &Package, arrived: &Arrived) -> usize {
    if arrived.is_whole() {
        return package.segments.len();
    }
    package.segments.iter().take_while(|s| is_servable(s, arrived)).count()
}

/// Seconds of video the first `count` segments hold.
pub fn playable_seconds(package: &Package, count: usize) -> f64 {
    package.segments.iter().take(count).map(|s| s.duration_seconds).sum()
}

/// The media playlist listing the first `count` segments; closed when they are all of them and `ended`.
pub fn media_playlist(package: &Package, count: usize, ended: bool) -> String {
    let count = count.min(package.segments.len());
    let segments: Vec<Segment> = package.segments[..count]
        .iter()
        .enumerate()
        .map(|(i, s)| Segment { uri: playlist::segment_name(i, true), duration: s.duration_seconds })
        .collect();
    playlist::render_media(&MediaPlaylist {
        segments: &segments,
        target_duration: package.target_duration,
        ended: ended && count == package.segments.len(),
        init: Some(INIT_FILE),
    })
}

/// The master playlist of a package.
pub fn master_playlist(package: &Package) -> String {
    playlist::render_master(&Variant {
        bandwidth: package.peak_bandwidth,
        average_bandwidth: Some(package.average_bandwidth),
        width: package.width,
        height: package.height,
        codecs: package.codecs.clone(),
        frame_rate: package.frame_rate,
        uri: "index.m3u8".into(),
    })
}

/// The bytes of segment `index` (which the caller found servable): its header, then the original's ranges.
pub async fn segment_body(
    original: &Original,
    arrived: &Arrived,
    package: &Package,
    index: usize,
) -> Result<ByteStream, StreamError> {
    let segment = package.segments.get(index).ok_or(StreamError::Gone)?;
    let mut parts = vec![bytes_stream(Bytes::from(segment.header.clone()))];
    for &(offset, len) in &segment.ranges {
        if len == 0 {
            continue;
        }
        parts.push(original.read(arrived, ByteRange { start: offset, end: offset + len - 1 }).await?);
    }
    Ok(Box::pin(futures_util::stream::iter(parts).flatten()))
}

/// The whole fMP4 stream of a package (init, then every segment as soon as its bytes have arrived): what ffmpeg reads
/// from its standard input to re-encode an MP4/MOV while it is uploaded. Fails if the upload is abandoned.
pub fn fmp4_stream(original: Original, package: Arc<Package>) -> ByteStream {
    let init = bytes_stream(Bytes::from(package.init.clone()));
    let segments = futures_util::stream::unfold((original, package, 0usize), |(original, package, index)| async move {
        let segment = package.segments.get(index)?;
        let ranges = segment.ranges.clone();
        let body = async {
            // Every range must have arrived (an index-first upload delivers them in no single order); what has
            // arrived only grows, so once the last is in, all are.
            let mut arrived = None;
            for &(offset, len) in &ranges {
                arrived = original.wait_for(offset..offset + len, None).await?;
            }
            let arrived = match arrived {
                Some(a) => a,
                None => original.arrived().await?,
            };
            segment_body(&original, &arrived, &package, index).await
        }
        .await;
        match body {
            Ok(stream) => Some((stream, (original, package, index + 1))),
            // The stream ends with the error: nothing after it can be trusted.
            Err(e) => Some((bytes_error(e), (original, package, usize::MAX))),
        }
    });
    Box::pin(futures_util::stream::iter([init]).chain(segments).flatten())
}

fn bytes_error(e: StreamError) -> ByteStream {
    Box::pin(futures_util::stream::iter([Err(std::io::Error::other(e.to_string()))]))
}
