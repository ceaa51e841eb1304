//! Writing boxes: the `moof` + `mdat` header of each media segment. Written by hand, field by
//! field, so the bytes depend on nothing but this file: a segment a viewer fetched before a restart
//! is byte-identical after it, whatever version of any crate is built in.

use super::Mp4Error;
use super::layout::Run;
use super::tables::SampleTable;

/// Opens a box: writes a placeholder size and the type; returns where it starts.
pub(crate) fn open(out: &mut Vec<u8>, kind: &[u8; 4]) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(kind);
    start
}

/// Opens a full box (version and flags after the type).
pub(crate) fn open_full(out: &mut Vec<u8>, kind: &[u8; 4], version: u8, flags: u32) -> usize {
    let start = open(out, kind);
    out.extend_from_slice(&((u32::from(version) << 24) | (flags & 0x00ff_ffff)).to_be_bytes());
    start
}

/// Closes a box opened at `start`, writing its size.
pub(crate) fn close(out: &mut [u8], start: usize) -> Result<(), Mp4Error> {
    let size = u32::try_from(out.len() - start).map_err(|_| Mp4Error::unsupported("a box would exceed 4 GiB"))?;
    if let Some(field) = out.get_mut(start..start + 4) {
        field.copy_from_slice(&size.to_be_bytes());
    }
    Ok(())
}

pub(crate) fn u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub(crate) fn u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub(crate) fn u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// `sample_depends_on = 2` (an I-frame, or audio): decodable alone.
pub(crate) const SYNC_FLAGS: u32 = 0x0200_0000;
/// `sample_depends_on = 1` and `sample_is_non_sync_sample`.
const NON_SYNC_FLAGS: u32 = 0x0101_0000;

const TFHD_DEFAULT_BASE_IS_MOOF: u32 = 0x02_0000;
const TFHD_DEFAULT_SAMPLE_FLAGS: u32 = 0x00_0020;
const TRUN_DATA_OFFSET: u32 = 0x00_0001;
const TRUN_DURATION: u32 = 0x00_0100;
const TRUN_SIZE: u32 = 0x00_0200;
const TRUN_FLAGS: u32 = 0x00_0400;
const TRUN_CTO: u32 = 0x00_0800;

/// One track's part of a segment.
pub(crate) struct Traf<'a> {
    /// The track's id in the init segment.
    pub track_id: u32,
    pub table: &'a SampleTable,
    /// Added to each sample's dts to give the decode time written.
    pub base: i64,
    pub runs: &'a [Run],
    /// Video writes each sample's sync flag; audio samples are all sync (a default in `tfhd`).
    pub video: bool,
}

/// A segment's header: `moof` (mfhd, then per track tfhd, tfdt and one trun per run) and the
/// `mdat` box header for `data_len` bytes of payload. Data offsets count from the `moof`'s first
/// byte (`default-base-is-moof`), as CMAF and MSE want.
pub(crate) fn segment_header(sequence: u32, trafs: &[Traf<'_>], data_len: u64) -> Result<Vec<u8>, Mp4Error> {
    let mut out = Vec::new();
    let moof = open(&mut out, b"moof");
    let mfhd = open_full(&mut out, b"mfhd", 0, 0);
    u32(&mut out, sequence);
    close(&mut out, mfhd)?;
    // (where a trun's data_offset field is, its position in the mdat payload)
    let mut offsets: Vec<(usize, u64)> = Vec::new();
    for traf in trafs.iter().filter(|t| !t.runs.is_empty()) {
        let start = open(&mut out, b"traf");
        let flags =
            if traf.video { TFHD_DEFAULT_BASE_IS_MOOF } else { TFHD_DEFAULT_BASE_IS_MOOF | TFHD_DEFAULT_SAMPLE_FLAGS };
        let tfhd = open_full(&mut out, b"tfhd", 0, flags);
        u32(&mut out, traf.track_id);
        if !traf.video {
            u32(&mut out, SYNC_FLAGS);
        }
        close(&mut out, tfhd)?;
        let first = traf.runs.first().map_or(0, |r| r.first);
        let first_dts = traf.table.samples.get(first).map_or(0, |s| s.dts);
        let decode_time = u64::try_from(i128::from(first_dts) + i128::from(traf.base))
            .map_err(|_| Mp4Error::unsupported("a decode time before zero"))?;
        let tfdt = open_full(&mut out, b"tfdt", 1, 0);
        u64(&mut out, decode_time);
        close(&mut out, tfdt)?;
        for run in traf.runs {
            offsets.push((trun(&mut out, traf, run)?, run.mdat_pos));
        }
        close(&mut out, start)?;
    }
    close(&mut out, moof)?;
    let moof_len = out.len() as u64;
    let mdat_header_len = if data_len + 8 > u64::from(u32::MAX) { 16 } else { 8 };
    for (at, mdat_pos) in offsets {
        let offset = i32::try_from(moof_len + mdat_header_len + mdat_pos)
            .map_err(|_| Mp4Error::unsupported("a segment larger than 2 GiB"))?;
        if let Some(field) = out.get_mut(at..at + 4) {
            field.copy_from_slice(&offset.to_be_bytes());
        }
    }
    if mdat_header_len == 16 {
        u32(&mut out, 1);
        out.extend_from_slice(b"mdat");
        u64(&mut out, data_len + 16);
    } else {
        u32(&mut out, (data_len + 8) as u32);
        out.extend_from_slice(b"mdat");
    }
    Ok(out)
}

/// Writes one `trun`; returns where its data offset goes.
fn trun(out: &mut Vec<u8>, traf: &Traf<'_>, run: &Run) -> Result<usize, Mp4Error> {
    let samples = traf.table.samples.get(run.first..run.first + run.count).unwrap_or_default();
    let ctts = traf.table.has_ctts;
    let mut flags = TRUN_DATA_OFFSET | TRUN_DURATION | TRUN_SIZE;
    if traf.video {
        flags |= TRUN_FLAGS;
    }
    if ctts {
        flags |= TRUN_CTO;
    }
    // Version 1 makes composition offsets signed; needed only when one is negative.
    let version = u8::from(ctts && samples.iter().any(|s| s.cto < 0));
    let start = open_full(out, b"trun", version, flags);
    u32(out, samples.len() as u32);
    let data_offset_at = out.len();
    u32(out, 0);
    for (k, s) in samples.iter().enumerate() {
        let i = run.first + k;
        let duration = u32::try_from(traf.table.duration(i)).map_err(|_| Mp4Error::malformed("sample duration"))?;
        u32(out, duration);
        u32(out, s.size);
        if traf.video {
            u32(out, if traf.table.is_sync(i) { SYNC_FLAGS } else { NON_SYNC_FLAGS });
        }
        if ctts {
            out.extend_from_slice(&s.cto.to_be_bytes());
        }
    }
    close(out, start)?;
    Ok(data_offset_at)
}
