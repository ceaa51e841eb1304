//! Finding the index (`moov`) while the file's bytes arrive: walk the top-level boxes by their
//! headers alone, so an index at the end of a 1 GB upload is found after reading a few dozen bytes
//! per box, and an index at the start as soon as the first kilobytes are in.

use super::Mp4Error;
use super::boxes::{read_header, show};

/// A box's place in the file, header included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoxPos {
    pub offset: u64,
    pub size: u64,
}

impl BoxPos {
    /// One past the box's last byte.
    pub fn end(&self) -> u64 {
        self.offset.saturating_add(self.size)
    }
}

/// Where the scan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanState {
    /// Still walking: read [`BoxScanner::wants`] and [`BoxScanner::feed`] it.
    Scanning,
    /// The index is at `moov`. `media_before_index`: an `mdat` (or `moof`) came first, so the
    /// index arrives last on a sequential upload. `fragmented`: a top-level `moof` came before the
    /// index (a fragmented file's index usually comes first: its `mvex`, reported by
    /// [`super::Movie::fragmented`], tells the rest).
    Found { moov: BoxPos, media_before_index: bool, fragmented: bool },
    /// The file ended without an index.
    NoIndex,
    /// [`BoxScanner::feed`] returned an error; the scan is over.
    Failed,
}

/// Boxes a movie file may start with (ffmpeg's `mov_probe` accepts these too). Anything else is not
/// an MP4/MOV file, and saying so early lets the caller hand it to ffmpeg at once.
const FIRST_BOXES: [&[u8; 4]; 16] = [
    b"ftyp", b"styp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"junk", b"udta", b"meta",
    b"sidx", b"moof", b"prfl", b"PICT",
];

/// A file has a handful of top-level boxes; millions of tiny ones are an attack on whoever reads
/// their headers one request at a time.
const MAX_TOP_LEVEL_BOXES: u32 = 100_000;

/// Walks the top-level boxes of a file of known length while its bytes arrive, asking only for box
/// headers.
#[derive(Debug, Clone)]
pub struct BoxScanner {
    file_len: u64,
    pos: u64,
    boxes: u32,
    media_seen: bool,
    moof_seen: bool,
    state: ScanState,
}

impl BoxScanner {
    pub fn new(file_len: u64) -> Self {
        let mut scanner =
            BoxScanner { file_len, pos: 0, boxes: 0, media_seen: false, moof_seen: false, state: ScanState::Scanning };
        scanner.settle();
        scanner
    }

    /// The bytes it needs next: `(offset, len)` of the next box header (16 bytes, fewer only at the
    /// end of the file, never fewer than 8), or `None` when it is done.
    pub fn wants(&self) -> Option<(u64, usize)> {
        match self.state {
            ScanState::Scanning => Some((self.pos, self.remaining().min(16) as usize)),
            _ => None,
        }
    }

    /// Feeds the bytes it asked for (at least the first 8; 16 when the box has a 64-bit size).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), Mp4Error> {
        if self.state != ScanState::Scanning {
            return Err(Mp4Error::malformed("the scan is already over"));
        }
        let result = self.step(bytes);
        if result.is_err() {
            self.state = ScanState::Failed;
        }
        result
    }

    pub fn state(&self) -> ScanState {
        self.state
    }

    fn remaining(&self) -> u64 {
        self.file_len.saturating_sub(self.pos)
    }

    fn step(&mut self, bytes: &[u8]) -> Result<(), Mp4Error> {
        let first = self.boxes == 0;
        let header = read_header(bytes.get(..16).unwrap_or(bytes))
            .map_err(|e| if first { Mp4Error::NotMp4("the first box header is not valid".into()) } else { e })?;
        let printable = header.kind.iter().all(|b| (0x20..=0x7e).contains(b));
        if first && !FIRST_BOXES.contains(&&header.kind) {
            return Err(Mp4Error::NotMp4(format!("the file starts with '{}'", show(header.kind))));
        }
        if !printable {
            return Err(Mp4Error::malformed(format!("top-level box '{}' at {}", show(header.kind), self.pos)));
        }
        let remaining = self.remaining();
        let size = header.size.unwrap_or(remaining);
        if size < header.header_len {
            return Err(Mp4Error::malformed(format!("box '{}' at {} is too small", show(header.kind), self.pos)));
        }
        if size > remaining {
            let detail = format!("box '{}' at {} extends past the end of the file", show(header.kind), self.pos);
            return Err(if first { Mp4Error::NotMp4(detail) } else { Mp4Error::malformed(detail) });
        }
        self.boxes += 1;
        if self.boxes > MAX_TOP_LEVEL_BOXES {
            return Err(Mp4Error::malformed("too many top-level boxes"));
        }
        match &header.kind {
            b"moov" => {
                self.state = ScanState::Found {
                    moov: BoxPos { offset: self.pos, size },
                    media_before_index: self.media_seen,
                    fragmented: self.moof_seen,
                };
                return Ok(());
            }
            b"mdat" => self.media_seen = true,
            b"moof" => {
                self.media_seen = true;
                self.moof_seen = true;
            }
            _ => {}
        }
        self.pos += size;
        self.settle();
        Ok(())
    }

    /// Ends the scan when no further box fits (fewer than 8 bytes left are padding, as players see it).
    fn settle(&mut self) {
        if self.state == ScanState::Scanning && self.remaining() < 8 {
            self.state = ScanState::NoIndex;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a scanner over a complete file, the way the caller does while bytes arrive.
    fn scan(file: &[u8]) -> (ScanState, Result<(), Mp4Error>, usize) {
        let mut s = BoxScanner::new(file.len() as u64);
        let mut asks = 0;
        while let Some((off, len)) = s.wants() {
            asks += 1;
            assert!((8..=16).contains(&len), "asked for {len} bytes");
            let bytes = &file[off as usize..off as usize + len];
            if let Err(e) = s.feed(bytes) {
                return (s.state(), Err(e), asks);
            }
        }
        (s.state(), Ok(()), asks)
    }

    fn boxed(kind: &[u8; 4], len: usize) -> Vec<u8> {
        let mut v = (len as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.resize(len, 0xAB);
        v
    }

    #[test]
    fn finds_moov_first() {
        let file = [boxed(b"ftyp", 24), boxed(b"moov", 100), boxed(b"mdat", 5000)].concat();
        let (state, result, asks) = scan(&file);
        assert!(result.is_ok());
        let want = BoxPos { offset: 24, size: 100 };
        assert_eq!(state, ScanState::Found { moov: want, media_before_index: false, fragmented: false });
        assert_eq!(asks, 2, "stops at the index");
    }

    #[test]
    fn finds_moov_after_mdat_with_a_64_bit_size() {
        let mut mdat = vec![0, 0, 0, 1];
        mdat.extend_from_slice(b"mdat");
        mdat.extend_from_slice(&(4096u64 + 16).to_be_bytes());
        mdat.resize(4096 + 16, 0);
        let file = [boxed(b"ftyp", 20), mdat, boxed(b"free", 8), boxed(b"moov", 64)].concat();
        let (state, result, _) = scan(&file);
        assert!(result.is_ok());
        let want = BoxPos { offset: 20 + 4112 + 8, size: 64 };
        assert_eq!(state, ScanState::Found { moov: want, media_before_index: true, fragmented: false });
    }

    #[test]
    fn a_size_zero_box_runs_to_the_end() {
        let mut open_moov = boxed(b"moov", 40);
        open_moov[..4].copy_from_slice(&[0, 0, 0, 0]);
        let file = [boxed(b"ftyp", 16), open_moov].concat();
        let (state, _, _) = scan(&file);
        assert!(matches!(state, ScanState::Found { moov: BoxPos { offset: 16, size: 40 }, .. }));

        let mut open_mdat = boxed(b"mdat", 40);
        open_mdat[..4].copy_from_slice(&[0, 0, 0, 0]);
        let (state, result, _) = scan(&[boxed(b"ftyp", 16), open_mdat].concat());
        assert!(result.is_ok());
        assert_eq!(state, ScanState::NoIndex);
    }

    #[test]
    fn fragmented_and_no_index() {
        let file = [boxed(b"styp", 16), boxed(b"moof", 40), boxed(b"mdat", 40), boxed(b"moov", 30)].concat();
        let (state, _, _) = scan(&file);
        assert!(matches!(state, ScanState::Found { fragmented: true, media_before_index: true, .. }));

        let (state, result, _) = scan(&[boxed(b"ftyp", 16), boxed(b"mdat", 64), vec![1, 2, 3]].concat());
        assert!(result.is_ok());
        assert_eq!(state, ScanState::NoIndex, "trailing bytes shorter than a header are ignored");
        assert_eq!(BoxScanner::new(0).state(), ScanState::NoIndex);
    }

    #[test]
    fn truncated_and_broken_headers_are_errors() {
        // The mdat claims more bytes than the file has: a truncated upload.
        let mut file = [boxed(b"ftyp", 16), boxed(b"mdat", 64)].concat();
        file.truncate(50);
        let (state, result, _) = scan(&file);
        assert_eq!(result.map_err(|e| e.code()), Err("index_malformed"));
        assert_eq!(state, ScanState::Failed);

        // A 64-bit size whose header is cut off by the end of the file.
        let mut file = boxed(b"ftyp", 16);
        file.extend_from_slice(&[0, 0, 0, 1, b'm', b'd', b'a', b't', 0, 0]);
        assert_eq!(scan(&file).1.map_err(|e| e.code()), Err("index_malformed"));

        // A box smaller than its header.
        let file = [boxed(b"ftyp", 16), vec![0, 0, 0, 3, b'f', b'r', b'e', b'e', 0, 0, 0, 0]].concat();
        assert_eq!(scan(&file).1.map_err(|e| e.code()), Err("index_malformed"));

        // Binary garbage as a later box type.
        let file = [boxed(b"ftyp", 16), boxed(b"\x01\x02\x03\x04", 16)].concat();
        assert_eq!(scan(&file).1.map_err(|e| e.code()), Err("index_malformed"));
    }

    #[test]
    fn garbage_is_not_mp4() {
        let text = b"This is not a video.\nIt is a text file with an .mp4 name.\n";
        assert_eq!(scan(text).1.map_err(|e| e.code()), Err("not_mp4"));
        let mkv = [0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 1, 0x42, 0xf7, 0x81, 1, 0x42, 0xf2, 0x81, 4];
        assert_eq!(scan(&mkv).1.map_err(|e| e.code()), Err("not_mp4"));
        let mut s = BoxScanner::new(100);
        assert!(s.feed(&[0; 3]).is_err(), "fewer bytes than a header");
        assert_eq!(s.wants(), None);
        assert!(s.feed(&[0; 16]).is_err(), "feeding a finished scan is refused");
    }

    #[test]
    fn many_tiny_boxes_are_refused() {
        let file: Vec<u8> =
            [boxed(b"ftyp", 16)].into_iter().chain((0..100_001).map(|_| boxed(b"free", 8))).flatten().collect();
        assert_eq!(scan(&file).1.map_err(|e| e.code()), Err("index_malformed"));
    }
}
