//! The stored form of a [`Package`]: a compact, versioned binary blob kept next to the video, so a
//! segment is served from the blob and the original without parsing the index again.
//!
//! Layout (big-endian): magic `FLKPKG`, version byte, then the fields in declaration order;
//! byte strings and lists are prefixed with their length (u32; the codecs string u16), floats are
//! IEEE 754 bits. Any other version is refused: a package is cheap to make again from the original.

use super::Mp4Error;
use super::boxes::Reader;
use super::package::{Package, PackagedSegment};
use super::write::{u16, u32, u64};

const MAGIC: &[u8; 6] = b"FLKPKG";
const VERSION: u8 = 1;

/// The least a segment takes in the blob (two floats and two counts), to bound what a count asks for.
const MIN_SEGMENT_BYTES: usize = 24;

impl Package {
    pub fn encode(&self) -> Vec<u8> {
        let ranges: usize = self.segments.iter().map(|s| s.header.len() + s.ranges.len() * 16 + 24).sum();
        let mut out = Vec::with_capacity(64 + self.init.len() + self.codecs.len() + ranges);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        bytes32(&mut out, &self.init);
        let codecs = self.codecs.as_bytes();
        let codecs = codecs.get(..usize::from(u16::MAX)).unwrap_or(codecs);
        u16(&mut out, codecs.len() as u16);
        out.extend_from_slice(codecs);
        u32(&mut out, self.width);
        u32(&mut out, self.height);
        out.push(u8::from(self.frame_rate.is_some()));
        u64(&mut out, self.frame_rate.unwrap_or(0.0).to_bits());
        u64(&mut out, self.peak_bandwidth);
        u64(&mut out, self.average_bandwidth);
        u64(&mut out, self.duration_seconds.to_bits());
        u32(&mut out, self.target_duration);
        u32(&mut out, self.segments.len() as u32);
        for s in &self.segments {
            u64(&mut out, s.start_seconds.to_bits());
            u64(&mut out, s.duration_seconds.to_bits());
            bytes32(&mut out, &s.header);
            u32(&mut out, s.ranges.len() as u32);
            for &(offset, len) in &s.ranges {
                u64(&mut out, offset);
                u64(&mut out, len);
            }
        }
        out
    }

    /// Reads a blob made by [`Package::encode`] of this version. Never panics; allocates no more
    /// than the blob's own size.
    pub fn decode(bytes: &[u8]) -> Result<Package, Mp4Error> {
        let bad = |what: &str| Mp4Error::PackageMalformed(what.to_owned());
        let mut r = Reader::new(bytes, "package");
        if r.take(6).ok() != Some(MAGIC.as_slice()) {
            return Err(bad("not a package"));
        }
        let version = r.u8().map_err(|_| bad("truncated"))?;
        if version != VERSION {
            return Err(Mp4Error::PackageMalformed(format!("version {version}, expected {VERSION}")));
        }
        let p = read_body(&mut r).map_err(|_| bad("truncated"))?;
        if !r.rest().is_empty() {
            return Err(bad("trailing bytes"));
        }
        let time_ok = |t: f64| t.is_finite() && t >= 0.0;
        if !time_ok(p.duration_seconds) || p.frame_rate.is_some_and(|f| !time_ok(f)) {
            return Err(bad("invalid duration or frame rate"));
        }
        for s in &p.segments {
            if !time_ok(s.start_seconds) || !time_ok(s.duration_seconds) {
                return Err(bad("invalid segment time"));
            }
            if s.ranges.iter().any(|&(offset, len)| offset.checked_add(len).is_none()) {
                return Err(bad("a range past 2^64"));
            }
            if !mdat_header_matches(&s.header, s.data_len()) {
                return Err(bad("a segment header does not match its ranges"));
            }
        }
        Ok(p)
    }
}

fn bytes32(out: &mut Vec<u8>, b: &[u8]) {
    u32(out, b.len() as u32);
    out.extend_from_slice(b);
}

fn read_body(r: &mut Reader<'_>) -> Result<Package, Mp4Error> {
    let init = read_bytes32(r)?;
    let codecs_len = usize::from(r.u16()?);
    let codecs = String::from_utf8(r.take(codecs_len)?.to_vec())
        .map_err(|_| Mp4Error::PackageMalformed("codecs are not UTF-8".into()))?;
    let (width, height) = (r.u32()?, r.u32()?);
    let has_frame_rate = r.u8()? != 0;
    let frame_rate = f64::from_bits(r.u64()?);
    let (peak_bandwidth, average_bandwidth) = (r.u64()?, r.u64()?);
    let duration_seconds = f64::from_bits(r.u64()?);
    let target_duration = r.u32()?;
    let count = r.u32()? as usize;
    let mut segments = Vec::with_capacity(count.min(r.rest().len() / MIN_SEGMENT_BYTES));
    for _ in 0..count {
        let start_seconds = f64::from_bits(r.u64()?);
        let duration_seconds = f64::from_bits(r.u64()?);
        let header = read_bytes32(r)?;
        let n = r.u32()? as usize;
        let mut table = Reader::new(r.take(n.saturating_mul(16))?, "ranges");
        let mut ranges = Vec::with_capacity(n);
        for _ in 0..n {
            ranges.push((table.u64()?, table.u64()?));
        }
        segments.push(PackagedSegment { start_seconds, duration_seconds, header, ranges });
    }
    Ok(Package {
        init,
        segments,
        codecs,
        width,
        height,
        frame_rate: has_frame_rate.then_some(frame_rate),
        peak_bandwidth,
        average_bandwidth,
        duration_seconds,
        target_duration,
    })
}

fn read_bytes32(r: &mut Reader<'_>) -> Result<Vec<u8>, Mp4Error> {
    let len = r.u32()? as usize;
    Ok(r.take(len)?.to_vec())
}

/// A segment header ends with the `mdat` box header for exactly its data.
pub(crate) fn mdat_header_matches(header: &[u8], data_len: u64) -> bool {
    let tail = |n: usize| header.len().checked_sub(n).and_then(|at| header.get(at..));
    if let Some([a, b, c, d, b'm', b'd', b'a', b't']) = tail(8)
        && Some(u64::from(u32::from_be_bytes([*a, *b, *c, *d]))) == data_len.checked_add(8)
    {
        return true;
    }
    match tail(16) {
        Some([0, 0, 0, 1, b'm', b'd', b'a', b't', size @ ..]) => {
            size.try_into().map(u64::from_be_bytes).ok() == data_len.checked_add(16)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Package {
        let mut header = b"moof-ish".to_vec();
        header.extend_from_slice(&(8u32 + 30).to_be_bytes());
        header.extend_from_slice(b"mdat");
        let mut large = vec![1, 2, 3, 0, 0, 0, 1];
        large.extend_from_slice(b"mdat");
        large.extend_from_slice(&(16u64 + 5).to_be_bytes());
        Package {
            init: b"ftyp+moov".to_vec(),
            segments: vec![
                PackagedSegment {
                    start_seconds: 0.0,
                    duration_seconds: 1.04,
                    header,
                    ranges: vec![(48, 10), (100, 20)],
                },
                PackagedSegment {
                    start_seconds: 1.04,
                    duration_seconds: 3.96,
                    header: large,
                    ranges: vec![(1 << 40, 5)],
                },
            ],
            codecs: "avc1.64001f,mp4a.40.2".into(),
            width: 1280,
            height: 720,
            frame_rate: Some(24.0),
            peak_bandwidth: 1_000_000,
            average_bandwidth: 800_000,
            duration_seconds: 5.0,
            target_duration: 4,
        }
    }

    #[test]
    fn round_trips_and_is_deterministic() {
        let p = sample();
        let blob = p.encode();
        assert_eq!(Package::decode(&blob), Ok(p.clone()));
        assert_eq!(blob, p.encode());
        let none = Package { frame_rate: None, segments: vec![], ..p };
        assert_eq!(Package::decode(&none.encode()), Ok(none));
    }

    #[test]
    fn refuses_other_versions_truncation_garbage_and_lies() {
        let blob = sample().encode();
        let mut v2 = blob.clone();
        v2[6] = 2;
        assert_eq!(Package::decode(&v2).map_err(|e| e.code()), Err("package_malformed"));
        for cut in 0..blob.len() {
            assert!(Package::decode(&blob[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = blob.clone();
        longer.push(0);
        assert!(Package::decode(&longer).is_err());
        assert!(Package::decode(b"garbage").is_err());
        // A segment whose ranges no longer add up to its mdat header.
        let mut p = sample();
        p.segments[0].ranges.pop();
        assert!(Package::decode(&p.encode()).is_err());
        let mut p = sample();
        p.segments[1].duration_seconds = f64::NAN;
        assert!(Package::decode(&p.encode()).is_err());
        // A count of 4 billion segments in a short blob asks for no memory.
        let p = sample();
        let mut huge = p.encode();
        let at = 7 + 4 + p.init.len() + 2 + p.codecs.len() + 8 + 9 + 16 + 8 + 4;
        assert_eq!(huge[at..at + 4], 2u32.to_be_bytes());
        huge[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(Package::decode(&huge).is_err());
    }
}
