//! The scanner over the fixtures, the way uploads arrive: index first or last, and the files that
//! are no MP4 at all, empty, cut short or audio only.

use flick_packaging::mp4::{BoxScanner, Mp4Error, ScanState, TrackKind};

use crate::common::{extra, find_index, fixture, have_ffmpeg, load};

fn scan_result(name: &str) -> Result<ScanState, Mp4Error> {
    let bytes = std::fs::read(fixture(name)).expect("read");
    let mut s = BoxScanner::new(bytes.len() as u64);
    while let Some((offset, len)) = s.wants() {
        s.feed(&bytes[offset as usize..offset as usize + len])?;
    }
    Ok(s.state())
}

#[test]
fn finds_the_index_first_or_last_in_a_few_reads() {
    if !have_ffmpeg("finds_the_index_first_or_last_in_a_few_reads") {
        return;
    }
    let bytes = std::fs::read(fixture("h264_aac_faststart.mp4")).expect("read");
    let (state, reads) = find_index(&bytes);
    assert!(matches!(state, ScanState::Found { media_before_index: false, fragmented: false, .. }), "{state:?}");
    assert!(reads <= 3, "{reads} reads");
    let bytes = std::fs::read(fixture("h264_aac_moov_end.mp4")).expect("read");
    let (state, reads) = find_index(&bytes);
    assert!(matches!(state, ScanState::Found { media_before_index: true, .. }), "{state:?}");
    assert!(reads <= 5, "{reads} reads");
    let ScanState::Found { moov, .. } = state else { return };
    assert_eq!(moov.end(), bytes.len() as u64, "ffmpeg puts the index last");
    assert!(load(&extra("h264_aac.mov")).movie.first_track(TrackKind::Audio).is_some());
}

#[test]
fn files_that_are_not_usable_mp4s() {
    if !have_ffmpeg("files_that_are_not_usable_mp4s") {
        return;
    }
    let code = |name: &str| scan_result(name).map_err(|e| e.code());
    assert_eq!(code("text.mp4"), Err("not_mp4"));
    assert_eq!(code("random.mp4"), Err("not_mp4"));
    assert_eq!(code("h264_aac.mkv"), Err("not_mp4"));
    assert_eq!(code("vp9_opus.webm"), Err("not_mp4"));
    assert_eq!(code("empty.mp4"), Ok(ScanState::NoIndex));
    // The moov-at-end file cut at 40%: its mdat runs past the end.
    assert_eq!(code("truncated.mp4"), Err("index_malformed"));
    let audio = load(&fixture("audio_only.mp4"));
    assert_eq!(audio.movie.first_track(TrackKind::Video), None);
    assert!(audio.movie.first_track(TrackKind::Audio).is_some());
}
