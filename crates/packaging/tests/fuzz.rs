//! Property tests (bounded fuzzing; cargo-fuzz needs nightly): real indexes from ffmpeg files,
//! mutated and truncated, through the scanner, `parse_movie`, `package` and the package format.
//! Nothing may panic, and every case must finish quickly.

use std::time::{Duration, Instant};

use flick_packaging::mp4::{BoxScanner, Limits, Package, SegmentTargets, TrackKind, package, parse_movie};
use proptest::prelude::*;

use crate::common::{extra, fixture, have_ffmpeg, load};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Real files: (whole file, index offset, index length).
fn corpus() -> Vec<(Vec<u8>, usize, usize)> {
    let paths = [fixture("h264_aac_gop1.mp4"), fixture("hevc_rot90.mov"), extra("bframes_edit.mp4")];
    paths
        .iter()
        .map(|p| {
            let l = load(p);
            (l.bytes, l.moov.offset as usize, l.moov.size as usize)
        })
        .collect()
}

/// A limit that keeps a lucky mutation from asking for millions of samples in a debug build.
fn limits() -> Limits {
    Limits { max_samples: 200_000, ..Limits::default() }
}

/// Everything the server does with an index, on hostile bytes; errors are fine, panics are not.
/// Returns whether the bytes made it through to a package.
fn exercise(file_len: u64, index: &[u8], offset: u64) -> bool {
    let started = Instant::now();
    let mut packaged = false;
    if let Ok(movie) = parse_movie(index, offset, file_len, &limits()) {
        for t in &movie.tracks {
            let _ = t.codecs_string();
        }
        if let Some(v) = movie.first_track(TrackKind::Video) {
            let targets = SegmentTargets { first_seconds: 1.0, every_seconds: 4.0, between_keyframes: false };
            if let Ok(p) = package(&movie, v, movie.first_track(TrackKind::Audio), &targets) {
                assert_eq!(Package::decode(&p.encode()).as_ref(), Ok(&p));
                packaged = true;
            }
        }
    }
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    packaged
}

/// (position, new byte) edits; positions are taken modulo the index length.
fn edits() -> impl Strategy<Value = Vec<(usize, u8)>> {
    prop::collection::vec((any::<usize>(), any::<u8>()), 1..8)
}

#[test]
fn mutated_indexes_never_panic() {
    if !have_ffmpeg("mutated_indexes_never_panic") {
        return;
    }
    let corpus = corpus();
    let packaged = std::cell::Cell::new(0);
    // A fixed seed: the count below is a check that mutations reach the packager, and with a random seed it fell
    // under its floor now and then.
    let seeded = ProptestConfig { rng_seed: proptest::test_runner::RngSeed::Fixed(0x5eed_f11c), ..config(600) };
    proptest!(seeded, |(which in 0..3usize, edits in edits(), aligned in any::<bool>())| {
        let (file, offset, len) = &corpus[which];
        let mut index = file[*offset..*offset + len].to_vec();
        for (at, byte) in edits {
            // Half the time hit the start of a 4-byte field: sizes, counts and offsets.
            let at = if aligned { (at % (len / 4)) * 4 } else { at % len };
            index[at] = byte;
        }
        packaged.set(packaged.get() + usize::from(exercise(file.len() as u64, &index, *offset as u64)));
    });
    // Most single-byte edits land in fields that still parse: the packager itself was exercised.
    assert!(packaged.get() > 50, "only {} mutated indexes reached the packager", packaged.get());
}

#[test]
fn truncated_and_resized_indexes_never_panic() {
    if !have_ffmpeg("truncated_and_resized_indexes_never_panic") {
        return;
    }
    let corpus = corpus();
    proptest!(config(300), |(which in 0..3usize, cut in any::<usize>(), value in any::<u32>(), field in any::<usize>())| {
        let (file, offset, len) = &corpus[which];
        let index = &file[*offset..*offset + len];
        // Cut short (the moov header then lies about the size).
        exercise(file.len() as u64, &index[..cut % len], *offset as u64);
        // A box size somewhere replaced: set `value` at the position of some box's size field.
        let sizes: Vec<usize> = index.windows(4).enumerate()
            .filter(|(_, w)| w.iter().all(|b| b.is_ascii_lowercase()))
            .map(|(i, _)| i.saturating_sub(4)).collect();
        let mut resized = index.to_vec();
        if let Some(&at) = sizes.get(field % sizes.len().max(1)) {
            resized[at..at + 4].copy_from_slice(&value.to_be_bytes());
        }
        exercise(file.len() as u64, &resized, *offset as u64);
        // The whole index presented as a shorter file.
        exercise((cut as u64) % file.len() as u64, index, *offset as u64);
    });
}

#[test]
fn scanner_never_panics() {
    proptest!(config(2000), |(file in prop::collection::vec(any::<u8>(), 0..200), len_extra in 0u64..1 << 40)| {
        let mut s = BoxScanner::new(file.len() as u64 + len_extra);
        let mut steps = 0;
        while let Some((offset, want)) = s.wants() {
            steps += 1;
            prop_assert!(steps < 1000);
            let bytes: Vec<u8> = (0..want).map(|i| file.get(offset as usize + i).copied().unwrap_or(0)).collect();
            if s.feed(&bytes).is_err() {
                prop_assert_eq!(s.wants(), None);
            }
        }
    });
}

#[test]
fn package_blobs_never_panic() {
    if !have_ffmpeg("package_blobs_never_panic") {
        return;
    }
    let loaded = load(&fixture("h264_aac_gop1.mp4"));
    let v = loaded.movie.first_track(TrackKind::Video).expect("video");
    let p = package(&loaded.movie, v, loaded.movie.first_track(TrackKind::Audio), &SegmentTargets::default())
        .expect("package");
    let blob = p.encode();
    assert_eq!(Package::decode(&blob).as_ref(), Ok(&p));
    proptest!(config(1000), |(edits in edits(), cut in any::<usize>())| {
        let mut b = blob.clone();
        for (at, byte) in edits {
            let at = at % b.len();
            b[at] = byte;
        }
        b.truncate(cut % (b.len() + 1));
        let _ = Package::decode(&b);
    });
    proptest!(config(500), |(garbage in prop::collection::vec(any::<u8>(), 0..300))| {
        let mut b = b"FLKPKG\x01".to_vec();
        b.extend(garbage);
        prop_assert!(Package::decode(&b).is_err());
    });
}
