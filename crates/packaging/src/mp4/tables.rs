//! Sample tables: `stts`, `ctts`, `stsc`, `stsz`/`stz2`, `stco`/`co64` and `stss` expanded into one
//! entry per sample, checked as hostile input. Every count is checked against the others, and every
//! table against its box's length, before anything is allocated or expanded, so a lying table costs
//! an error, not memory or time.

use super::Mp4Error;
use super::boxes::{BoxRef, Reader, children, show};
use super::scan::BoxPos;

/// One sample: where its bytes are, and when it is decoded and shown. 24 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sample {
    pub offset: u64,
    /// Decode time in the track's timescale, from 0.
    pub dts: u64,
    pub size: u32,
    /// Composition offset: presentation time = `dts + cto`.
    pub cto: i32,
}

/// A track's samples in decode order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SampleTable {
    pub samples: Vec<Sample>,
    /// 0-based indices of the sync samples, increasing; `None` when every sample is one (no `stss`).
    pub sync: Option<Vec<u32>>,
    /// Decode time just past the last sample: the track's media duration.
    pub end_dts: u64,
    pub has_ctts: bool,
    /// The sample description every sample uses; `None` when they switch between several.
    pub description_index: Option<u32>,
}

impl SampleTable {
    /// The duration of sample `i` (the next sample's decode time minus its own).
    pub fn duration(&self, i: usize) -> u64 {
        let next = self.samples.get(i + 1).map_or(self.end_dts, |s| s.dts);
        self.samples.get(i).map_or(0, |s| next.saturating_sub(s.dts))
    }

    pub fn is_sync(&self, i: usize) -> bool {
        match &self.sync {
            None => true,
            Some(sync) => u32::try_from(i).is_ok_and(|i| sync.binary_search(&i).is_ok()),
        }
    }
}

/// The table boxes of one `stbl`.
pub(crate) struct Stbl<'a> {
    pub stsd: BoxRef<'a>,
    stts: BoxRef<'a>,
    ctts: Option<BoxRef<'a>>,
    stsc: BoxRef<'a>,
    sizes: BoxRef<'a>,
    offsets: BoxRef<'a>,
    stss: Option<BoxRef<'a>>,
}

impl<'a> Stbl<'a> {
    pub fn locate(stbl_body: &'a [u8]) -> Result<Self, Mp4Error> {
        let (mut stsd, mut stts, mut ctts, mut stsc, mut sizes, mut offsets, mut stss) =
            (None, None, None, None, None, None, None);
        for child in children(stbl_body) {
            let child = child?;
            let slot = match &child.kind {
                b"stsd" => &mut stsd,
                b"stts" => &mut stts,
                b"ctts" => &mut ctts,
                b"stsc" => &mut stsc,
                b"stsz" | b"stz2" => &mut sizes,
                b"stco" | b"co64" => &mut offsets,
                b"stss" => &mut stss,
                _ => continue,
            };
            if slot.replace(child).is_some() {
                return Err(Mp4Error::malformed(format!("stbl has two '{}' boxes", show(child.kind))));
            }
        }
        let need =
            |b: Option<BoxRef<'a>>, what: &str| b.ok_or_else(|| Mp4Error::malformed(format!("{what} is missing")));
        Ok(Stbl {
            stsd: need(stsd, "stsd")?,
            stts: need(stts, "stts")?,
            ctts,
            stsc: need(stsc, "stsc")?,
            sizes: need(sizes, "stsz")?,
            offsets: need(offsets, "stco")?,
            stss,
        })
    }

    /// The number of samples, read from the size table's header alone (so it can be checked
    /// against the limits before anything is expanded).
    pub fn sample_count(&self) -> Result<u64, Mp4Error> {
        Ok(Sizes::read(self.sizes)?.1)
    }
}

/// Where samples may not be: outside the file, or inside the index.
pub(crate) struct Bounds {
    pub track_id: u32,
    pub file_len: u64,
    pub index: BoxPos,
}

/// Expands the tables of one track.
pub(crate) fn build(stbl: &Stbl<'_>, bounds: &Bounds) -> Result<SampleTable, Mp4Error> {
    let (sizes, count) = Sizes::read(stbl.sizes)?;
    let mut stts = Runs::read(stbl.stts, "stts", count)?;
    let mut ctts = stbl.ctts.map(|b| Runs::read(b, "ctts", count)).transpose()?;
    let chunks = ChunkOffsets::read(stbl.offsets)?;
    let (stsc, description_index) = read_stsc(stbl.stsc, chunks.count, count)?;
    let sync = stbl.stss.map(|b| read_stss(b, count)).transpose()?;

    let mut samples = Vec::with_capacity(usize::try_from(count).map_err(|_| Mp4Error::malformed("too many samples"))?);
    let mut dts = 0u64;
    let overflow = || Mp4Error::malformed("sample times or offsets overflow");
    for (first_chunk, last_chunk, per_chunk) in stsc {
        for chunk in first_chunk..=last_chunk {
            let mut offset = chunks.get(chunk)?;
            for _ in 0..per_chunk {
                let i = samples.len() as u64;
                let size = sizes.get(i)?;
                let end = offset.checked_add(u64::from(size)).ok_or_else(overflow)?;
                if end > bounds.file_len {
                    return Err(Mp4Error::SampleOutOfBounds {
                        track: bounds.track_id,
                        sample: i,
                        offset,
                        len: u64::from(size),
                        file_len: bounds.file_len,
                    });
                }
                if size > 0 && offset < bounds.index.end() && end > bounds.index.offset {
                    return Err(Mp4Error::SampleInIndex { track: bounds.track_id, sample: i });
                }
                // Composition offsets are signed whatever the version, as ffmpeg reads them: some
                // muxers write negative offsets into version 0 boxes.
                let cto = match ctts.as_mut() {
                    Some(c) => c.next()? as i32,
                    None => 0,
                };
                samples.push(Sample { offset, dts, size, cto });
                dts = dts.checked_add(u64::from(stts.next()?)).ok_or_else(overflow)?;
                offset = end;
            }
        }
    }
    if samples.len() as u64 != count {
        return Err(Mp4Error::malformed("stsc does not describe every sample"));
    }
    Ok(SampleTable { samples, sync, end_dts: dts, has_ctts: ctts.is_some(), description_index })
}

/// Sample sizes: one for all (`stsz` with a size), or 32-, 16-, 8- or 4-bit fields.
enum Sizes<'a> {
    Uniform(u32),
    Fields { data: &'a [u8], bits: u8 },
}

impl<'a> Sizes<'a> {
    fn read(b: BoxRef<'a>) -> Result<(Self, u64), Mp4Error> {
        let mut r = Reader::new(b.body, "stsz");
        r.version_flags()?;
        let (uniform, bits) = if &b.kind == b"stz2" {
            let bits = (r.u32()? & 0xff) as u8;
            if !matches!(bits, 4 | 8 | 16) {
                return Err(Mp4Error::malformed(format!("stz2 field size {bits}")));
            }
            (0, bits)
        } else {
            (r.u32()?, 32)
        };
        let count = u64::from(r.u32()?);
        if uniform != 0 {
            return Ok((Sizes::Uniform(uniform), count));
        }
        let data = r.rest();
        if (data.len() as u64) * 8 < count * u64::from(bits) {
            return Err(Mp4Error::malformed("the sample size table is shorter than its count"));
        }
        Ok((Sizes::Fields { data, bits }, count))
    }

    fn get(&self, i: u64) -> Result<u32, Mp4Error> {
        let (data, bits) = match *self {
            Sizes::Uniform(size) => return Ok(size),
            Sizes::Fields { data, bits } => (data, bits),
        };
        let byte = |at: u64| {
            usize::try_from(at)
                .ok()
                .and_then(|at| data.get(at).copied())
                .ok_or_else(|| Mp4Error::malformed("sample size table is truncated"))
        };
        Ok(match bits {
            32 => u32::from_be_bytes([byte(i * 4)?, byte(i * 4 + 1)?, byte(i * 4 + 2)?, byte(i * 4 + 3)?]),
            16 => u32::from(u16::from_be_bytes([byte(i * 2)?, byte(i * 2 + 1)?])),
            8 => u32::from(byte(i)?),
            _ => u32::from(if i.is_multiple_of(2) { byte(i / 2)? >> 4 } else { byte(i / 2)? & 0x0f }),
        })
    }
}

/// A run-length table of (count, value) pairs (`stts`, `ctts`), read one sample at a time.
struct Runs<'a> {
    reader: Reader<'a>,
    left: u32,
    value: u32,
}

impl<'a> Runs<'a> {
    /// Checks that the runs cover exactly `count` samples before any is expanded.
    fn read(b: BoxRef<'a>, what: &'static str, count: u64) -> Result<Self, Mp4Error> {
        let mut r = Reader::new(b.body, what);
        let (version, _) = r.version_flags()?;
        if version > 1 {
            return Err(Mp4Error::malformed(format!("{what} version {version}")));
        }
        let entries = r.u32()?;
        let table = r.take((entries as usize).saturating_mul(8))?;
        let mut total = 0u64;
        let mut check = Reader::new(table, what);
        for _ in 0..entries {
            total = total.saturating_add(u64::from(check.u32()?));
            check.skip(4)?;
        }
        if total != count {
            return Err(Mp4Error::malformed(format!("{what} covers {total} samples, not {count}")));
        }
        Ok(Runs { reader: Reader::new(table, what), left: 0, value: 0 })
    }

    fn next(&mut self) -> Result<u32, Mp4Error> {
        while self.left == 0 {
            self.left = self.reader.u32()?;
            self.value = self.reader.u32()?;
        }
        self.left -= 1;
        Ok(self.value)
    }
}

struct ChunkOffsets<'a> {
    data: &'a [u8],
    wide: bool,
    count: u32,
}

impl<'a> ChunkOffsets<'a> {
    fn read(b: BoxRef<'a>) -> Result<Self, Mp4Error> {
        let mut r = Reader::new(b.body, "stco");
        r.version_flags()?;
        let count = r.u32()?;
        let wide = &b.kind == b"co64";
        let data = r.take((count as usize).saturating_mul(if wide { 8 } else { 4 }))?;
        Ok(ChunkOffsets { data, wide, count })
    }

    /// The offset of chunk `n` (1-based, as `stsc` numbers them).
    fn get(&self, n: u32) -> Result<u64, Mp4Error> {
        let i = n.checked_sub(1).ok_or_else(|| Mp4Error::malformed("chunk 0"))? as usize;
        let mut r = Reader::new(self.data, "stco");
        if self.wide {
            r.skip(i.saturating_mul(8))?;
            r.u64()
        } else {
            r.skip(i.saturating_mul(4))?;
            r.u32().map(u64::from)
        }
    }
}

/// Reads `stsc` into (first chunk, last chunk, samples per chunk) runs, checking that the chunks
/// exist and hold exactly `count` samples; also the one sample description used, if only one.
/// Chunks `first..=last` (1-based) hold `per_chunk` samples each.
type ChunkRun = (u32, u32, u32);

fn read_stsc(b: BoxRef<'_>, chunk_count: u32, count: u64) -> Result<(Vec<ChunkRun>, Option<u32>), Mp4Error> {
    let mut r = Reader::new(b.body, "stsc");
    r.version_flags()?;
    let entries = r.u32()?;
    let table = r.take((entries as usize).saturating_mul(12))?;
    let mut r = Reader::new(table, "stsc");
    let mut raw = Vec::with_capacity(entries.min(chunk_count.saturating_add(1)) as usize);
    let mut description = None;
    let mut mixed = false;
    for _ in 0..entries {
        let (first, per_chunk, desc) = (r.u32()?, r.u32()?, r.u32()?);
        let expected_first = raw.last().map_or(1, |&(f, _): &(u32, u32)| f.saturating_add(1));
        if (raw.is_empty() && first != 1) || first < expected_first || first > chunk_count {
            return Err(Mp4Error::malformed(format!("stsc refers to chunk {first} of {chunk_count}")));
        }
        raw.push((first, per_chunk));
        mixed |= description.is_some_and(|d| d != desc);
        description = Some(desc);
    }
    let mut runs = Vec::with_capacity(raw.len());
    let mut total = 0u64;
    for (i, &(first, per_chunk)) in raw.iter().enumerate() {
        let last = raw.get(i + 1).map_or(chunk_count, |&(next, _)| next - 1);
        total = total.saturating_add(u64::from(last - first + 1).saturating_mul(u64::from(per_chunk)));
        runs.push((first, last, per_chunk));
    }
    if total != count {
        return Err(Mp4Error::malformed(format!("stsc places {total} samples, not {count}")));
    }
    Ok((runs, if mixed { None } else { description.or(Some(1)) }))
}

/// Reads `stss` into increasing 0-based indices.
fn read_stss(b: BoxRef<'_>, count: u64) -> Result<Vec<u32>, Mp4Error> {
    let mut r = Reader::new(b.body, "stss");
    r.version_flags()?;
    let entries = r.u32()?;
    let table = r.take((entries as usize).saturating_mul(4))?;
    let mut r = Reader::new(table, "stss");
    let mut sync = Vec::with_capacity(entries as usize);
    for _ in 0..entries {
        let n = r.u32()?;
        if n == 0 || u64::from(n) > count || sync.last().is_some_and(|&last| n - 1 <= last) {
            return Err(Mp4Error::malformed(format!("stss lists sample {n} out of order or range")));
        }
        sync.push(n - 1);
    }
    Ok(sync)
}
