//! Packages real files, writes init + every segment into one fMP4, and checks with ffmpeg that a
//! player gets exactly the original's media: it demuxes cleanly, every packet's payload hash
//! matches in order, timing agrees within a frame, and segments start on keyframes.

use std::path::Path;

use flick_packaging::mp4::{Package, SegmentTargets, TrackKind, package};

use crate::common::{Packet, assemble, demux_errors, extra, fixture, have_ffmpeg, load, packet_hashes, packets};

const TARGETS: SegmentTargets = SegmentTargets { first_seconds: 1.0, every_seconds: 4.0, between_keyframes: false };

/// Per-stream timing as ffprobe sees it.
struct Timing {
    count: usize,
    first: f64,
    end: f64,
    frame: f64,
}

fn timing(packets: &[Packet], stream: usize) -> Timing {
    let of: Vec<&Packet> = packets.iter().filter(|p| p.stream == stream).collect();
    let first = of.iter().map(|p| p.pts).fold(f64::INFINITY, f64::min);
    let end = of.iter().map(|p| p.pts + p.duration).fold(f64::NEG_INFINITY, f64::max);
    let frame = of.iter().map(|p| p.duration).fold(0.0, f64::max);
    Timing { count: of.len(), first, end, frame }
}

/// Runs every check on one file; returns the package for file-specific assertions.
fn check(path: &Path) -> Package {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_owned();
    let loaded = load(path);
    let video = loaded.movie.first_track(TrackKind::Video).expect("a video track");
    let audio = loaded.movie.first_track(TrackKind::Audio);
    let pkg = package(&loaded.movie, video, audio, &TARGETS).expect("package");
    assert_eq!(package(&loaded.movie, video, audio, &TARGETS).as_ref(), Ok(&pkg), "{name}: deterministic");

    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("packaged.mp4");
    std::fs::write(&out, assemble(&loaded.bytes, &pkg)).expect("write");

    // (a) It demuxes without a complaint.
    let errors = demux_errors(&out);
    assert!(errors.trim().is_empty(), "{name}: ffmpeg complains: {errors}");

    // (b) The same payload, packet for packet, per stream.
    let maps: &[&str] = if audio.is_some() { &["0:v:0", "0:a:0"] } else { &["0:v:0"] };
    let original = packet_hashes(path, maps);
    let ours = packet_hashes(&out, &["0"]);
    assert_eq!(ours.len(), maps.len(), "{name}: streams");
    for (s, (a, b)) in original.iter().zip(&ours).enumerate() {
        assert_eq!(a.len(), b.len(), "{name}: stream {s} packet count");
        assert!(a == b, "{name}: stream {s} payloads differ");
    }

    // (c) Timing: durations and first/last times agree within a frame, up to one common shift.
    let (orig_packets, our_packets) = (packets(path), packets(&out));
    let orig_streams: Vec<usize> = [Some(video), audio]
        .iter()
        .flatten()
        .map(|&t| loaded.movie.tracks.iter().take(t).filter(|x| x.kind != TrackKind::Other).count())
        .collect();
    let shift = timing(&our_packets, 0).first - timing(&orig_packets, orig_streams[0]).first;
    assert!((0.0..1.0).contains(&shift), "{name}: common shift {shift}");
    for (ours_index, &orig_index) in orig_streams.iter().enumerate() {
        let (o, p) = (timing(&orig_packets, orig_index), timing(&our_packets, ours_index));
        let tolerance = o.frame.max(p.frame) + 1e-6;
        assert_eq!(o.count, p.count, "{name}: stream {ours_index} packets");
        assert!(
            (p.first - shift - o.first).abs() <= tolerance,
            "{name}: stream {ours_index} starts {} vs {}",
            p.first - shift,
            o.first
        );
        assert!(
            (p.end - shift - o.end).abs() <= tolerance,
            "{name}: stream {ours_index} ends {} vs {}",
            p.end - shift,
            o.end
        );
    }

    // (d) Every segment after the first starts on a keyframe of the original (and of ours); the
    // first segment is the short one.
    let keyframes: Vec<f64> =
        orig_packets.iter().filter(|p| p.stream == orig_streams[0] && p.key).map(|p| p.pts).collect();
    let our_keyframes: Vec<f64> =
        our_packets.iter().filter(|p| p.stream == 0 && p.key).map(|p| p.pts - shift).collect();
    for s in pkg.segments.iter().skip(1) {
        let on_key = |keys: &[f64]| keys.iter().any(|k| (k - s.start_seconds).abs() < 1e-3);
        assert!(on_key(&keyframes), "{name}: segment at {} is not on a keyframe of the original", s.start_seconds);
        assert!(on_key(&our_keyframes), "{name}: segment at {} is not on a keyframe of ours", s.start_seconds);
    }
    if let [first, second, ..] = pkg.segments.as_slice() {
        assert!(first.duration_seconds < second.duration_seconds, "{name}: the first segment is not the short one");
    }
    let total: f64 = pkg.segments.iter().map(|s| s.duration_seconds).sum();
    assert!((total - pkg.duration_seconds).abs() < 1e-6);
    assert!(pkg.segments.iter().all(|s| f64::from(pkg.target_duration) + 1e-6 >= s.duration_seconds));
    assert!(pkg.peak_bandwidth >= pkg.average_bandwidth && pkg.average_bandwidth > 0);
    pkg
}

fn package_of(path: &Path) -> Package {
    let loaded = load(path);
    let video = loaded.movie.first_track(TrackKind::Video).expect("video");
    package(&loaded.movie, video, loaded.movie.first_track(TrackKind::Audio), &TARGETS).expect("package")
}

fn starts(pkg: &Package) -> Vec<f64> {
    pkg.segments.iter().map(|s| (s.start_seconds * 1000.0).round() / 1000.0).collect()
}

#[test]
fn moov_at_end_h264_aac() {
    if !have_ffmpeg("moov_at_end_h264_aac") {
        return;
    }
    let pkg = check(&fixture("h264_aac_moov_end.mp4"));
    assert_eq!(pkg.codecs, "avc1.4d401f,mp4a.40.2");
    assert_eq!((pkg.width, pkg.height), (1280, 720));
    // The seed has one keyframe: one segment.
    assert_eq!(pkg.segments.len(), 1);
}

#[test]
fn faststart_h264_aac() {
    if !have_ffmpeg("faststart_h264_aac") {
        return;
    }
    check(&fixture("h264_aac_faststart.mp4"));
}

#[test]
fn keyframes_every_second() {
    if !have_ffmpeg("keyframes_every_second") {
        return;
    }
    let pkg = check(&fixture("h264_aac_gop1.mp4"));
    assert_eq!(starts(&pkg), vec![0.0, 1.0, 5.0, 9.0]);
    assert_eq!(pkg.target_duration, 4);
    // An interleaved ffmpeg file: each segment is one read of the original.
    assert!(
        pkg.segments.iter().all(|s| s.ranges.len() == 1),
        "{:?}",
        pkg.segments.iter().map(|s| s.ranges.len()).collect::<Vec<_>>()
    );
}

#[test]
fn no_audio() {
    if !have_ffmpeg("no_audio") {
        return;
    }
    let pkg = check(&fixture("vfr_noaudio.mp4"));
    assert!(!pkg.codecs.contains(','), "{}", pkg.codecs);
}

#[test]
fn hevc_mov_rotated() {
    if !have_ffmpeg("hevc_mov_rotated") {
        return;
    }
    let path = fixture("hevc_rot90.mov");
    let loaded = load(&path);
    let v = &loaded.movie.tracks[loaded.movie.first_track(TrackKind::Video).expect("video")];
    // ffprobe gives the display matrix's counter-clockwise angle; ours is clockwise.
    let probed: i32 = crate::common::video_field(&path, "stream_side_data=rotation").parse().expect("rotation");
    assert_eq!(v.rotation, (360 - probed).rem_euclid(360));
    assert!(v.rotation == 90 || v.rotation == 270, "a quarter turn: {}", v.rotation);
    let pkg = check(&path);
    assert!(pkg.codecs.starts_with("hvc1.1.6.L"), "{}", pkg.codecs);
    assert_eq!((pkg.width, pkg.height), (360, 640), "shown upright");
}

#[test]
fn hevc_with_b_frames_and_keyframes_every_second() {
    if !have_ffmpeg("hevc_with_b_frames_and_keyframes_every_second") {
        return;
    }
    let path = extra("hevc_gop.mov");
    let pkg = check(&path);
    assert_eq!(starts(&pkg), vec![0.0, 1.0]);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("rot.mp4");
    std::fs::write(&out, assemble(&std::fs::read(&path).expect("read"), &pkg)).expect("write");
    let rotation = |p: &Path| crate::common::video_field(p, "stream_side_data=rotation");
    assert_eq!(rotation(&out), rotation(&path), "the tkhd matrix is carried over");
    assert!(!rotation(&out).is_empty());
}

#[test]
fn b_frames_and_edit_lists() {
    if !have_ffmpeg("b_frames_and_edit_lists") {
        return;
    }
    let path = extra("bframes_edit.mp4");
    let loaded = load(&path);
    let v = loaded.movie.first_track(TrackKind::Video).expect("video");
    assert!(loaded.movie.tracks[v].max_keyframe_interval.is_some_and(|k| (k - 2.0).abs() < 1e-6));
    let pkg = check(&path);
    assert_eq!(starts(&pkg), vec![0.0, 2.0, 6.0]);
}

#[test]
fn non_interleaved() {
    if !have_ffmpeg("non_interleaved") {
        return;
    }
    let pkg = check(&extra("non_interleaved.mp4"));
    // The first segment's video and audio lie far apart: two reads.
    assert!(pkg.segments[0].ranges.len() >= 2, "{:?}", pkg.segments[0].ranges);
    let interleaved = package_of(&extra("bframes_edit.mp4"));
    let reads = |p: &Package| p.segments.iter().map(|s| s.ranges.len()).sum::<usize>();
    assert!(reads(&pkg) > reads(&interleaved));
}

#[test]
fn h264_aac_in_a_mov() {
    if !have_ffmpeg("h264_aac_in_a_mov") {
        return;
    }
    let pkg = check(&extra("h264_aac.mov"));
    // The QuickTime sound description is rewritten to the ISO form players parse.
    assert!(!pkg.init.windows(4).any(|w| w == b"wave"));
    assert_eq!(pkg.codecs, "avc1.4d401f,mp4a.40.2");
}
