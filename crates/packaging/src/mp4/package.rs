//! Cutting a parsed movie into an HLS package: the init segment, and per media segment the header
//! we generate plus the byte ranges of the original that follow it.

use super::Mp4Error;
use super::init::{InitTrack, init_segment};
use super::layout::{Coverage, layout};
use super::movie::{Media, Movie, Track, TrackKind};
use super::segment::{SegmentTargets, TrackTimes, plan};
use super::write::{Traf, segment_header};

/// A video (and its audio) ready to serve over HLS as fMP4, built from the original's bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Package {
    /// `ftyp` + `moov` (`mvex`, one `trak` per track with the original `stsd`, empty tables).
    pub init: Vec<u8>,
    pub segments: Vec<PackagedSegment>,
    /// RFC 6381, video then audio ("avc1.64001f,mp4a.40.2"); only the parts that are known.
    pub codecs: String,
    /// As displayed: pixel aspect and rotation applied.
    pub width: u32,
    pub height: u32,
    pub frame_rate: Option<f64>,
    /// Bits per second over the segments, for EXT-X-STREAM-INF.
    pub peak_bandwidth: u64,
    pub average_bandwidth: u64,
    pub duration_seconds: f64,
    /// The longest segment, rounded up (EXT-X-TARGETDURATION).
    pub target_duration: u32,
}

/// One media segment: `header` followed by the bytes of `ranges` of the original file.
#[derive(Debug, Clone, PartialEq)]
pub struct PackagedSegment {
    /// On the original's presentation timeline; the first segment starts at 0.
    pub start_seconds: f64,
    pub duration_seconds: f64,
    /// `moof` (mfhd, one traf per track: tfhd, tfdt, truns) + the `mdat` box header.
    pub header: Vec<u8>,
    /// (offset, len) of the original file, in order: header ++ bytes of these ranges = the segment.
    pub ranges: Vec<(u64, u64)>,
}

impl PackagedSegment {
    /// Bytes that come from the original file.
    pub fn data_len(&self) -> u64 {
        self.ranges.iter().fold(0u64, |sum, &(_, len)| sum.saturating_add(len))
    }

    /// The whole segment's length as packaged (served, it is shorter by what [`super::SeiScan`] strips).
    pub fn len(&self) -> u64 {
        (self.header.len() as u64).saturating_add(self.data_len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One past the last original byte it needs: on a sequential upload, the segment can be
    /// served once this many bytes have arrived.
    pub fn needed_up_to(&self) -> u64 {
        self.ranges.iter().map(|&(offset, len)| offset.saturating_add(len)).max().unwrap_or(0)
    }
}

/// Cuts `video` (and `audio`, if any; indexes into `movie.tracks`) into segments.
pub fn package(
    movie: &Movie,
    video: usize,
    audio: Option<usize>,
    targets: &SegmentTargets,
) -> Result<Package, Mp4Error> {
    if movie.fragmented {
        return Err(Mp4Error::unsupported("the file is fragmented"));
    }
    let (v, vm) = packaged(movie, video, TrackKind::Video)?;
    let audio = audio.map(|a| packaged(movie, a, TrackKind::Audio)).transpose()?;

    let mut tables = vec![(&vm.table, v.id)];
    tables.extend(audio.map(|(a, am)| (&am.table, a.id)));
    let coverage = Coverage::new(&tables)?;
    let video_times = times(v, vm);
    let audio_times = audio.map(|(a, am)| times(a, am));
    let plan = plan(&video_times, audio_times.as_ref(), targets)?;

    let mut init_tracks = vec![InitTrack {
        track_id: 1,
        video: true,
        timescale: v.timescale,
        media: vm,
        coded_size: (v.width, v.height),
    }];
    if let Some((a, am)) = audio {
        init_tracks.push(InitTrack {
            track_id: 2,
            video: false,
            timescale: a.timescale,
            media: am,
            coded_size: (0, 0),
        });
    }
    let init = init_segment(&init_tracks)?;

    let mut segments = Vec::with_capacity(plan.segments.len());
    for (k, cut) in plan.segments.iter().enumerate() {
        let mut parts = vec![(&vm.table, cut.video.clone())];
        parts.extend(audio.map(|(_, am)| (&am.table, cut.audio.clone())));
        let l = layout(&parts, &coverage);
        let mut trafs =
            vec![Traf { track_id: 1, table: &vm.table, base: plan.video_base, runs: &l.runs[0], video: true }];
        if let (Some((_, am)), Some(runs)) = (audio, l.runs.get(1)) {
            trafs.push(Traf { track_id: 2, table: &am.table, base: plan.audio_base, runs, video: false });
        }
        let data_len = l.ranges.iter().map(|&(_, len)| len).sum();
        let sequence = u32::try_from(k + 1).map_err(|_| Mp4Error::unsupported("too many segments"))?;
        segments.push(PackagedSegment {
            start_seconds: cut.start_seconds,
            duration_seconds: cut.duration_seconds,
            header: segment_header(sequence, &trafs, data_len)?,
            ranges: l.ranges,
        });
    }

    let codecs: Vec<String> =
        [Some(v), audio.map(|(a, _)| a)].into_iter().flatten().filter_map(Track::codecs_string).collect();
    let (width, height) = displayed_size(v);
    let duration_seconds: f64 = segments.iter().map(|s| s.duration_seconds).sum();
    let bits = |s: &PackagedSegment| s.len() as f64 * 8.0;
    let peak =
        segments.iter().filter(|s| s.duration_seconds > 0.0).map(|s| bits(s) / s.duration_seconds).fold(0.0, f64::max);
    let total_bits: f64 = segments.iter().map(bits).sum();
    let average = if duration_seconds > 0.0 { total_bits / duration_seconds } else { 0.0 };
    let longest = segments.iter().map(|s| s.duration_seconds).fold(0.0, f64::max);
    Ok(Package {
        init,
        segments,
        codecs: codecs.join(","),
        width,
        height,
        frame_rate: v.frame_rate,
        peak_bandwidth: peak.ceil() as u64,
        average_bandwidth: average.ceil() as u64,
        duration_seconds,
        target_duration: ((longest - 1e-6).ceil() as u32).max(1),
    })
}

fn times<'a>(t: &Track, m: &'a Media) -> TrackTimes<'a> {
    TrackTimes { table: &m.table, timescale: t.timescale, shift: m.shift }
}

/// A track to package: it exists, is of `kind`, has samples in this file and one sample description.
fn packaged(movie: &Movie, index: usize, kind: TrackKind) -> Result<(&Track, &Media), Mp4Error> {
    let track = movie.tracks.get(index).ok_or_else(|| Mp4Error::unsupported(format!("no track {index}")))?;
    let media = track.media.as_ref().filter(|_| track.kind == kind);
    let media = media.ok_or_else(|| Mp4Error::unsupported(format!("track {} is not {kind:?}", track.id)))?;
    if media.table.samples.is_empty() {
        return Err(Mp4Error::unsupported(format!("track {} has no samples", track.id)));
    }
    if media.table.description_index.is_none() {
        return Err(Mp4Error::unsupported(format!("track {} switches sample descriptions", track.id)));
    }
    if !media.self_contained {
        return Err(Mp4Error::unsupported(format!("track {} refers to data in another file", track.id)));
    }
    Ok((track, media))
}

/// The size a player shows: the `tkhd` size (or the coded size with its pixel aspect), turned by
/// the rotation.
fn displayed_size(v: &Track) -> (u32, u32) {
    let (w, h) = if v.display_width > 0 && v.display_height > 0 {
        (v.display_width, v.display_height)
    } else {
        let (num, den) = v.pixel_aspect.unwrap_or((1, 1));
        ((u64::from(v.width) * u64::from(num) / u64::from(den.max(1))).min(u64::from(u32::MAX)) as u32, v.height)
    };
    if v.rotation % 180 == 90 { (h, w) } else { (w, h) }
}
