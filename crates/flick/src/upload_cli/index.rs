//! Finding an MP4/MOV's index in a local file, to send it first.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use flick_packaging::mp4::{BoxScanner, ScanState};

/// The offset of the file's `moov` box when it comes after the media (`mdat`); `None` otherwise (index already in
/// front, not an MP4/MOV, or unreadable).
pub fn index_after_media(path: &Path, length: u64) -> Option<u64> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut scanner = BoxScanner::new(length);
    while let Some((offset, len)) = scanner.wants() {
        let mut header = vec![0u8; len];
        file.seek(SeekFrom::Start(offset)).ok()?;
        file.read_exact(&mut header).ok()?;
        scanner.feed(&header).ok()?;
    }
    match scanner.state() {
        ScanState::Found { moov, media_before_index: true, fragmented: false } => Some(moov.offset),
        _ => None,
    }
}
