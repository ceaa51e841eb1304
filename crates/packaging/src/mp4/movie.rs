//! The index (`moov`) as Flick sees it: tracks with their public facts and, for audio and video,
//! private sample tables. Everything here is read as hostile input: sizes and counts are checked
//! against [`Limits`] and against each other before anything is allocated.

use super::Mp4Error;
use super::boxes::{Reader, children, find, require, whole_box};
use super::codec::{Codec, SampleEntry, codecs_string, parse_sample_entry};
use super::scan::BoxPos;
use super::tables::{Bounds, SampleTable, Stbl, build};

/// How much index Flick accepts: beyond these, the file is handed to ffmpeg (or refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The `moov` box, header included.
    pub max_index_bytes: u64,
    /// Samples of all audio and video tracks together (each costs 24 bytes while packaging).
    pub max_samples: u64,
    pub max_tracks: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_index_bytes: 64 << 20, max_samples: 5_000_000, max_tracks: 16 }
    }
}

impl Limits {
    /// Checks the index's size before its bytes are read (the scanner knows it from the header).
    pub fn check_index(&self, moov: &BoxPos) -> Result<(), Mp4Error> {
        if moov.size > self.max_index_bytes {
            return Err(Mp4Error::IndexTooLarge(format!("{} bytes of index", moov.size)));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackKind {
    Video,
    Audio,
    Other,
}

/// A parsed index.
#[derive(Debug, Clone)]
pub struct Movie {
    pub tracks: Vec<Track>,
    /// `mvex` is present: the samples live in fragments (`moof`), not in these tables.
    pub fragmented: bool,
    pub duration_seconds: f64,
}

impl Movie {
    /// The first track of `kind` that has samples: what a player would pick.
    pub fn first_track(&self, kind: TrackKind) -> Option<usize> {
        self.tracks.iter().position(|t| t.kind == kind && t.sample_count > 0)
    }
}

/// One track's public facts. Its sample tables stay private to the packager.
#[derive(Debug, Clone)]
pub struct Track {
    pub id: u32,
    pub kind: TrackKind,
    /// `tkhd` flags bit 0.
    pub enabled: bool,
    /// The sample entry type (`avc1`, `hvc1`, `mp4a`...).
    pub fourcc: [u8; 4],
    pub codec: Codec,
    pub timescale: u32,
    /// Media duration: the decode time past the last sample.
    pub duration_seconds: f64,
    pub sample_count: u64,
    /// Coded size, from the sample entry.
    pub width: u32,
    pub height: u32,
    /// The `tkhd` size (pixel aspect applied by the muxer, rotation not).
    pub display_width: u32,
    pub display_height: u32,
    /// Clockwise quarter turns from the `tkhd` matrix: 0, 90, 180 or 270. (ffprobe reports the
    /// display matrix angle counter-clockwise: its -90 is our 90.)
    pub rotation: i32,
    /// `pasp`, when not square.
    pub pixel_aspect: Option<(u32, u32)>,
    /// Average frames per second (video).
    pub frame_rate: Option<f64>,
    pub sample_rate: u32,
    pub channels: u32,
    pub bit_rate: Option<u64>,
    /// The longest stretch without a sync sample (seconds, from the start and to the end included).
    pub max_keyframe_interval: Option<f64>,
    pub(crate) media: Option<Media>,
}

impl Track {
    /// The RFC 6381 codecs string ("avc1.64001f", "mp4a.40.2", "hvc1.1.6.L93.B0"); `None` when unknown.
    pub fn codecs_string(&self) -> Option<String> {
        codecs_string(self.fourcc, &self.codec)
    }
}

/// What the packager needs of an audio or video track.
#[derive(Clone)]
pub(crate) struct Media {
    pub table: SampleTable,
    /// The whole `stsd` box, verbatim: codec configuration reaches players byte-identical.
    pub stsd: Vec<u8>,
    /// The `tkhd` matrix and size, carried into the init segment (rotation and display size).
    pub matrix: [u8; 36],
    pub tkhd_size: [u8; 8],
    /// The first edit: presentation time = decode time + composition offset + this (track ticks).
    pub shift: i64,
    /// Every data reference points into this file.
    pub self_contained: bool,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media").field("samples", &self.table.samples.len()).field("shift", &self.shift).finish()
    }
}

/// Parses `moov` (the whole box, as located by the scanner at `moov_offset`) of a file of
/// `file_len` bytes.
pub fn parse_movie(moov: &[u8], moov_offset: u64, file_len: u64, limits: &Limits) -> Result<Movie, Mp4Error> {
    let index = BoxPos { offset: moov_offset, size: moov.len() as u64 };
    limits.check_index(&index)?;
    if index.end() > file_len {
        return Err(Mp4Error::malformed("the index extends past the end of the file"));
    }
    let body = whole_box(moov, b"moov")?.body;
    let mut r = Reader::new(require(body, b"mvhd")?.body, "mvhd");
    let (timescale, duration) = match r.version_flags()?.0 {
        1 => (r.skip(16).and_then(|_| r.u32())?, r.u64()?),
        _ => (r.skip(8).and_then(|_| r.u32())?, u64::from(r.u32()?)),
    };
    if timescale == 0 {
        return Err(Mp4Error::malformed("mvhd timescale is 0"));
    }
    let fragmented = find(body, b"mvex")?.is_some();
    let traks: Vec<&[u8]> = children(body)
        .filter_map(|c| c.map(|c| (&c.kind == b"trak").then_some(c.body)).transpose())
        .collect::<Result<_, _>>()?;
    if traks.len() > limits.max_tracks {
        return Err(Mp4Error::IndexTooLarge(format!("{} tracks", traks.len())));
    }

    // Count every sample to be expanded before expanding any.
    let mut heads = Vec::with_capacity(traks.len());
    let mut samples = 0u64;
    for trak in traks {
        let head = TrakHead::read(trak)?;
        if head.kind != TrackKind::Other {
            samples = samples.saturating_add(Stbl::locate(head.stbl)?.sample_count()?);
        }
        heads.push(head);
    }
    if samples > limits.max_samples {
        return Err(Mp4Error::IndexTooLarge(format!("{samples} samples")));
    }

    let tracks = heads.into_iter().map(|h| h.into_track(timescale, index, file_len)).collect::<Result<Vec<_>, _>>()?;
    let has_media = tracks.iter().any(|t| t.media.as_ref().is_some_and(|m| m.table.end_dts > 0));
    if !fragmented && !has_media {
        return Err(Mp4Error::malformed("the index lists no audio or video samples"));
    }
    let longest = tracks.iter().map(|t| t.duration_seconds).fold(0.0, f64::max);
    let duration_seconds = if duration > 0 { duration as f64 / f64::from(timescale) } else { longest };
    Ok(Movie { tracks, fragmented, duration_seconds })
}

/// The boxes of a `trak` read before its tables are expanded.
struct TrakHead<'a> {
    id: u32,
    enabled: bool,
    kind: TrackKind,
    matrix: [u8; 36],
    tkhd_size: [u8; 8],
    timescale: u32,
    edits: Option<&'a [u8]>,
    stbl: &'a [u8],
    self_contained: bool,
}

impl<'a> TrakHead<'a> {
    fn read(trak: &'a [u8]) -> Result<Self, Mp4Error> {
        let mut r = Reader::new(require(trak, b"tkhd")?.body, "tkhd");
        let (version, flags) = r.version_flags()?;
        r.skip(if version == 1 { 16 } else { 8 })?;
        let id = r.u32()?;
        r.skip(if version == 1 { 12 } else { 8 })?;
        r.skip(16)?;
        let matrix = r.take(36)?.try_into().map_err(|_| Mp4Error::malformed("tkhd matrix"))?;
        let tkhd_size = r.take(8)?.try_into().map_err(|_| Mp4Error::malformed("tkhd size"))?;

        let mdia = require(trak, b"mdia")?.body;
        let mut r = Reader::new(require(mdia, b"mdhd")?.body, "mdhd");
        let version = r.version_flags()?.0;
        r.skip(if version == 1 { 16 } else { 8 })?;
        let timescale = r.u32()?;
        let mut r = Reader::new(require(mdia, b"hdlr")?.body, "hdlr");
        r.skip(8)?;
        let kind = match &r.fourcc()? {
            b"vide" => TrackKind::Video,
            b"soun" => TrackKind::Audio,
            _ => TrackKind::Other,
        };
        let edits = find(trak, b"edts")?.map(|e| find(e.body, b"elst")).transpose()?.flatten().map(|e| e.body);
        let mut head = TrakHead {
            id,
            enabled: flags & 1 != 0,
            kind,
            matrix,
            tkhd_size,
            timescale,
            edits,
            stbl: &[],
            self_contained: true,
        };
        // Tracks we never package (timecode, subtitles, metadata) are read as far as they can be:
        // their tables cannot fail the file.
        if kind == TrackKind::Other {
            let minf = find(mdia, b"minf").ok().flatten();
            head.stbl = minf.and_then(|m| find(m.body, b"stbl").ok().flatten()).map_or(&[], |b| b.body);
            return Ok(head);
        }
        let minf = require(mdia, b"minf")?.body;
        head.stbl = require(minf, b"stbl")?.body;
        head.self_contained = self_contained(minf)?;
        Ok(head)
    }

    fn into_track(self, movie_timescale: u32, index: BoxPos, file_len: u64) -> Result<Track, Mp4Error> {
        if self.kind == TrackKind::Other {
            let stbl = Stbl::locate(self.stbl).ok();
            let count = stbl.as_ref().and_then(|s| s.sample_count().ok()).unwrap_or(0);
            let entry = stbl.and_then(|s| parse_sample_entry(s.stsd.body, 1, self.kind).ok());
            return Ok(self.track(entry, count, None));
        }
        if self.timescale == 0 {
            return Err(Mp4Error::malformed(format!("track {} has timescale 0", self.id)));
        }
        let stbl = Stbl::locate(self.stbl)?;
        let table = build(&stbl, &Bounds { track_id: self.id, file_len, index })?;
        if !table.samples.is_empty() && table.end_dts == 0 {
            return Err(Mp4Error::malformed(format!("track {} lasts no time", self.id)));
        }
        let entry = parse_sample_entry(stbl.stsd.body, table.description_index.unwrap_or(1), self.kind)?;
        let shift = match self.edits {
            Some(elst) => edit_shift(elst, movie_timescale, self.timescale, table.end_dts)?,
            None => 0,
        };
        let media = Media {
            table,
            stsd: stbl.stsd.whole.to_vec(),
            matrix: self.matrix,
            tkhd_size: self.tkhd_size,
            shift,
            self_contained: self.self_contained,
        };
        let count = stbl.sample_count()?;
        let kind = self.kind;
        let timescale = self.timescale;
        let mut track = self.track(Some(entry), count, Some(media));
        if let Some(media) = &track.media {
            fill_stats(&mut track.duration_seconds, &mut track.frame_rate, &mut track.bit_rate, media, timescale);
            if kind == TrackKind::Video {
                track.max_keyframe_interval = max_keyframe_interval(&media.table, timescale);
            } else {
                track.frame_rate = None;
            }
        }
        Ok(track)
    }

    /// The public facts of a track, before the statistics of its samples.
    fn track(&self, entry: Option<SampleEntry>, sample_count: u64, media: Option<Media>) -> Track {
        let fourcc = entry.as_ref().map_or(*b"\0\0\0\0", |e| e.fourcc);
        let codec = entry.as_ref().map_or(Codec::Other { fourcc }, |e| e.codec.clone());
        let fixed = |at: usize| u32::from_be_bytes([0, 1, 2, 3].map(|i| self.tkhd_size[at + i])) >> 16;
        Track {
            id: self.id,
            kind: self.kind,
            enabled: self.enabled,
            fourcc,
            codec,
            timescale: self.timescale,
            duration_seconds: 0.0,
            sample_count,
            width: entry.as_ref().map_or(0, |e| e.width),
            height: entry.as_ref().map_or(0, |e| e.height),
            display_width: fixed(0),
            display_height: fixed(4),
            rotation: rotation(&self.matrix),
            pixel_aspect: entry.as_ref().and_then(|e| e.pixel_aspect),
            frame_rate: None,
            sample_rate: entry.as_ref().map_or(0, |e| e.sample_rate),
            channels: entry.as_ref().map_or(0, |e| e.channels),
            bit_rate: None,
            max_keyframe_interval: None,
            media,
        }
    }
}

fn fill_stats(duration: &mut f64, frame_rate: &mut Option<f64>, bit_rate: &mut Option<u64>, m: &Media, ts: u32) {
    let seconds = m.table.end_dts as f64 / f64::from(ts);
    *duration = seconds;
    if seconds > 0.0 {
        *frame_rate = Some(m.table.samples.len() as f64 / seconds);
        let bytes: u64 = m.table.samples.iter().map(|s| u64::from(s.size)).sum();
        *bit_rate = Some((bytes as f64 * 8.0 / seconds).round() as u64);
    }
}

/// Longest time without a sync sample: from the start to the first, between two, and after the last.
fn max_keyframe_interval(table: &SampleTable, timescale: u32) -> Option<f64> {
    let dts = |i: u32| table.samples.get(i as usize).map_or(table.end_dts, |s| s.dts);
    let longest = match &table.sync {
        None => (0..table.samples.len()).map(|i| table.duration(i)).max()?,
        Some(sync) => {
            let first = *sync.first()?;
            let last = sync.last().copied().unwrap_or(first);
            let gaps = sync.windows(2).map(|w| dts(w[1]).saturating_sub(dts(w[0])));
            gaps.chain([dts(first), table.end_dts.saturating_sub(dts(last))]).max()?
        }
    };
    Some(longest as f64 / f64::from(timescale))
}

/// Clockwise rotation from a `tkhd` matrix: only exact quarter turns count (mirrors and shears,
/// which no camera writes, read as 0).
pub(crate) fn rotation(matrix: &[u8; 36]) -> i32 {
    let at = |i: usize| i32::from_be_bytes([matrix[i * 4], matrix[i * 4 + 1], matrix[i * 4 + 2], matrix[i * 4 + 3]]);
    let (a, b, c, d) = (at(0).signum(), at(1).signum(), at(3).signum(), at(4).signum());
    match (a, b, c, d) {
        (0, 1, -1, 0) => 90,
        (-1, 0, 0, -1) => 180,
        (0, -1, 1, 0) => 270,
        _ => 0,
    }
}

/// The shift the first edit applies, in track ticks: leading empty edits delay the track, the
/// first real edit's `media_time` is where its presentation starts.
pub(crate) fn edit_shift(elst: &[u8], movie_timescale: u32, timescale: u32, end_dts: u64) -> Result<i64, Mp4Error> {
    let mut r = Reader::new(elst, "elst");
    let version = r.version_flags()?.0;
    let entries = r.u32()?;
    let (mut empty, mut start) = (0u64, 0i64);
    for _ in 0..entries {
        let (duration, media_time) =
            if version == 1 { (r.u64()?, r.i64()?) } else { (u64::from(r.u32()?), i64::from(r.i32()?)) };
        r.skip(4)?;
        if media_time == -1 {
            empty = empty.saturating_add(duration);
            continue;
        }
        if media_time < 0 || media_time as u64 > end_dts {
            return Err(Mp4Error::malformed(format!("edit list starts at {media_time}, outside the media")));
        }
        start = media_time;
        break;
    }
    let delay = u128::from(empty) * u128::from(timescale) / u128::from(movie_timescale.max(1));
    let delay = i64::try_from(delay).ok().filter(|&d| d <= 1 << 48);
    let delay = delay.ok_or_else(|| Mp4Error::malformed("edit list delay is out of range"))?;
    Ok(delay - start)
}

/// Whether every data reference of a `minf` points into this file (flag 1), as ours must: samples
/// in another file would be served from the wrong bytes.
fn self_contained(minf: &[u8]) -> Result<bool, Mp4Error> {
    let Some(dref) = find(minf, b"dinf")?.map(|d| find(d.body, b"dref")).transpose()?.flatten() else {
        return Ok(true);
    };
    let mut r = Reader::new(dref.body, "dref");
    r.version_flags()?;
    r.u32()?;
    for entry in children(r.rest()) {
        let flags = Reader::new(entry?.body, "dref entry").version_flags()?.1;
        if flags & 1 == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}
