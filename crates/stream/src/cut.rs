//! fMP4 segments cut from an original by its package: which can be served now, their playlists, and their bytes.
//!
//! A segment is listed once every byte it copies from the original has arrived, so a listed segment never changes:
//! its bytes are its package's header and the original's own bytes, whether read from the upload spool or, once
//! complete, from the store, less the H.264 SEI NAL units in them (dates, places, encoder settings). Which bytes
//! those are is found by reading the segment once ([`flick_packaging::mp4::SeiScan`]); the layout found is a pure
//! function of the package and the original, so a segment refetched after a restart is byte-identical.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::task::{Context, Poll};

use bytes::Bytes;
use flick_domain::ports::{ByteRange, ByteStream};
use flick_packaging::mp4::{Mp4Error, Package, PackagedSegment, SeiTracks, StrippedSegment};
use flick_packaging::playlist::{self, MediaPlaylist, Segment, Variant};
use futures_util::{Stream, StreamExt};

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

/// A segment as served: its length, known before its first byte (stripping SEI makes it shorter than the package
/// says), and its bytes. Reads as a stream of its bytes.
pub struct SegmentBody {
    pub len: u64,
    pub body: ByteStream,
}

impl Stream for SegmentBody {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.body.poll_next_unpin(cx)
    }
}

/// The bytes of segment `index` (which the caller found servable), stripped of H.264 SEI: reads the segment once to
/// find its SEI NAL units, then streams its rewritten header and the original's ranges without them. Viewers are
/// served through [`crate::Packages::segment_body`], which does that first read once per segment.
pub async fn segment_body(
    original: &Original,
    arrived: &Arrived,
    package: &Package,
    index: usize,
) -> Result<SegmentBody, StreamError> {
    let segment = package.segments.get(index).ok_or(StreamError::Gone)?;
    let tracks = SeiTracks::of(package)?;
    let layout = Arc::new(Served::from(strip(original, arrived, &tracks, segment).await??));
    serve(original, arrived, segment, &layout).await
}

/// A segment's layout as served, kept beside its package: the header to send, and the data to leave out.
#[derive(Debug)]
pub(crate) struct Served {
    header: Bytes,
    cuts: Vec<(u64, u64)>,
    len: u64,
    /// Its cuts were counted against the cache's budget.
    pub(crate) charged: AtomicBool,
}

impl Served {
    /// What its cuts weigh in memory (the header is counted with the package).
    pub(crate) fn weight(&self) -> usize {
        self.cuts.capacity() * std::mem::size_of::<(u64, u64)>()
    }
}

impl From<StrippedSegment> for Served {
    fn from(mut s: StrippedSegment) -> Self {
        let len = s.len();
        s.cuts.shrink_to_fit();
        Served { header: Bytes::from(s.header), cuts: s.cuts, len, charged: AtomicBool::new(false) }
    }
}

/// Reads the data of `segment` (which has arrived) once, to find its SEI NAL units. The outer error is reading
/// (worth trying again); the inner one is the data itself (the same every time).
pub(crate) async fn strip(
    original: &Original,
    arrived: &Arrived,
    tracks: &SeiTracks,
    segment: &PackagedSegment,
) -> Result<Result<StrippedSegment, Mp4Error>, StreamError> {
    if tracks.is_empty() {
        return Ok(Ok(StrippedSegment::unchanged(segment)));
    }
    let mut scan = match tracks.scan(segment) {
        Ok(scan) => scan,
        Err(e) => return Ok(Err(e)),
    };
    for &(offset, len) in &segment.ranges {
        if len == 0 {
            continue;
        }
        let mut body = original.read(arrived, ByteRange { start: offset, end: offset + len - 1 }).await?;
        let mut read = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            read += chunk.len() as u64;
            if read > len {
                break;
            }
            if let Err(e) = scan.feed(&chunk) {
                return Ok(Err(e));
            }
        }
        if read != len {
            let e = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, format!("read {read} of {len} bytes"));
            return Err(StreamError::Io(e));
        }
    }
    Ok(scan.finish())
}

/// Streams a segment laid out by [`strip`]: its header, then the original's ranges less the cuts.
pub(crate) async fn serve(
    original: &Original,
    arrived: &Arrived,
    segment: &PackagedSegment,
    layout: &Arc<Served>,
) -> Result<SegmentBody, StreamError> {
    let data = raw_data(original, arrived, segment).await?;
    let data = if layout.cuts.is_empty() {
        data
    } else {
        Box::pin(Strip { inner: data, layout: layout.clone(), pos: 0, cut: 0, pending: None })
    };
    let body =
        futures_util::stream::iter([bytes_stream(layout.header.clone())]).chain(futures_util::stream::iter([data]));
    Ok(SegmentBody { len: layout.len, body: Box::pin(body.flatten()) })
}

/// The original's bytes of a segment's ranges, in order.
async fn raw_data(
    original: &Original,
    arrived: &Arrived,
    segment: &PackagedSegment,
) -> Result<ByteStream, StreamError> {
    let mut parts = Vec::with_capacity(segment.ranges.len());
    for &(offset, len) in &segment.ranges {
        if len == 0 {
            continue;
        }
        parts.push(original.read(arrived, ByteRange { start: offset, end: offset + len - 1 }).await?);
    }
    Ok(Box::pin(futures_util::stream::iter(parts).flatten()))
}

/// A segment's data less its cuts, chunk by chunk: the kept parts of each chunk are slices of it, nothing is copied.
struct Strip {
    inner: ByteStream,
    layout: Arc<Served>,
    /// Position in the data of the next byte `inner` gives (or of `pending`).
    pos: u64,
    /// The first cut not wholly behind `pos`.
    cut: usize,
    /// The rest of a chunk, after a part of it was given.
    pending: Option<Bytes>,
}

impl Stream for Strip {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let me = &mut *self;
        loop {
            let chunk = match me.pending.take() {
                Some(chunk) => chunk,
                None => match std::task::ready!(me.inner.poll_next_unpin(cx)) {
                    Some(Ok(chunk)) => chunk,
                    other => return Poll::Ready(other),
                },
            };
            let end = me.pos + chunk.len() as u64;
            while me.layout.cuts.get(me.cut).is_some_and(|&(at, len)| at + len <= me.pos) {
                me.cut += 1;
            }
            match me.layout.cuts.get(me.cut).copied() {
                Some((at, _)) if at > me.pos && at < end => {
                    let keep = (at - me.pos) as usize;
                    me.pending = Some(chunk.slice(keep..));
                    me.pos = at;
                    return Poll::Ready(Some(Ok(chunk.slice(..keep))));
                }
                Some((at, len)) if at <= me.pos && at + len > me.pos => {
                    let skip = ((at + len).min(end) - me.pos) as usize;
                    me.pos += skip as u64;
                    if skip < chunk.len() {
                        me.pending = Some(chunk.slice(skip..));
                    }
                }
                _ => {
                    me.pos = end;
                    if !chunk.is_empty() {
                        return Poll::Ready(Some(Ok(chunk)));
                    }
                }
            }
        }
    }
}

/// The whole fMP4 stream of a package (init, then every segment as soon as its bytes have arrived, as packaged: SEI
/// included): what ffmpeg reads from its standard input to re-encode an MP4/MOV while it is uploaded. Fails if the
/// upload is abandoned.
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
            // As uploaded, SEI included: only ffmpeg reads this, and what it writes is stripped by its bitstream filter.
            raw_data(&original, &arrived, segment).await.map(|data| {
                let header = bytes_stream(Bytes::from(segment.header.clone()));
                Box::pin(futures_util::stream::iter([header, data]).flatten()) as ByteStream
            })
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
