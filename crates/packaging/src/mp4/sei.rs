//! Stripping H.264 SEI NAL units from the segments we serve: some cameras write the date, the place or the device
//! in them (user data, ITU-T T.35 or unregistered), and x264 its version and every option it was run with.
//!
//! Whole SEI NAL units go, whatever their payloads: no SEI message is needed to decode (segments start at IDR
//! frames, so recovery points and HRD timing are of no use to a player), dropping the unit keeps its syntax
//! (payload types and sizes, emulation prevention) out of what we parse from hostile input, and one unit may mix
//! harmless and revealing messages.
//!
//! The data between a segment's samples goes too: the packager reads small gaps along with them when they hold other
//! samples of the packaged tracks (fewer reads), and those may be another segment's frames, SEI and all.
//!
//! The package is cut from the index before the media data arrive, so which bytes are SEI is only known when a
//! segment's bytes have all arrived. [`SeiScan`] reads them once, as a stream (it looks at each NAL unit's length
//! and type byte and skips the rest, so it holds no sample in memory), and gives a [`StrippedSegment`]: the
//! segment's header with its sample sizes, data offsets and `mdat` size rewritten, and the byte ranges of its data to
//! leave out. That layout is a pure function of the package and the original's bytes: the same on every machine,
//! after any restart, whatever the chunks the bytes came in.

use std::ops::Range;

use super::Mp4Error;
use super::boxes::{Reader, children, find, read_header, whole_box};
use super::format::mdat_header_matches;
use super::package::{Package, PackagedSegment};

/// `nal_unit_type` of Supplemental Enhancement Information (H.264 Table 7-1).
const NAL_SEI: u8 = 6;

/// At most this many separate stretches of SEI per H.264 sample of a segment (adjacent units count as one).
const MAX_CUTS_PER_SAMPLE: usize = 8;

const TFHD_BASE_DATA_OFFSET: u32 = 0x00_0001;
const TFHD_DESCRIPTION_INDEX: u32 = 0x00_0002;
const TFHD_DEFAULT_DURATION: u32 = 0x00_0008;
const TFHD_DEFAULT_SIZE: u32 = 0x00_0010;
const TFHD_DEFAULT_FLAGS: u32 = 0x00_0020;
const TFHD_DEFAULT_BASE_IS_MOOF: u32 = 0x02_0000;
const TRUN_DATA_OFFSET: u32 = 0x00_0001;
const TRUN_FIRST_FLAGS: u32 = 0x00_0004;
const TRUN_DURATION: u32 = 0x00_0100;
const TRUN_SIZE: u32 = 0x00_0200;
const TRUN_FLAGS: u32 = 0x00_0400;
const TRUN_CTO: u32 = 0x00_0800;

/// The H.264 tracks of a package (from its init segment), with the size of the length before each NAL unit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeiTracks {
    /// (track id, NAL length size in bytes: 1 to 4).
    tracks: Vec<(u32, u8)>,
}

impl SeiTracks {
    /// Reads the init segment: every `avc1`/`avc3` track, with `lengthSizeMinusOne` of its `avcC`.
    pub fn of(package: &Package) -> Result<SeiTracks, Mp4Error> {
        let bad = |what: &str| Mp4Error::PackageMalformed(format!("init segment: {what}"));
        let moov = children(&package.init)
            .find_map(|b| b.ok().filter(|b| &b.kind == b"moov"))
            .ok_or_else(|| bad("no moov"))?;
        let mut tracks = Vec::new();
        for trak in children(moov.body) {
            let trak = trak?;
            if &trak.kind != b"trak" {
                continue;
            }
            let tkhd = find(trak.body, b"tkhd")?.ok_or_else(|| bad("a trak without tkhd"))?;
            let mut r = Reader::new(tkhd.body, "tkhd");
            let skip = if r.version_flags()?.0 == 1 { 16 } else { 8 };
            r.skip(skip)?;
            let track_id = r.u32()?;
            let stsd = [b"mdia", b"minf", b"stbl", b"stsd"]
                .iter()
                .try_fold(trak.body, |body, kind| Ok::<_, Mp4Error>(find(body, kind)?.map_or(&[][..], |b| b.body)))?;
            let Some(entry) = stsd.get(8..).and_then(|entries| children(entries).next()) else { continue };
            let entry = entry?;
            if !matches!(&entry.kind, b"avc1" | b"avc3") {
                continue;
            }
            // VisualSampleEntry: 78 bytes of fields, then its boxes.
            let avcc = entry.body.get(78..).map(|boxes| find(boxes, b"avcC")).transpose()?.flatten();
            let length_size = avcc.and_then(|b| b.body.get(4)).map(|&b| (b & 0x03) + 1);
            tracks.push((track_id, length_size.ok_or_else(|| bad("an H.264 track without avcC"))?));
        }
        Ok(SeiTracks { tracks })
    }

    /// No H.264 track: segments are served as packaged.
    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    /// Starts reading the data of `segment` (its bytes after the header, in order) to find its SEI NAL units.
    pub fn scan(&self, segment: &PackagedSegment) -> Result<SeiScan, Mp4Error> {
        SeiScan::new(self, segment)
    }
}

/// A segment as served: its header rewritten for what is left out (SEI NAL units, and the bytes between its samples),
/// and which bytes of its data go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrippedSegment {
    /// `moof` + `mdat` header, with the sample sizes, data offsets and `mdat` size of the stripped data.
    pub header: Vec<u8>,
    /// (position in the segment's data, length) of each byte range left out, in order, apart from each other.
    pub cuts: Vec<(u64, u64)>,
    /// The data's length before stripping (the package's ranges).
    pub data_len: u64,
}

impl StrippedSegment {
    /// A segment served as packaged (nothing to strip).
    pub fn unchanged(segment: &PackagedSegment) -> Self {
        StrippedSegment { header: segment.header.clone(), cuts: Vec::new(), data_len: segment.data_len() }
    }

    /// Bytes left out.
    pub fn removed(&self) -> u64 {
        self.cuts.iter().map(|&(_, len)| len).sum()
    }

    /// The whole served segment's length: header and the data that stays.
    pub fn len(&self) -> u64 {
        (self.header.len() as u64).saturating_add(self.data_len.saturating_sub(self.removed()))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The positions of the data that stays, in order.
    pub fn kept(&self) -> impl Iterator<Item = Range<u64>> + '_ {
        let ends = self.cuts.iter().map(|&(at, _)| at).chain([self.data_len]);
        let starts = [0].into_iter().chain(self.cuts.iter().map(|&(at, len)| at + len));
        starts.zip(ends).filter(|(s, e)| s < e).map(|(s, e)| s..e)
    }

    /// The served segment made of its data in memory (tests, small tools).
    pub fn apply(&self, data: &[u8]) -> Vec<u8> {
        let mut out = self.header.clone();
        for r in self.kept() {
            out.extend_from_slice(data.get(r.start as usize..r.end as usize).unwrap_or_default());
        }
        out
    }
}

/// Two lists of (position, length) in order, apart from each other, as one in order.
fn merge(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if j >= b.len() || (i < a.len() && a[i].0 < b[j].0) {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out
}

/// Strips `segment` whose data (the original's bytes of its ranges, in order) is `data`.
pub fn strip_sei(tracks: &SeiTracks, segment: &PackagedSegment, data: &[u8]) -> Result<StrippedSegment, Mp4Error> {
    let mut scan = tracks.scan(segment)?;
    scan.feed(data)?;
    scan.finish()
}

/// One H.264 sample of the segment, where its bytes are.
#[derive(Debug, Clone, Copy)]
struct Span {
    /// Position in the segment's data.
    pos: u64,
    size: u32,
    track: u32,
    /// Where its size field is in the header.
    size_at: usize,
}

/// The sample being read, and the NAL unit in it whose length (and type byte) we are collecting.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    span: usize,
    /// Where the next NAL unit's length starts.
    nal_at: u64,
    /// Its length field as read so far, and how many of its bytes (and of the type byte after it) were seen.
    head: [u8; 4],
    have: usize,
    /// Bytes of this sample left out.
    removed: u64,
}

/// Finds the SEI NAL units of one segment as its data streams by ([`SeiScan::feed`] in order, any chunking), then
/// gives the stripped layout ([`SeiScan::finish`]). Holds a few bytes of state per sample, never the data.
#[derive(Debug)]
pub struct SeiScan {
    header: Vec<u8>,
    /// Where each `trun`'s data offset field is in the header, and the position in the data it points to.
    offsets: Vec<(usize, u64)>,
    /// The H.264 samples, by position; the NAL length size of each track.
    spans: Vec<Span>,
    /// The other samples (position, size), while the header is read.
    others: Vec<(u64, u64)>,
    /// The data between the segment's samples (samples of other segments the packager read along): left out.
    gaps: Vec<(u64, u64)>,
    length_sizes: Vec<(u32, u8)>,
    /// New sizes of the samples that lost bytes: (index in `spans`, removed).
    shrunk: Vec<(usize, u64)>,
    /// The segment's ranges of the original, to name a bad sample by its place in the file.
    ranges: Vec<(u64, u64)>,
    mdat_header_len: usize,
    data_len: u64,
    /// Data bytes fed so far; the next sample to open; the one being read.
    pos: u64,
    next: usize,
    cursor: Option<Cursor>,
    cuts: Vec<(u64, u64)>,
}

impl SeiScan {
    fn new(tracks: &SeiTracks, segment: &PackagedSegment) -> Result<SeiScan, Mp4Error> {
        let data_len = segment.data_len();
        let header = segment.header.clone();
        if !mdat_header_matches(&header, data_len) {
            return Err(Mp4Error::PackageMalformed("a segment header does not match its ranges".into()));
        }
        let mut scan = SeiScan {
            offsets: Vec::new(),
            spans: Vec::new(),
            others: Vec::new(),
            gaps: Vec::new(),
            length_sizes: tracks.tracks.clone(),
            shrunk: Vec::new(),
            ranges: segment.ranges.clone(),
            mdat_header_len: 0,
            data_len,
            pos: 0,
            next: 0,
            cursor: None,
            cuts: Vec::new(),
            header,
        };
        if !tracks.is_empty() {
            scan.read_header()?;
        }
        Ok(scan)
    }

    /// Finds every `trun` of the `moof` and every sample's place in the data (what lies between them goes).
    fn read_header(&mut self) -> Result<(), Mp4Error> {
        let bad = |what: &str| Mp4Error::PackageMalformed(format!("segment header: {what}"));
        let moof_len = read_header(&self.header)
            .ok()
            .filter(|h| &h.kind == b"moof")
            .and_then(|h| h.size)
            .and_then(|s| usize::try_from(s).ok())
            .ok_or_else(|| bad("no moof"))?;
        self.mdat_header_len = self.header.len().checked_sub(moof_len).ok_or_else(|| bad("moof past its end"))?;
        if !matches!(self.mdat_header_len, 8 | 16) || self.header.get(moof_len + 4..moof_len + 8) != Some(b"mdat") {
            return Err(bad("no mdat header after the moof"));
        }
        let header = std::mem::take(&mut self.header);
        let result = self.read_moof(&header, moof_len);
        self.header = header;
        result?;
        self.spans.sort_unstable_by_key(|s| s.pos);
        // Every sample of the segment, by position: what lies between them is no sample of this segment.
        let mut all = std::mem::take(&mut self.others);
        all.extend(self.spans.iter().map(|s| (s.pos, u64::from(s.size))));
        all.sort_unstable();
        let mut end = 0;
        for (pos, size) in all {
            if pos < end {
                return Err(bad("samples overlap"));
            }
            if pos > end {
                self.gaps.push((end, pos - end));
            }
            end = pos + size;
        }
        if end < self.data_len {
            self.gaps.push((end, self.data_len - end));
        }
        Ok(())
    }

    fn read_moof(&mut self, header: &[u8], moof_len: usize) -> Result<(), Mp4Error> {
        let bad = |what: &str| Mp4Error::PackageMalformed(format!("segment header: {what}"));
        let moof = whole_box(header.get(..moof_len).unwrap_or_default(), b"moof")?;
        // Where each child starts in `header`, to name the fields we rewrite.
        let base = |inner: &[u8]| (inner.as_ptr() as usize).wrapping_sub(header.as_ptr() as usize);
        let data_start = (moof_len + self.mdat_header_len) as u64;
        for traf in children(moof.body) {
            let traf = traf?;
            if &traf.kind != b"traf" {
                continue;
            }
            let mut track = None;
            let mut default_size = None;
            for child in children(traf.body) {
                let child = child?;
                match &child.kind {
                    b"tfhd" => {
                        let mut r = Reader::new(child.body, "tfhd");
                        let flags = r.version_flags()?.1;
                        track = Some(r.u32()?);
                        if flags & TFHD_BASE_DATA_OFFSET != 0 || flags & TFHD_DEFAULT_BASE_IS_MOOF == 0 {
                            return Err(bad("data offsets not counted from the moof"));
                        }
                        for (flag, len) in [(TFHD_DESCRIPTION_INDEX, 4), (TFHD_DEFAULT_DURATION, 4)] {
                            if flags & flag != 0 {
                                r.skip(len)?;
                            }
                        }
                        if flags & TFHD_DEFAULT_SIZE != 0 {
                            default_size = Some(r.u32()?);
                        }
                        if flags & TFHD_DEFAULT_FLAGS != 0 {
                            r.u32()?;
                        }
                    }
                    b"trun" => {
                        let track = track.ok_or_else(|| bad("trun before tfhd"))?;
                        let h264 = self.length_sizes.iter().any(|&(id, _)| id == track);
                        let mut r = Reader::new(child.body, "trun");
                        let flags = r.version_flags()?.1;
                        let count = r.u32()?;
                        if flags & TRUN_DATA_OFFSET == 0 {
                            return Err(bad("a trun without a data offset"));
                        }
                        let offset_at = base(r.rest());
                        let offset = i64::from(r.i32()?);
                        let run_pos = u64::try_from(offset)
                            .ok()
                            .and_then(|o| o.checked_sub(data_start))
                            .ok_or_else(|| bad("a data offset before the data"))?;
                        self.offsets.push((offset_at, run_pos));
                        if flags & TRUN_FIRST_FLAGS != 0 {
                            r.skip(4)?;
                        }
                        if flags & TRUN_SIZE == 0 && (default_size.is_none() || h264 && default_size != Some(0)) {
                            return Err(bad("sample sizes missing"));
                        }
                        let fields = [TRUN_DURATION, TRUN_SIZE, TRUN_FLAGS, TRUN_CTO].iter().any(|&f| flags & f != 0);
                        if !fields && default_size == Some(0) {
                            // Empty samples only, as many as it says: nothing to read, and no bytes to place.
                            continue;
                        }
                        let mut pos = run_pos;
                        // Bounded by the trun's bytes (a field per sample) or by the data (a default size above 0).
                        for _ in 0..count {
                            if flags & TRUN_DURATION != 0 {
                                r.skip(4)?;
                            }
                            let (size, size_at) = if flags & TRUN_SIZE != 0 {
                                let at = base(r.rest());
                                (r.u32()?, at)
                            } else {
                                (default_size.unwrap_or(0), 0)
                            };
                            for flag in [TRUN_FLAGS, TRUN_CTO] {
                                if flags & flag != 0 {
                                    r.skip(4)?;
                                }
                            }
                            let end = pos + u64::from(size);
                            if end > self.data_len {
                                return Err(bad("a sample past the data"));
                            }
                            if size > 0 && h264 {
                                self.spans.push(Span { pos, size, track, size_at });
                            } else if size > 0 {
                                self.others.push((pos, u64::from(size)));
                            }
                            pos = end;
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Reads the next bytes of the segment's data.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), Mp4Error> {
        let start = self.pos;
        let end = start.saturating_add(chunk.len() as u64);
        if end > self.data_len {
            return Err(Mp4Error::PackageMalformed("more data than the segment's ranges".into()));
        }
        // Each turn reads a few bytes or skips a NAL unit's body unseen: linear in the NAL units, not the bytes.
        loop {
            let mut c = match self.cursor.take() {
                Some(c) => c,
                None => match self.spans.get(self.next) {
                    Some(span) if span.pos < end => {
                        self.next += 1;
                        Cursor { span: self.next - 1, nal_at: span.pos, head: [0; 4], have: 0, removed: 0 }
                    }
                    _ => break,
                },
            };
            let span = self.spans[c.span];
            let sample_end = span.pos + u64::from(span.size);
            if c.nal_at == sample_end {
                if c.removed > 0 {
                    self.shrunk.push((c.span, c.removed));
                }
                continue;
            }
            let ls = usize::from(self.length_size(span.track));
            if c.have == 0 && sample_end - c.nal_at < ls as u64 {
                return Err(self.out_of_bounds(&span, c.nal_at, ls as u64));
            }
            // The length field, then the type byte after it (none after a length of zero).
            let at = c.nal_at + c.have as u64;
            if at >= end {
                self.cursor = Some(c);
                break;
            }
            let wanted = if c.have < ls { ls - c.have } else { 1 };
            let n = wanted.min((end - at) as usize);
            let from = (at - start) as usize;
            let bytes = chunk.get(from..from + n).ok_or_else(|| Mp4Error::PackageMalformed("scan position".into()))?;
            if c.have < ls {
                c.head[c.have..c.have + n].copy_from_slice(bytes);
            }
            c.have += n;
            if c.have < ls {
                self.cursor = Some(c);
                continue;
            }
            let nal_len = c.head[..ls].iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            let whole = ls as u64 + nal_len;
            if whole > sample_end - c.nal_at {
                return Err(self.out_of_bounds(&span, c.nal_at, whole));
            }
            if nal_len == 0 || c.have > ls {
                if nal_len > 0 && bytes.last().is_some_and(|&b| b & 0x1f == NAL_SEI) {
                    self.cut(c.nal_at, whole)?;
                    c.removed += whole;
                }
                c.nal_at += whole;
                c.have = 0;
            }
            self.cursor = Some(c);
        }
        self.pos = end;
        Ok(())
    }

    /// Leaves out `len` bytes at `at`, joined to the cut before when they touch (SEI units come one after another).
    fn cut(&mut self, at: u64, len: u64) -> Result<(), Mp4Error> {
        match self.cuts.last_mut() {
            Some((last, last_len)) if *last + *last_len == at => *last_len += len,
            _ => {
                // A real stream has a few SEI units a frame, all before its slices; more is an attack on our memory.
                if self.cuts.len() >= MAX_CUTS_PER_SAMPLE * self.spans.len() {
                    return Err(Mp4Error::UnsupportedLayout("too many SEI NAL units apart".into()));
                }
                self.cuts.push((at, len));
            }
        }
        Ok(())
    }

    /// Checks that the whole data was read; returns the header and cuts to serve.
    pub fn finish(mut self) -> Result<StrippedSegment, Mp4Error> {
        // A sample that ends exactly where the data does is closed by a last empty feed.
        self.feed(&[])?;
        if self.pos != self.data_len || self.cursor.is_some() || self.next < self.spans.len() {
            return Err(Mp4Error::PackageMalformed(format!(
                "{} bytes of the segment's {} were read",
                self.pos, self.data_len
            )));
        }
        let sei = std::mem::take(&mut self.cuts);
        for (at, len) in merge(&self.gaps, &sei) {
            match self.cuts.last_mut() {
                Some((last, last_len)) if *last + *last_len == at => *last_len += len,
                _ => self.cuts.push((at, len)),
            }
        }
        if self.cuts.is_empty() {
            return Ok(StrippedSegment { header: self.header, cuts: self.cuts, data_len: self.data_len });
        }
        let mut header = self.header;
        let put = |header: &mut Vec<u8>, at: usize, v: &[u8]| {
            if let Some(field) = header.get_mut(at..at + v.len()) {
                field.copy_from_slice(v);
            }
        };
        for &(i, removed) in &self.shrunk {
            let span = self.spans[i];
            // What goes is whole NAL units inside the sample: never more than its size.
            let size = u64::from(span.size).saturating_sub(removed) as u32;
            put(&mut header, span.size_at, &size.to_be_bytes());
        }
        // Bytes left out before each position: a sum over the cuts before it.
        let mut before = Vec::with_capacity(self.cuts.len() + 1);
        before.push(0u64);
        for &(_, len) in &self.cuts {
            before.push(before.last().copied().unwrap_or(0) + len);
        }
        // A cut may run on past `pos` (a gap joined to the SEI that opens the sample at `pos`): only its part before.
        let removed_before = |pos: u64| {
            let i = self.cuts.partition_point(|&(at, _)| at < pos);
            match i.checked_sub(1).and_then(|last| self.cuts.get(last).map(|c| (last, c))) {
                Some((last, &(at, len))) => before[last] + len.min(pos - at),
                None => 0,
            }
        };
        let removed = before.last().copied().unwrap_or(0);
        let moof_len = header.len() - self.mdat_header_len;
        let data_start = header.len() as u64;
        for &(at, pos) in &self.offsets {
            // No larger than the offset the packager wrote, which fit in 31 bits.
            let offset = (data_start + pos).saturating_sub(removed_before(pos)) as u32;
            put(&mut header, at, &offset.to_be_bytes());
        }
        let data = self.data_len - removed;
        if self.mdat_header_len == 16 {
            put(&mut header, moof_len + 8, &(data + 16).to_be_bytes());
        } else {
            put(&mut header, moof_len, &((data + 8) as u32).to_be_bytes());
        }
        Ok(StrippedSegment { header, cuts: self.cuts, data_len: self.data_len })
    }

    fn length_size(&self, track: u32) -> u8 {
        self.length_sizes.iter().find(|&&(id, _)| id == track).map_or(4, |&(_, ls)| ls)
    }

    /// A NAL unit of `len` bytes (its length field included) at data position `at` does not fit in its sample.
    fn out_of_bounds(&self, span: &Span, at: u64, len: u64) -> Mp4Error {
        Mp4Error::NalOutOfBounds {
            track: span.track,
            sample_offset: self.file_offset(span.pos),
            sample_len: u64::from(span.size),
            nal_offset: self.file_offset(at),
            len,
        }
    }

    /// Where a position of the segment's data is in the original file.
    fn file_offset(&self, pos: u64) -> u64 {
        let mut start = 0u64;
        for &(offset, len) in &self.ranges {
            if pos < start + len {
                return offset + (pos - start);
            }
            start += len;
        }
        pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mp4::testutil::{TrackSpec, moov};
    use crate::mp4::{Limits, SegmentTargets, package, parse_movie};

    /// One length-prefixed NAL unit (4-byte lengths, as the test `avcC` says) of `len` bytes of type `kind`.
    fn nal(kind: u8, len: usize, fill: u8) -> Vec<u8> {
        let mut out = (len as u32).to_be_bytes().to_vec();
        if len > 0 {
            out.push(kind);
            out.extend(std::iter::repeat_n(fill, len - 1));
        }
        out
    }

    /// Video sample `i` of 300 bytes: SEI units before its slice in two of three samples (two touching ones,
    /// or one after an access unit delimiter), a slice alone in the third.
    fn video_sample(i: usize) -> (Vec<u8>, Vec<u8>) {
        let tag = (i % 100) as u8;
        let (with, without): (Vec<Vec<u8>>, Vec<bool>) = match i % 3 {
            0 => (vec![nal(6, 46, 0xA0), nal(6, 16, 0xA1), nal(0x65, 226, tag)], vec![false, false, true]),
            1 => (
                vec![nal(9, 2, 0x10), nal(6, 26, 0xA2), nal(0, 0, 0), nal(0x41, 256, tag)],
                vec![true, false, true, true],
            ),
            _ => (vec![nal(0x41, 296, tag)], vec![true]),
        };
        let all: Vec<u8> = with.concat();
        assert_eq!(all.len(), 300);
        let kept = with.iter().zip(&without).filter(|(_, k)| **k).flat_map(|(n, _)| n.clone()).collect();
        (all, kept)
    }

    struct Fixture {
        file: Vec<u8>,
        pkg: Package,
        /// What each video sample must be once stripped.
        kept: Vec<Vec<u8>>,
    }

    /// Interleaved chunks (2 video samples, 4 audio samples) after a 4 KiB index area, keyframe every 4 frames.
    fn fixture() -> Fixture {
        let mut v = TrackSpec::video(12, 300, 0, 4);
        let mut a = TrackSpec::audio(24, 50, 0);
        (v.chunks, a.chunks) = (Vec::new(), Vec::new());
        let mut file = vec![0xEE; 4096];
        let mut kept = Vec::new();
        for c in 0..6 {
            v.chunks.push(file.len() as u64);
            for i in [2 * c, 2 * c + 1] {
                let (all, k) = video_sample(i);
                file.extend(all);
                kept.push(k);
            }
            a.chunks.push(file.len() as u64);
            file.extend(std::iter::repeat_n(0x60 + c as u8, 200));
        }
        v.stsc = vec![(1, 2, 1)];
        a.stsc = vec![(1, 4, 1)];
        let index = moov(&[v, a], false, &[]);
        let movie = parse_movie(&index, 0, file.len() as u64, &Limits::default()).expect("parse");
        let targets = SegmentTargets { first_seconds: 0.1, every_seconds: 0.1, between_keyframes: false };
        let pkg = package(&movie, 0, Some(1), &targets).expect("package");
        Fixture { file, pkg, kept }
    }

    fn data(file: &[u8], s: &PackagedSegment) -> Vec<u8> {
        s.ranges.iter().flat_map(|&(o, l)| file[o as usize..(o + l) as usize].iter().copied()).collect()
    }

    #[test]
    fn stripped_segments_hold_every_sample_without_its_sei() {
        use mp4_atom::{Decode, Moof};
        let f = fixture();
        let tracks = SeiTracks::of(&f.pkg).expect("tracks");
        assert_eq!(tracks.tracks, vec![(1, 4)], "the avc1 track, 4-byte lengths; not the audio");
        assert_eq!(f.pkg.segments.len(), 3);
        let (mut video_seen, mut audio_seen) = (0usize, 0usize);
        for (k, s) in f.pkg.segments.iter().enumerate() {
            let data = data(&f.file, s);
            let stripped = strip_sei(&tracks, s, &data).expect("strip");
            // Two SEI stretches of 50 + 20 (joined) and 30 bytes per three samples.
            assert!(stripped.removed() > 0 && stripped.cuts.len() < 8, "segment {k}: {:?}", stripped.cuts);
            let bytes = stripped.apply(&data);
            assert_eq!(bytes.len() as u64, stripped.len());
            assert_eq!(stripped.len(), s.len() - stripped.removed());
            let moof = Moof::decode(&mut bytes.as_slice()).expect("mp4-atom reads the stripped moof");
            let mdat_at = stripped.header.len() - 8;
            assert_eq!(&bytes[mdat_at + 4..mdat_at + 8], b"mdat");
            let mdat_size = u32::from_be_bytes(bytes[mdat_at..mdat_at + 4].try_into().expect("4 bytes"));
            assert_eq!(mdat_size as usize, bytes.len() - mdat_at, "the mdat holds exactly the stripped data");
            for traf in &moof.traf {
                for trun in &traf.trun {
                    let mut pos = trun.data_offset.expect("data offset") as usize;
                    for e in &trun.samples {
                        let size = e.size.expect("size") as usize;
                        let got = &bytes[pos..pos + size];
                        if traf.tfhd.track_id == 1 {
                            assert_eq!(got, f.kept[video_seen].as_slice(), "segment {k} video sample {video_seen}");
                            video_seen += 1;
                        } else {
                            assert!(got.iter().all(|&b| b == 0x60 + (audio_seen / 4) as u8), "audio {audio_seen}");
                            audio_seen += 1;
                        }
                        pos += size;
                    }
                }
            }
            assert!(!bytes.windows(2).any(|w| w == [0xA0, 0xA0] || w == [0xA2, 0xA2]), "no SEI body left");
        }
        assert_eq!((video_seen, audio_seen), (12, 24));
    }

    #[test]
    fn the_layout_does_not_depend_on_how_the_bytes_arrive() {
        let f = fixture();
        let tracks = SeiTracks::of(&f.pkg).expect("tracks");
        for s in &f.pkg.segments {
            let data = data(&f.file, s);
            let whole = strip_sei(&tracks, s, &data).expect("whole");
            for step in [1, 3, 7, 64, 301] {
                let mut scan = tracks.scan(s).expect("scan");
                data.chunks(step).try_for_each(|c| scan.feed(c)).expect("feed");
                assert_eq!(scan.finish().as_ref(), Ok(&whole), "chunks of {step}");
            }
            // Short data is an error, not a layout.
            let mut scan = tracks.scan(s).expect("scan");
            scan.feed(&data[..data.len() - 1]).expect("feed");
            assert_eq!(scan.finish().map_err(|e| e.code()), Err("package_malformed"));
            let mut scan = tracks.scan(s).expect("scan");
            assert!(scan.feed(&[data.clone(), vec![0]].concat()).is_err(), "more data than the ranges");
        }
    }

    #[test]
    fn a_nal_length_past_its_sample_is_a_clear_error() {
        let mut f = fixture();
        let tracks = SeiTracks::of(&f.pkg).expect("tracks");
        let s = f.pkg.segments[0].clone();
        let sample = s.ranges[0].0 as usize; // video sample 0 starts the first range
        // Its second NAL unit (after 4 + 46 bytes) claims 1000 bytes.
        f.file[sample + 50..sample + 54].copy_from_slice(&1000u32.to_be_bytes());
        let err = strip_sei(&tracks, &s, &data(&f.file, &s)).expect_err("out of bounds");
        assert_eq!(
            err,
            Mp4Error::NalOutOfBounds {
                track: 1,
                sample_offset: sample as u64,
                sample_len: 300,
                nal_offset: sample as u64 + 50,
                len: 1004,
            }
        );
        assert_eq!(err.code(), "nal_out_of_bounds");
        assert!(err.to_string().contains("runs past the end of sample"), "{err}");
        // A length field cut by the sample's end: its first NAL unit takes all but 2 of the 300 bytes.
        f.file[sample..sample + 4].copy_from_slice(&294u32.to_be_bytes());
        let err = strip_sei(&tracks, &s, &data(&f.file, &s)).expect_err("cut length");
        assert!(matches!(err, Mp4Error::NalOutOfBounds { len: 4, .. }), "{err:?}");
        // u32::MAX does not wrap.
        f.file[sample..sample + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(strip_sei(&tracks, &s, &data(&f.file, &s)).is_err());
    }

    #[test]
    fn packages_without_h264_or_sei_are_served_as_packaged() {
        let f = fixture();
        let mut no_avc = f.pkg.clone();
        let at = no_avc.init.windows(4).position(|w| w == b"avc1").expect("avc1");
        no_avc.init[at..at + 4].copy_from_slice(b"hvc1");
        let tracks = SeiTracks::of(&no_avc).expect("tracks");
        assert!(tracks.is_empty());
        let s = &f.pkg.segments[1];
        let data = data(&f.file, s);
        assert_eq!(strip_sei(&tracks, s, &data), Ok(StrippedSegment::unchanged(s)));
        // H.264 without SEI (its SEI units turned into filler data): the header as packaged, nothing cut.
        let tracks = SeiTracks::of(&f.pkg).expect("tracks");
        let mut clean = data.clone();
        for w in 0..clean.len() - 1 {
            if clean[w] == 6 && matches!(clean[w + 1], 0xA0..=0xA2) {
                clean[w] = 12;
            }
        }
        assert_eq!(strip_sei(&tracks, s, &clean), Ok(StrippedSegment::unchanged(s)));
        assert_eq!(StrippedSegment::unchanged(s).kept().collect::<Vec<_>>(), vec![0..s.data_len()]);
        assert_eq!(
            SeiTracks::of(&Package { init: b"junk".to_vec(), ..f.pkg.clone() }).map_err(|e| e.code()),
            Err("package_malformed")
        );
    }

    #[test]
    fn other_segments_samples_read_along_are_left_out() {
        // Both segments' video first, then both segments' audio: the packager reads segment 1's video (whose first
        // frame has SEI) along with segment 0's, to get segment 0's audio in one read.
        let mut v = TrackSpec::video(4, 300, 0, 2);
        let mut a = TrackSpec::audio(8, 50, 0);
        let mut file = vec![0xEE; 4096];
        let mut kept = Vec::new();
        for i in 0..4 {
            let (all, k) = video_sample(if i == 2 { 0 } else { 2 });
            file.extend(all);
            kept.push(k);
        }
        file.extend(std::iter::repeat_n(0x60, 400));
        (v.chunks, v.stsc, a.chunks, a.stsc) = (vec![4096], vec![(1, 4, 1)], vec![5296], vec![(1, 8, 1)]);
        let index = moov(&[v, a], false, &[]);
        let movie = parse_movie(&index, 0, file.len() as u64, &Limits::default()).expect("parse");
        let targets = SegmentTargets { first_seconds: 0.05, every_seconds: 0.05, between_keyframes: false };
        let pkg = package(&movie, 0, Some(1), &targets).expect("package");
        let s = &pkg.segments[0];
        assert_eq!(s.ranges, vec![(4096, 1400)], "segment 1's video is read along");
        let data = data(&file, s);
        let tracks = SeiTracks::of(&pkg).expect("tracks");
        let stripped = strip_sei(&tracks, s, &data).expect("strip");
        assert_eq!(stripped.cuts, vec![(600, 600)], "segment 1's two frames");
        let served = stripped.apply(&data);
        let mut want = stripped.header.clone();
        want.extend(kept[0].iter().chain(&kept[1]));
        want.extend(std::iter::repeat_n(0x60, 200));
        assert_eq!(served, want);
    }

    #[test]
    fn a_gap_joined_to_the_sei_that_opens_a_sample_moves_its_run_only_by_the_gap() {
        use mp4_atom::{Decode, Moof};
        // Both segments' audio, then the video: segment 0 reads segment 1's audio along, and its first frame opens
        // with SEI right after that gap (one cut).
        let mut v = TrackSpec::video(4, 300, 0, 2);
        let mut a = TrackSpec::audio(8, 50, 0);
        let mut file = vec![0xEE; 4096];
        file.extend((0..8).flat_map(|i| std::iter::repeat_n(0x60 + i as u8, 50)));
        let mut kept = Vec::new();
        for i in 0..4 {
            let (all, k) = video_sample(if i == 0 { 0 } else { 2 });
            file.extend(all);
            kept.push(k);
        }
        (v.chunks, v.stsc, a.chunks, a.stsc) = (vec![4496], vec![(1, 4, 1)], vec![4096], vec![(1, 8, 1)]);
        let index = moov(&[v, a], false, &[]);
        let movie = parse_movie(&index, 0, file.len() as u64, &Limits::default()).expect("parse");
        let targets = SegmentTargets { first_seconds: 0.05, every_seconds: 0.05, between_keyframes: false };
        let pkg = package(&movie, 0, Some(1), &targets).expect("package");
        let s = &pkg.segments[0];
        assert_eq!(s.ranges, vec![(4096, 1000)]);
        let data = data(&file, s);
        let stripped = strip_sei(&SeiTracks::of(&pkg).expect("tracks"), s, &data).expect("strip");
        assert_eq!(stripped.cuts, vec![(200, 200 + 70)], "segment 1's audio and frame 0's SEI, one cut");
        let served = stripped.apply(&data);
        let moof = Moof::decode(&mut served.as_slice()).expect("moof");
        for traf in &moof.traf {
            let trun = &traf.trun[0];
            let at = trun.data_offset.expect("offset") as usize;
            let size: u32 = trun.samples.iter().map(|e| e.size.expect("size")).sum();
            let want: Vec<u8> = match traf.tfhd.track_id {
                1 => kept[0].iter().chain(&kept[1]).copied().collect(),
                _ => (0..4).flat_map(|i| std::iter::repeat_n(0x60 + i as u8, 50)).collect(),
            };
            assert_eq!(&served[at..at + size as usize], want.as_slice(), "track {}", traf.tfhd.track_id);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        /// Any bytes in the samples: an error or a layout, never a panic, and the same layout in any chunking.
        #[test]
        fn hostile_sample_bytes_never_panic(noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..600), at in 0usize..4000, step in 1usize..50) {
            let mut f = fixture();
            let s = f.pkg.segments[0].clone();
            let start = s.ranges[0].0 as usize + at % (s.data_len() as usize);
            let end = (start + noise.len()).min(f.file.len());
            f.file[start..end].copy_from_slice(&noise[..end - start]);
            let tracks = SeiTracks::of(&f.pkg).expect("tracks");
            let data = data(&f.file, &s);
            let whole = strip_sei(&tracks, &s, &data);
            let mut scan = tracks.scan(&s).expect("scan");
            let chunked = data.chunks(step).try_for_each(|c| scan.feed(c)).and_then(|()| scan.finish());
            proptest::prop_assert_eq!(&whole, &chunked);
            if let Ok(stripped) = whole {
                proptest::prop_assert_eq!(stripped.apply(&data).len() as u64, stripped.len());
            }
        }
    }
}
