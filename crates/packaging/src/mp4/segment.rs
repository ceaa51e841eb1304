//! Where segments start, which samples each one holds, and the decode times written for them.
//!
//! Cuts follow Flick's HLS segmenter: cut times `first, first + every, first + 2 * every, ...`; each
//! segment after the first starts at the first video sync sample, after the previous cut, whose
//! presentation time is at or after the next cut time. Audio goes with the video whose time span
//! contains it. Times are compared as exact integers across timescales, so the plan is the same on
//! every machine.

use std::ops::Range;

use super::Mp4Error;
use super::tables::SampleTable;

/// Segment durations to aim for, in seconds: a short first segment so playback starts early.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentTargets {
    pub first_seconds: f64,
    pub every_seconds: f64,
    /// Cut at any video sample, not only at keyframes. Never for HLS (a segment must start on a keyframe); for a
    /// feed that a decoder reads front to back, so that each fragment can go out as soon as its bytes arrive.
    pub between_keyframes: bool,
}

impl Default for SegmentTargets {
    fn default() -> Self {
        SegmentTargets { first_seconds: 1.0, every_seconds: 4.0, between_keyframes: false }
    }
}

/// One packaged track as the planner sees it.
pub(crate) struct TrackTimes<'a> {
    pub table: &'a SampleTable,
    pub timescale: u32,
    /// The first edit's shift (track ticks): presentation = dts + cto + shift.
    pub shift: i64,
}

/// The cut of one segment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SegmentPlan {
    pub video: Range<usize>,
    pub audio: Range<usize>,
    pub start_seconds: f64,
    pub duration_seconds: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub segments: Vec<SegmentPlan>,
    /// What to add to a sample's dts to get the decode time written (`tfdt`), per track: the edit
    /// shift plus one offset common to all tracks (the same instant in each timescale) that keeps
    /// every written time at or above zero.
    pub video_base: i64,
    pub audio_base: i64,
    /// Where the presentation ends (seconds, original timeline).
    pub end_seconds: f64,
}

/// A tolerance for comparing a keyframe time with a cut time computed in floating point.
const EPSILON: f64 = 1e-9;

pub(crate) fn plan(
    video: &TrackTimes<'_>,
    audio: Option<&TrackTimes<'_>>,
    targets: &SegmentTargets,
) -> Result<Plan, Mp4Error> {
    let (first, every) = (targets.first_seconds, targets.every_seconds);
    if !(every.is_finite() && every > 0.0 && first.is_finite() && first >= 0.0) {
        return Err(Mp4Error::unsupported("segment targets must be positive"));
    }
    if video.table.samples.is_empty() {
        return Err(Mp4Error::unsupported("the video track has no samples"));
    }
    let (video_base, audio_base) = bases(video, audio)?;

    // Video boundaries: (first sample index, presentation time in video ticks).
    let mut bounds: Vec<(usize, i128)> = vec![(0, i128::MIN)];
    let mut k = 0u32;
    let mut cut = targets.first_seconds;
    let candidates: Box<dyn Iterator<Item = usize>> = match &video.table.sync {
        Some(sync) if !targets.between_keyframes => Box::new(sync.iter().map(|&i| i as usize).filter(|&i| i > 0)),
        _ => Box::new(1..video.table.samples.len()),
    };
    for i in candidates {
        let p = presentation(video, i);
        let seconds = p as f64 / f64::from(video.timescale);
        let after_previous = bounds.last().is_none_or(|&(_, last)| p > last);
        if after_previous && seconds + EPSILON >= cut {
            bounds.push((i, p));
            k += 1;
            cut = targets.first_seconds + f64::from(k) * targets.every_seconds;
        }
    }

    // Audio: the segment whose video span [P_k, P_k+1) holds the sample's presentation time.
    let mut audio_starts = vec![0usize; bounds.len()];
    if let Some(a) = audio {
        let mut seg = 0;
        for j in 0..a.table.samples.len() {
            let pa = presentation(a, j);
            while let Some(&(_, next)) = bounds.get(seg + 1) {
                if pa * i128::from(video.timescale) < next * i128::from(a.timescale) {
                    break;
                }
                seg += 1;
                audio_starts[seg] = j;
            }
        }
        for start in audio_starts.iter_mut().skip(seg + 1) {
            *start = a.table.samples.len();
        }
    }

    let seconds = |p: i128, ts: u32| p as f64 / f64::from(ts);
    let end_of = |t: &TrackTimes<'_>| {
        (0..t.table.samples.len())
            .map(|i| presentation(t, i) + i128::from(t.table.duration(i)))
            .max()
            .map_or(0.0, |p| seconds(p, t.timescale))
    };
    let end_seconds = end_of(video).max(audio.map_or(0.0, end_of));
    let audio_len = audio.map_or(0, |a| a.table.samples.len());
    let mut segments = Vec::with_capacity(bounds.len());
    for (s, &(first, p)) in bounds.iter().enumerate() {
        let next = bounds.get(s + 1);
        let start_seconds = if s == 0 { 0.0 } else { seconds(p, video.timescale) };
        let end = next.map_or(end_seconds, |&(_, np)| seconds(np, video.timescale));
        segments.push(SegmentPlan {
            video: first..next.map_or(video.table.samples.len(), |&(i, _)| i),
            audio: audio_starts[s]..audio_starts.get(s + 1).copied().unwrap_or(audio_len),
            start_seconds,
            duration_seconds: (end - start_seconds).max(0.0),
        });
    }
    Ok(Plan { segments, video_base, audio_base, end_seconds })
}

/// Presentation time of sample `i` in its track's ticks (original timeline, edit applied).
fn presentation(t: &TrackTimes<'_>, i: usize) -> i128 {
    t.table.samples.get(i).map_or(0, |s| i128::from(s.dts) + i128::from(s.cto) + i128::from(t.shift))
}

/// The per-track additions to dts: each track's edit shift, plus the smallest offset, common to
/// both tracks and exact in both timescales (a multiple of 1/gcd seconds), that makes every
/// decode and presentation time written non-negative.
fn bases(video: &TrackTimes<'_>, audio: Option<&TrackTimes<'_>>) -> Result<(i64, i64), Mp4Error> {
    let earliest = |t: &TrackTimes<'_>| {
        let min = t.table.samples.iter().map(|s| i128::from(s.dts) + i128::from(s.cto.min(0))).min().unwrap_or(0);
        min + i128::from(t.shift)
    };
    let g = i128::from(audio.map_or(video.timescale, |a| gcd(video.timescale, a.timescale)));
    // The offset in units of 1/g seconds: enough for the track that starts earliest.
    let units = |t: &TrackTimes<'_>| {
        let need = (-earliest(t)).max(0);
        let ts = i128::from(t.timescale);
        need.saturating_mul(g).saturating_add(ts - 1) / ts
    };
    let units = units(video).max(audio.map_or(0, units));
    let base = |t: &TrackTimes<'_>| {
        let b = i128::from(t.shift).saturating_add(units.saturating_mul(i128::from(t.timescale)) / g);
        // The last decode time written must fit too (tfdt is 64-bit, sample offsets 32-bit).
        let last = b + i128::from(t.table.end_dts);
        i64::try_from(b).ok().filter(|_| last < i128::from(i64::MAX))
    };
    let too_far = || Mp4Error::unsupported("timestamps out of range");
    Ok((base(video).ok_or_else(too_far)?, audio.map(|a| base(a).ok_or_else(too_far)).transpose()?.unwrap_or(0)))
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a.max(1) } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mp4::tables::Sample;

    /// `n` samples of `delta` ticks, sync every `gop` samples, with constant offsets.
    fn table(n: usize, delta: u64, gop: Option<usize>, cto: i32) -> SampleTable {
        let samples =
            (0..n).map(|i| Sample { offset: i as u64 * 100, dts: i as u64 * delta, size: 100, cto }).collect();
        let sync = gop.map(|g| (0..n).step_by(g).map(|i| i as u32).collect());
        SampleTable { samples, sync, end_dts: n as u64 * delta, has_ctts: cto != 0, description_index: Some(1) }
    }

    #[test]
    fn cuts_at_the_first_keyframe_after_each_cut_time() {
        // 25 fps, keyframes every 2 s, first = 1, every = 4: boundaries at 2, 6, 10 s.
        let v = table(300, 512, Some(50), 0);
        let video = TrackTimes { table: &v, timescale: 12800, shift: 0 };
        let plan =
            plan(&video, None, &SegmentTargets { first_seconds: 1.0, every_seconds: 4.0, between_keyframes: false })
                .expect("plan");
        let starts: Vec<f64> = plan.segments.iter().map(|s| s.start_seconds).collect();
        assert_eq!(starts, vec![0.0, 2.0, 6.0, 10.0]);
        assert_eq!(plan.segments[0].video, 0..50);
        assert_eq!(plan.segments[3].video, 250..300);
        assert_eq!(plan.segments[3].duration_seconds, 2.0);
        assert_eq!((plan.video_base, plan.end_seconds), (0, 12.0));
    }

    #[test]
    fn a_feed_is_cut_between_keyframes() {
        // 25 fps, keyframes every 2 s: fragments of 0.5 s all the same.
        let v = table(300, 512, Some(50), 0);
        let video = TrackTimes { table: &v, timescale: 12800, shift: 0 };
        let targets = SegmentTargets { first_seconds: 0.5, every_seconds: 0.5, between_keyframes: true };
        let plan = plan(&video, None, &targets).expect("plan");
        assert_eq!(plan.segments.len(), 24);
        assert_eq!(plan.segments[1].video, 13..25, "the second starts at the first frame from 0.5 s: mid-GOP");
        assert!(plan.segments.iter().all(|s| s.duration_seconds <= 0.52));
    }

    #[test]
    fn every_sample_is_a_keyframe_without_stss_and_audio_follows_video_time() {
        let v = table(100, 1000, None, 0); // 10 fps
        let a = table(470, 1024, None, 0); // 48 kHz AAC frames: 10.03 s
        let video = TrackTimes { table: &v, timescale: 10000, shift: 0 };
        let audio = TrackTimes { table: &a, timescale: 48000, shift: 0 };
        let plan = plan(
            &video,
            Some(&audio),
            &SegmentTargets { first_seconds: 1.0, every_seconds: 4.0, between_keyframes: false },
        )
        .expect("plan");
        let starts: Vec<f64> = plan.segments.iter().map(|s| s.start_seconds).collect();
        assert_eq!(starts, vec![0.0, 1.0, 5.0, 9.0]);
        // Audio frame 47 starts at 1.0027 s: the first one at or after 1 s.
        assert_eq!(plan.segments[0].audio, 0..47);
        assert_eq!(plan.segments[1].audio.start, 47);
        assert_eq!(plan.segments[3].audio.end, 470, "the last segment takes the rest");
        let total: usize = plan.segments.iter().map(|s| s.audio.len()).sum();
        assert_eq!(total, 470);
        assert!((plan.end_seconds - 470.0 * 1024.0 / 48000.0).abs() < 1e-9);
    }

    #[test]
    fn edit_lists_shift_presentation_and_a_common_offset_keeps_times_non_negative() {
        // ffmpeg's H.264 with B-frames: cto 2 frames, edit at 2 frames; AAC with 1024 priming samples.
        let v = table(100, 512, Some(25), 1024);
        let a = table(200, 1024, None, 0);
        let video = TrackTimes { table: &v, timescale: 12800, shift: -1024 };
        let audio = TrackTimes { table: &a, timescale: 48000, shift: -1024 };
        let plan = plan(
            &video,
            Some(&audio),
            &SegmentTargets { first_seconds: 1.0, every_seconds: 4.0, between_keyframes: false },
        )
        .expect("plan");
        // Video needs nothing (dts + cto + shift >= 0 and dts + shift = -1024 only with cto 1024...
        // but its decode time dts + shift is -1024): 0.08 s in both, a multiple of 1/3200 s.
        assert_eq!(plan.video_base, -1024 + 1024);
        assert_eq!(plan.audio_base, -1024 + 3840);
        // Keyframe 25 is shown at 25 * 512 + 1024 - 1024 = 1.0 s exactly.
        assert_eq!(plan.segments[1].start_seconds, 1.0);
        assert_eq!(plan.segments[1].video.start, 25);
    }

    #[test]
    fn leading_empty_edit_and_bad_targets() {
        let v = table(10, 100, Some(5), 0);
        let video = TrackTimes { table: &v, timescale: 1000, shift: 500 };
        let plan =
            plan(&video, None, &SegmentTargets { first_seconds: 0.0, every_seconds: 0.4, between_keyframes: false })
                .expect("plan");
        assert_eq!(plan.video_base, 500);
        assert_eq!(plan.segments.len(), 2);
        assert_eq!(plan.segments[1].start_seconds, 1.0);
        for bad in [f64::NAN, 0.0, -1.0, f64::INFINITY] {
            let targets = SegmentTargets { first_seconds: 1.0, every_seconds: bad, between_keyframes: false };
            assert_eq!(super::plan(&video, None, &targets).map_err(|e| e.code()), Err("unsupported_layout"));
        }
    }

    #[test]
    fn keyframes_that_go_back_in_time_do_not_make_empty_segments() {
        let mut v = table(20, 100, Some(5), 0);
        v.samples[10].cto = -600; // keyframe 10 claims to be shown before keyframe 5
        let video = TrackTimes { table: &v, timescale: 1000, shift: 0 };
        let plan =
            plan(&video, None, &SegmentTargets { first_seconds: 0.1, every_seconds: 0.1, between_keyframes: false })
                .expect("plan");
        let firsts: Vec<usize> = plan.segments.iter().map(|s| s.video.start).collect();
        assert_eq!(firsts, vec![0, 5, 15]);
        assert!(plan.segments.iter().all(|s| s.duration_seconds > 0.0));
    }
}
