//! The bytes of a segment's `mdat`: its samples' byte ranges in file order, coalesced into few
//! reads, and the runs of samples (one `trun` each) that lie contiguously in them.
//!
//! Gaps between samples are included (fewer, larger reads) only when small and made entirely of
//! other samples of the packaged tracks: never the index, another track (a second language, a
//! GPS or timecode track), or anything else of the upload a viewer was not meant to get.

use std::ops::Range;

use super::Mp4Error;
use super::tables::SampleTable;

/// Gaps below this between two samples of a segment are read along with them.
pub(crate) const MAX_GAP: u64 = 64 * 1024;

/// The file extents covered by the packaged samples, merged where they touch.
pub(crate) struct Coverage {
    intervals: Vec<(u64, u64)>,
}

impl Coverage {
    /// Sorts every packaged sample by offset (O(n log n)) and refuses any two sharing a byte.
    /// `tracks` are (table, track id) in the order the packager numbers them.
    pub fn new(tracks: &[(&SampleTable, u32)]) -> Result<Self, Mp4Error> {
        let total: usize = tracks.iter().map(|(t, _)| t.samples.len()).sum();
        // (offset, size, track number << 31 | index): 16 bytes a sample, for the duration of the sort.
        let mut extents: Vec<(u64, u32, u32)> = Vec::with_capacity(total);
        for (n, (table, _)) in tracks.iter().enumerate() {
            for (i, s) in table.samples.iter().enumerate().filter(|(_, s)| s.size > 0) {
                let tag = u32::try_from(i).ok().filter(|&i| i < 1 << 31).ok_or_else(too_many)? | ((n as u32) << 31);
                extents.push((s.offset, s.size, tag));
            }
        }
        extents.sort_unstable();
        let mut intervals: Vec<(u64, u64)> = Vec::new();
        let mut last_tag = 0;
        for (offset, size, tag) in extents {
            let end = offset + u64::from(size);
            match intervals.last_mut() {
                Some((_, last_end)) if offset < *last_end => {
                    let id = |tag: u32| tracks.get((tag >> 31) as usize).map_or(0, |t| t.1);
                    return Err(Mp4Error::SampleOverlap {
                        track: id(tag),
                        sample: u64::from(tag & 0x7fff_ffff),
                        other_track: id(last_tag),
                        other_sample: u64::from(last_tag & 0x7fff_ffff),
                    });
                }
                Some((_, last_end)) if offset == *last_end => *last_end = end,
                _ => intervals.push((offset, end)),
            }
            last_tag = tag;
        }
        Ok(Coverage { intervals })
    }

    /// Whether the bytes `[from, to)` are all packaged samples.
    fn covers(&self, from: u64, to: u64) -> bool {
        let i = self.intervals.partition_point(|&(start, _)| start <= from);
        i > 0 && self.intervals.get(i - 1).is_some_and(|&(_, end)| to <= end)
    }
}

fn too_many() -> Mp4Error {
    Mp4Error::IndexTooLarge("too many samples".into())
}

/// A run of samples of one track, contiguous in the file: one `trun`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    /// Sample indexes `first..first + count` of its track.
    pub first: usize,
    pub count: usize,
    /// Where its bytes start inside the `mdat` payload.
    pub mdat_pos: u64,
}

/// A segment's `mdat` payload and the runs in it, per packaged track.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Layout {
    /// (file offset, length), in file order.
    pub ranges: Vec<(u64, u64)>,
    pub runs: Vec<Vec<Run>>,
}

/// Lays out a segment holding, of each track, the samples in its range.
pub(crate) fn layout(tracks: &[(&SampleTable, Range<usize>)], coverage: &Coverage) -> Layout {
    let mut extents: Vec<(u64, u64)> = Vec::new();
    for (table, range) in tracks {
        let samples = table.samples.get(range.clone()).unwrap_or_default();
        extents.extend(samples.iter().filter(|s| s.size > 0).map(|s| (s.offset, s.offset + u64::from(s.size))));
    }
    extents.sort_unstable();
    let mut file_ranges: Vec<(u64, u64)> = Vec::new(); // (start, end)
    for (start, end) in extents {
        match file_ranges.last_mut() {
            Some((_, last_end))
                if start <= *last_end || (start - *last_end < MAX_GAP && coverage.covers(*last_end, start)) =>
            {
                *last_end = (*last_end).max(end);
            }
            _ => file_ranges.push((start, end)),
        }
    }
    // Where each range starts in the mdat payload.
    let mut mdat_starts = Vec::with_capacity(file_ranges.len());
    let mut pos = 0u64;
    for &(start, end) in &file_ranges {
        mdat_starts.push(pos);
        pos += end - start;
    }
    let mdat_pos = |offset: u64| {
        let i = file_ranges.partition_point(|&(start, _)| start <= offset).saturating_sub(1);
        let (start, _) = file_ranges.get(i).copied().unwrap_or((offset, offset));
        mdat_starts.get(i).copied().unwrap_or(0) + offset.saturating_sub(start)
    };

    let mut runs = Vec::with_capacity(tracks.len());
    for (table, range) in tracks {
        let mut track_runs: Vec<Run> = Vec::new();
        // The file offset the open run continues at; `None` while it holds only empty samples.
        let mut next: Option<u64> = None;
        for i in range.clone() {
            let Some(s) = table.samples.get(i) else { break };
            let open = track_runs.last_mut();
            match (open, s.size) {
                (Some(run), 0) => run.count += 1,
                (Some(run), _) if next.is_none() => {
                    run.count += 1;
                    run.mdat_pos = mdat_pos(s.offset);
                    next = Some(s.offset + u64::from(s.size));
                }
                (Some(run), _) if next == Some(s.offset) => {
                    run.count += 1;
                    next = Some(s.offset + u64::from(s.size));
                }
                (_, 0) => {
                    track_runs.push(Run { first: i, count: 1, mdat_pos: 0 });
                    next = None;
                }
                _ => {
                    track_runs.push(Run { first: i, count: 1, mdat_pos: mdat_pos(s.offset) });
                    next = Some(s.offset + u64::from(s.size));
                }
            }
        }
        runs.push(track_runs);
    }
    let ranges = file_ranges.into_iter().map(|(start, end)| (start, end - start)).collect();
    Layout { ranges, runs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mp4::tables::Sample;

    fn table(extents: &[(u64, u32)]) -> SampleTable {
        let samples = extents.iter().map(|&(offset, size)| Sample { offset, dts: 0, size, cto: 0 }).collect();
        SampleTable { samples, sync: None, end_dts: 1, has_ctts: false, description_index: Some(1) }
    }

    #[test]
    fn interleaved_chunks_become_one_range_and_one_run_per_chunk() {
        // Video chunk 100..300, audio chunk 300..350, video chunk 350..450, audio 450..470.
        let v = table(&[(100, 100), (200, 100), (350, 100)]);
        let a = table(&[(300, 25), (325, 25), (450, 20)]);
        let cov = Coverage::new(&[(&v, 1), (&a, 2)]).expect("no overlap");
        let l = layout(&[(&v, 0..3), (&a, 0..3)], &cov);
        assert_eq!(l.ranges, vec![(100, 370)]);
        assert_eq!(l.runs[0], vec![Run { first: 0, count: 2, mdat_pos: 0 }, Run { first: 2, count: 1, mdat_pos: 250 }]);
        assert_eq!(
            l.runs[1],
            vec![Run { first: 0, count: 2, mdat_pos: 200 }, Run { first: 2, count: 1, mdat_pos: 350 }]
        );
    }

    #[test]
    fn gaps_of_other_tracks_and_large_gaps_are_separate_ranges() {
        // 1000..1100 belongs to no packaged track (say, a timecode track): not read.
        let v = table(&[(0, 1000), (1100, 100), (1_000_000, 10)]);
        let cov = Coverage::new(&[(&v, 1)]).expect("no overlap");
        let l = layout(&[(&v, 0..3)], &cov);
        assert_eq!(l.ranges, vec![(0, 1000), (1100, 100), (1_000_000, 10)]);
        assert_eq!(l.runs[0].iter().map(|r| r.mdat_pos).collect::<Vec<_>>(), vec![0, 1000, 1100]);

        // A small gap made of samples of another segment is read along.
        let v = table(&[(0, 100), (100, 100), (200, 100)]);
        let cov = Coverage::new(&[(&v, 1)]).expect("no overlap");
        let l = layout(&[(&v, 0..1)], &cov);
        assert_eq!(l.ranges, vec![(0, 100)]);
        let both = layout(&[(&v, 0..1), (&v, 2..3)], &cov);
        assert_eq!(both.ranges, vec![(0, 300)], "the gap 100..200 is packaged media");
    }

    #[test]
    fn out_of_order_and_empty_samples() {
        // Decode order differs from file order: each jump starts a new run.
        let v = table(&[(500, 10), (0, 0), (100, 10), (110, 10), (0, 0)]);
        let cov = Coverage::new(&[(&v, 1)]).expect("no overlap");
        let l = layout(&[(&v, 0..5)], &cov);
        assert_eq!(l.ranges, vec![(100, 20), (500, 10)]);
        assert_eq!(l.runs[0], vec![Run { first: 0, count: 2, mdat_pos: 20 }, Run { first: 2, count: 3, mdat_pos: 0 }]);
        let empty = table(&[(7, 0), (9, 0)]);
        let l = layout(&[(&empty, 0..2)], &Coverage::new(&[(&empty, 1)]).expect("empty"));
        assert_eq!((l.ranges.len(), l.runs[0].clone()), (0, vec![Run { first: 0, count: 2, mdat_pos: 0 }]));
    }

    #[test]
    fn overlapping_samples_are_refused() {
        let v = table(&[(0, 100), (200, 100)]);
        let a = table(&[(150, 60)]);
        let err = Coverage::new(&[(&v, 1), (&a, 2)]).err().expect("overlap");
        assert_eq!(err, Mp4Error::SampleOverlap { track: 1, sample: 1, other_track: 2, other_sample: 0 });
        assert!(Coverage::new(&[(&v, 1), (&v, 1)]).is_err(), "the same sample twice");
    }
}
