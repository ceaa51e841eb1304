//! Which bytes of a file an upload has delivered so far.
//!
//! An upload is sent front to back, or **index first**: an MP4/MOV whose index (`moov`) sits at the end of the file
//! cannot be played until that index has arrived, so Flick's clients send the tail of the file (from the index on)
//! before the rest (`Flick-Index-Offset` at creation). The file Flick stores is byte-identical to the original either
//! way; only the order of transmission differs. A resumable upload's offset counts bytes *in transmission order*.

use std::ops::Range;

/// The order in which the bytes of a file of `length` bytes are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLayout {
    length: u64,
    /// Where the first-sent tail starts in the file (`None`: front to back).
    index_offset: Option<u64>,
}

impl UploadLayout {
    /// Bytes sent front to back.
    pub fn in_order(length: u64) -> Self {
        UploadLayout { length, index_offset: None }
    }

    /// File bytes `index_offset..length` first, then `0..index_offset`; `None` unless `0 < index_offset < length`.
    pub fn index_first(length: u64, index_offset: u64) -> Option<Self> {
        (index_offset > 0 && index_offset < length).then_some(UploadLayout { length, index_offset: Some(index_offset) })
    }

    /// The layout a stored upload record describes (a nonsensical offset is read as front to back).
    pub fn of(length: u64, index_offset: Option<u64>) -> Self {
        index_offset.and_then(|m| Self::index_first(length, m)).unwrap_or_else(|| Self::in_order(length))
    }

    pub fn length(&self) -> u64 {
        self.length
    }

    pub fn index_offset(&self) -> Option<u64> {
        self.index_offset
    }

    /// How many bytes are sent before the file's first byte (the tail): 0 for a front-to-back upload.
    pub fn tail_len(&self) -> u64 {
        self.index_offset.map_or(0, |m| self.length - m)
    }

    /// The file offset that transmission offset `t` carries (`t` at or past the end maps to the end).
    pub fn file_offset(&self, t: u64) -> u64 {
        let t = t.min(self.length);
        match self.index_offset {
            None => t,
            Some(m) if t < self.length - m => m + t,
            Some(m) => t - (self.length - m),
        }
    }

    /// The transmission offset at which file offset `f` is sent.
    pub fn transmission_offset(&self, f: u64) -> u64 {
        let f = f.min(self.length);
        match self.index_offset {
            None => f,
            Some(m) if f >= m => f - m,
            Some(m) => f + (self.length - m),
        }
    }

    /// The file ranges that the transmission range `from..to` covers, in transmission order (at most two: a range
    /// that crosses from the tail to the file's start is split there).
    pub fn file_ranges(&self, from: u64, to: u64) -> Vec<Range<u64>> {
        let (from, to) = (from.min(self.length), to.min(self.length));
        if from >= to {
            return Vec::new();
        }
        let wrap = self.tail_len();
        if self.index_offset.is_none() || to <= wrap || from >= wrap {
            let start = self.file_offset(from);
            let only = start..start + (to - from);
            return vec![only];
        }
        vec![self.file_offset(from)..self.length, 0..to - wrap]
    }

    /// The transmission ranges that carry the file range `range`, in file order (at most two).
    pub fn transmission_ranges(&self, range: Range<u64>) -> Vec<Range<u64>> {
        let (start, end) = (range.start.min(self.length), range.end.min(self.length));
        if start >= end {
            return Vec::new();
        }
        match self.index_offset {
            Some(m) if start < m && end > m => {
                vec![self.transmission_offset(start)..self.transmission_offset(start) + (m - start), 0..end - m]
            }
            _ => {
                let t = self.transmission_offset(start);
                let only = t..t + (end - start);
                vec![only]
            }
        }
    }

    /// What `received` durable bytes (a transmission offset) cover of the file.
    pub fn received(&self, received: u64) -> Received {
        let received = received.min(self.length);
        let mut ranges = [0..0, 0..0];
        for (slot, r) in ranges.iter_mut().zip(self.file_ranges(0, received)) {
            *slot = r;
        }
        Received { length: self.length, ranges }
    }
}

/// The file bytes an upload has delivered: at most two ranges (the tail of an index-first upload, and the file's
/// start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    length: u64,
    ranges: [Range<u64>; 2],
}

impl Received {
    /// Everything (a finished upload).
    pub fn complete(length: u64) -> Self {
        Received { length, ranges: [0..length, 0..0] }
    }

    /// Whether every byte of `range` has arrived (an empty range always has).
    pub fn contains(&self, range: Range<u64>) -> bool {
        if range.start >= range.end {
            return true;
        }
        if self.ranges.iter().any(|r| r.start <= range.start && range.end <= r.end) {
            return true;
        }
        // The two pieces may touch (the tail ends where the start reaches): then they cover their union.
        let [a, b] = &self.ranges;
        let (lo, hi) = if a.start <= b.start { (a, b) } else { (b, a) };
        !lo.is_empty() && !hi.is_empty() && lo.end >= hi.start && lo.start <= range.start && range.end <= hi.end
    }

    /// Whether the whole file has arrived.
    pub fn is_complete(&self) -> bool {
        self.contains(0..self.length)
    }

    /// How many bytes from the file's start have all arrived.
    pub fn prefix_len(&self) -> u64 {
        let mut end = 0;
        // Two passes cover both orders in which the pieces may extend the prefix.
        for _ in 0..2 {
            for r in &self.ranges {
                if r.start <= end && r.end > end {
                    end = r.end;
                }
            }
        }
        end
    }

    /// The received ranges (empty ones left out).
    pub fn ranges(&self) -> impl Iterator<Item = Range<u64>> + '_ {
        self.ranges.iter().filter(|r| !r.is_empty()).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_to_back_is_the_identity() {
        let l = UploadLayout::in_order(100);
        assert_eq!(l.file_offset(40), 40);
        assert_eq!(l.transmission_offset(40), 40);
        assert_eq!(l.file_ranges(10, 30), vec![10..30]);
        let r = l.received(30);
        assert!(r.contains(0..30) && !r.contains(29..31) && !r.is_complete());
        assert_eq!(r.prefix_len(), 30);
        assert!(l.received(100).is_complete());
    }

    #[test]
    fn index_first_sends_the_tail_then_the_start() {
        // A 100-byte file whose index starts at 80: bytes 80..100 go first, then 0..80.
        let l = UploadLayout::index_first(100, 80).unwrap();
        assert_eq!(l.tail_len(), 20);
        assert_eq!((l.file_offset(0), l.file_offset(19), l.file_offset(20), l.file_offset(99)), (80, 99, 0, 79));
        for f in [0, 1, 79, 80, 99] {
            assert_eq!(l.file_offset(l.transmission_offset(f)), f);
        }
        assert_eq!(l.file_ranges(10, 30), vec![90..100, 0..10]);
        assert_eq!(l.transmission_ranges(70..90), vec![90..100, 0..10]);
        assert_eq!(l.transmission_ranges(0..10), vec![20..30]);

        let r = l.received(10);
        assert!(r.contains(80..90) && !r.contains(80..91) && !r.contains(0..1));
        assert_eq!(r.prefix_len(), 0);
        let r = l.received(50);
        assert!(r.contains(80..100) && r.contains(0..30) && !r.contains(0..31) && !r.contains(29..81));
        assert_eq!(r.prefix_len(), 30);
        let r = l.received(100);
        assert!(r.is_complete() && r.contains(70..90));
        assert_eq!(r.prefix_len(), 100);
    }

    #[test]
    fn nonsense_layouts_fall_back_to_front_to_back() {
        assert!(UploadLayout::index_first(100, 0).is_none());
        assert!(UploadLayout::index_first(100, 100).is_none());
        assert_eq!(UploadLayout::of(100, Some(200)), UploadLayout::in_order(100));
        assert_eq!(UploadLayout::in_order(10).received(50), UploadLayout::in_order(10).received(10));
        assert!(UploadLayout::in_order(10).file_ranges(5, 5).is_empty());
        assert!(Received::complete(0).is_complete());
    }
}
