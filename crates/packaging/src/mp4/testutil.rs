//! Hand-made indexes for the unit tests: every table spelled out, so each validation rule can be
//! broken one at a time.

use super::write::{close, open, open_full, u16, u32, u64};

/// One track of a synthetic `moov`.
#[derive(Debug, Clone)]
pub(crate) struct TrackSpec {
    pub handler: [u8; 4],
    pub timescale: u32,
    pub sizes: Vec<u32>,
    /// Some(bits): write `stz2` with this field size instead of `stsz`.
    pub stz2: Option<u8>,
    /// Some(size): a uniform `stsz` with this size and `count` samples.
    pub uniform: Option<(u32, u32)>,
    pub chunks: Vec<u64>,
    pub co64: bool,
    pub stsc: Vec<(u32, u32, u32)>,
    pub stts: Vec<(u32, u32)>,
    pub ctts: Option<(u8, Vec<(u32, i32)>)>,
    pub stss: Option<Vec<u32>>,
    pub elst: Option<(u8, Vec<(u64, i64)>)>,
    /// The sample entry box (inside `stsd`).
    pub entry: Vec<u8>,
    pub matrix: [i32; 9],
    pub dref_flags: u32,
}

impl TrackSpec {
    /// `n` video samples of `size` bytes, one chunk each, back to back from `offset`; 25 fps at
    /// timescale 12800; keyframe every `gop`.
    pub fn video(n: u32, size: u32, offset: u64, gop: u32) -> Self {
        TrackSpec {
            handler: *b"vide",
            timescale: 12800,
            sizes: vec![size; n as usize],
            stz2: None,
            uniform: None,
            chunks: (0..u64::from(n)).map(|i| offset + i * u64::from(size)).collect(),
            co64: false,
            stsc: if n == 0 { vec![] } else { vec![(1, 1, 1)] },
            stts: vec![(n, 512)],
            ctts: None,
            stss: Some((0..n).step_by(gop as usize).map(|i| i + 1).collect()),
            elst: None,
            entry: avc1_entry(),
            matrix: [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x4000_0000],
            dref_flags: 1,
        }
    }

    /// `n` AAC frames of `size` bytes in one chunk at `offset`, 48 kHz.
    pub fn audio(n: u32, size: u32, offset: u64) -> Self {
        TrackSpec {
            handler: *b"soun",
            timescale: 48000,
            sizes: vec![size; n as usize],
            chunks: vec![offset],
            stsc: vec![(1, n, 1)],
            stts: vec![(n, 1024)],
            stss: None,
            entry: mp4a_entry(),
            ..TrackSpec::video(0, 0, 0, 1)
        }
    }
}

/// An `avc1` entry, 64x64, with a real High-profile `avcC`.
pub(crate) fn avc1_entry() -> Vec<u8> {
    let mut out = Vec::new();
    let entry = open(&mut out, b"avc1");
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
    out.extend_from_slice(&[0; 16]);
    u16(&mut out, 64);
    u16(&mut out, 64);
    out.extend_from_slice(&[0, 0x48, 0, 0, 0, 0x48, 0, 0, 0, 0, 0, 0, 0, 1]);
    out.extend_from_slice(&[0; 32]);
    out.extend_from_slice(&[0, 0x18, 0xff, 0xff]);
    let avcc = open(&mut out, b"avcC");
    let sps = [0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10];
    out.extend_from_slice(&[1, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0, sps.len() as u8]);
    out.extend_from_slice(&sps);
    out.extend_from_slice(&[1, 0, 4, 0x68, 0xeb, 0xe3, 0xcb]);
    close(&mut out, avcc).expect("small");
    close(&mut out, entry).expect("small");
    out
}

/// An `mp4a` entry with an `esds` for AAC LC 48 kHz stereo.
pub(crate) fn mp4a_entry() -> Vec<u8> {
    let mut out = Vec::new();
    let entry = open(&mut out, b"mp4a");
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 16, 0, 0, 0, 0, 0xbb, 0x80, 0, 0]);
    let esds = open_full(&mut out, b"esds", 0, 0);
    out.extend_from_slice(&[0x03, 25, 0, 1, 0, 0x04, 17, 0x40, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfa, 0]);
    out.extend_from_slice(&[0x05, 2, 0x11, 0x90, 0x06, 1, 2]);
    close(&mut out, esds).expect("small");
    close(&mut out, entry).expect("small");
    out
}

/// A whole `moov`. `large` writes its header with a 64-bit size; `extra` boxes go at its end.
pub(crate) fn moov(tracks: &[TrackSpec], large: bool, extra: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mvhd = open_full(&mut out, b"mvhd", 0, 0);
    out.extend_from_slice(&[0; 8]);
    u32(&mut out, 1000);
    u32(&mut out, 0);
    out.extend_from_slice(&[0; 80]);
    close(&mut out, mvhd).expect("small");
    for (n, t) in tracks.iter().enumerate() {
        trak(&mut out, n as u32 + 1, t);
    }
    for e in extra {
        out.extend_from_slice(e);
    }
    let mut whole = Vec::new();
    if large {
        u32(&mut whole, 1);
        whole.extend_from_slice(b"moov");
        u64(&mut whole, out.len() as u64 + 16);
    } else {
        u32(&mut whole, out.len() as u32 + 8);
        whole.extend_from_slice(b"moov");
    }
    whole.extend_from_slice(&out);
    whole
}

fn trak(out: &mut Vec<u8>, id: u32, t: &TrackSpec) {
    let trak = open(out, b"trak");
    let tkhd = open_full(out, b"tkhd", 0, 3);
    out.extend_from_slice(&[0; 8]);
    u32(out, id);
    out.extend_from_slice(&[0; 24]);
    t.matrix.iter().for_each(|&m| out.extend_from_slice(&m.to_be_bytes()));
    u32(out, 64 << 16);
    u32(out, 64 << 16);
    close(out, tkhd).expect("small");
    if let Some((version, entries)) = &t.elst {
        let edts = open(out, b"edts");
        let elst = open_full(out, b"elst", *version, 0);
        u32(out, entries.len() as u32);
        for &(duration, media_time) in entries {
            if *version == 1 {
                u64(out, duration);
                out.extend_from_slice(&media_time.to_be_bytes());
            } else {
                u32(out, duration as u32);
                out.extend_from_slice(&(media_time as i32).to_be_bytes());
            }
            u32(out, 0x0001_0000);
        }
        close(out, elst).expect("small");
        close(out, edts).expect("small");
    }
    let mdia = open(out, b"mdia");
    let mdhd = open_full(out, b"mdhd", 0, 0);
    out.extend_from_slice(&[0; 8]);
    u32(out, t.timescale);
    u32(out, 0);
    u32(out, 0);
    close(out, mdhd).expect("small");
    let hdlr = open_full(out, b"hdlr", 0, 0);
    u32(out, 0);
    out.extend_from_slice(&t.handler);
    out.extend_from_slice(&[0; 13]);
    close(out, hdlr).expect("small");
    let minf = open(out, b"minf");
    let dinf = open(out, b"dinf");
    let dref = open_full(out, b"dref", 0, 0);
    u32(out, 1);
    let url = open_full(out, b"url ", 0, t.dref_flags);
    close(out, url).expect("small");
    close(out, dref).expect("small");
    close(out, dinf).expect("small");
    let stbl = open(out, b"stbl");
    let stsd = open_full(out, b"stsd", 0, 0);
    u32(out, 1);
    out.extend_from_slice(&t.entry);
    close(out, stsd).expect("small");
    table(out, b"stts", 0, &t.stts.iter().flat_map(|&(n, d)| [n, d]).collect::<Vec<_>>());
    if let Some((version, entries)) = &t.ctts {
        table(out, b"ctts", *version, &entries.iter().flat_map(|&(n, o)| [n, o as u32]).collect::<Vec<_>>());
    }
    table(out, b"stsc", 0, &t.stsc.iter().flat_map(|&(a, b, c)| [a, b, c]).collect::<Vec<_>>());
    sizes(out, t);
    if t.co64 {
        let b = open_full(out, b"co64", 0, 0);
        u32(out, t.chunks.len() as u32);
        t.chunks.iter().for_each(|&c| u64(out, c));
        close(out, b).expect("small");
    } else {
        table(out, b"stco", 0, &t.chunks.iter().map(|&c| c as u32).collect::<Vec<_>>());
    }
    if let Some(stss) = &t.stss {
        let b = open_full(out, b"stss", 0, 0);
        u32(out, stss.len() as u32);
        stss.iter().for_each(|&s| u32(out, s));
        close(out, b).expect("small");
    }
    close(out, stbl).expect("small");
    close(out, minf).expect("small");
    close(out, mdia).expect("small");
    close(out, trak).expect("small");
}

/// A full box of u32 entries, written as flat fields with the entry count first.
fn table(out: &mut Vec<u8>, kind: &[u8; 4], version: u8, fields: &[u32]) {
    let per_entry = match kind {
        b"stsc" => 3,
        b"stco" => 1,
        _ => 2,
    };
    let b = open_full(out, kind, version, 0);
    u32(out, (fields.len() / per_entry) as u32);
    fields.iter().for_each(|&f| u32(out, f));
    close(out, b).expect("small");
}

fn sizes(out: &mut Vec<u8>, t: &TrackSpec) {
    if let Some(bits) = t.stz2 {
        let b = open_full(out, b"stz2", 0, 0);
        u32(out, u32::from(bits));
        u32(out, t.sizes.len() as u32);
        match bits {
            16 => t.sizes.iter().for_each(|&s| u16(out, s as u16)),
            8 => t.sizes.iter().for_each(|&s| out.push(s as u8)),
            _ => t.sizes.chunks(2).for_each(|p| out.push(((p[0] as u8) << 4) | p.get(1).map_or(0, |&s| s as u8))),
        }
        close(out, b).expect("small");
        return;
    }
    let b = open_full(out, b"stsz", 0, 0);
    match t.uniform {
        Some((size, count)) => {
            u32(out, size);
            u32(out, count);
        }
        None => {
            u32(out, 0);
            u32(out, t.sizes.len() as u32);
            t.sizes.iter().for_each(|&s| u32(out, s));
        }
    }
    close(out, b).expect("small");
}
