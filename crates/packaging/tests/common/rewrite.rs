//! Rewrites an MP4 so that all of its first track's chunks come before all of the second's: a
//! non-interleaved file, which no ffmpeg option makes. Uses mp4-atom (not the code under test) to
//! read and write the index.

use mp4_atom::{Decode, Encode, Moov, StszSamples};

/// The top-level boxes of a small file with 32-bit sizes: (type, start, end).
fn top_level(file: &[u8]) -> Vec<([u8; 4], usize, usize)> {
    let mut boxes = Vec::new();
    let mut at = 0;
    while at + 8 <= file.len() {
        let size = u32::from_be_bytes(file[at..at + 4].try_into().expect("4 bytes")) as usize;
        let kind: [u8; 4] = file[at + 4..at + 8].try_into().expect("4 bytes");
        assert!(size >= 8, "this helper reads plain 32-bit boxes only");
        boxes.push((kind, at, at + size));
        at += size;
    }
    boxes
}

pub fn non_interleaved(file: &[u8]) -> Vec<u8> {
    let boxes = top_level(file);
    let find = |k: &[u8; 4]| boxes.iter().find(|b| &b.0 == k).map(|&(_, s, e)| &file[s..e]).expect("box");
    let ftyp = find(b"ftyp");
    let mut moov = Moov::decode(&mut &find(b"moov")[..]).expect("moov");

    let mut payload = Vec::new();
    let base = (ftyp.len() + 8) as u64; // mdat payload starts after ftyp and the mdat header
    for trak in &mut moov.trak {
        let stbl = &mut trak.mdia.minf.stbl;
        let sizes: Vec<u32> = match &stbl.stsz.samples {
            StszSamples::Identical { count, size } => vec![*size; *count as usize],
            StszSamples::Different { sizes } => sizes.clone(),
        };
        let stsc = &stbl.stsc.entries;
        let offsets = &mut stbl.stco.as_mut().expect("stco").entries;
        let mut sample = 0usize;
        for (c, offset) in offsets.iter_mut().enumerate() {
            let chunk_no = c as u32 + 1;
            let per_chunk = stsc.iter().rev().find(|e| e.first_chunk <= chunk_no).expect("stsc").samples_per_chunk;
            let len: u32 = sizes[sample..sample + per_chunk as usize].iter().sum();
            sample += per_chunk as usize;
            let from = *offset as usize;
            *offset = u32::try_from(base + payload.len() as u64).expect("small file");
            payload.extend_from_slice(&file[from..from + len as usize]);
        }
    }
    let mut out = ftyp.to_vec();
    out.extend_from_slice(&((payload.len() + 8) as u32).to_be_bytes());
    out.extend_from_slice(b"mdat");
    out.extend_from_slice(&payload);
    moov.encode(&mut out).expect("encode moov");
    out
}
