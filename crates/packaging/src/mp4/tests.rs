//! The index read as hostile input, one broken rule at a time, and what the packager writes read
//! back with an independent decoder (mp4-atom).

use super::testutil::{TrackSpec, moov};
use super::*;

/// A file of `len` bytes whose index sits at 0: samples must come after it.
fn parse(tracks: &[TrackSpec], len: u64) -> Result<Movie, Mp4Error> {
    parse_movie(&moov(tracks, false, &[]), 0, len, &Limits::default())
}

fn code<T: std::fmt::Debug>(r: Result<T, Mp4Error>) -> &'static str {
    r.err().map_or("ok", |e| e.code())
}

#[test]
fn reads_a_plain_two_track_movie() {
    let movie =
        parse(&[TrackSpec::video(50, 1000, 10_000, 25), TrackSpec::audio(94, 100, 60_000)], 100_000).expect("movie");
    let (v, a) = (&movie.tracks[0], &movie.tracks[1]);
    assert_eq!((v.kind, v.sample_count, v.timescale, v.width, v.height), (TrackKind::Video, 50, 12800, 64, 64));
    assert_eq!(v.duration_seconds, 2.0);
    assert_eq!(v.frame_rate, Some(25.0));
    assert_eq!(v.bit_rate, Some(200_000));
    assert_eq!(v.max_keyframe_interval, Some(1.0));
    assert_eq!(v.codecs_string().as_deref(), Some("avc1.64001f"));
    assert_eq!((a.kind, a.sample_rate, a.channels), (TrackKind::Audio, 48000, 2));
    assert_eq!(a.codecs_string().as_deref(), Some("mp4a.40.2"));
    assert!(!movie.fragmented);
    assert_eq!(movie.first_track(TrackKind::Audio), Some(1));
}

#[test]
fn reads_co64_stz2_ctts_v1_elst_v1_and_a_64_bit_moov() {
    let mut v = TrackSpec::video(4, 10, 1000, 2);
    v.co64 = true;
    v.chunks = vec![1000, 1010, 1020, 1030];
    v.stz2 = Some(4);
    v.ctts = Some((1, vec![(1, 1024), (1, -512), (2, 0)]));
    v.elst = Some((1, vec![(500, -1), (1000, 512)]));
    v.stss = None;
    let index = moov(&[v], true, &[]);
    let movie = parse_movie(&index, 0, 2000, &Limits::default()).expect("movie");
    let m = movie.tracks[0].media.as_ref().expect("media");
    let ctos: Vec<i32> = m.table.samples.iter().map(|s| s.cto).collect();
    assert_eq!(ctos, vec![1024, -512, 0, 0]);
    assert_eq!(m.table.samples.iter().map(|s| s.offset).collect::<Vec<_>>(), vec![1000, 1010, 1020, 1030]);
    // 500 ms of empty edit at 12800 Hz, then media from tick 512.
    assert_eq!(m.shift, 6400 - 512);
    assert!(m.table.sync.is_none() && m.table.is_sync(3));

    let mut v = TrackSpec::video(3, 300, 1000, 1);
    v.stz2 = Some(16);
    let movie = parse(&[v.clone()], 5000).expect("stz2 16");
    assert_eq!(movie.tracks[0].media.as_ref().map(|m| m.table.samples[2].offset), Some(1600));
    v.stz2 = Some(8);
    assert_eq!(code(parse(&[v], 5000)), "ok", "8-bit sizes of 300 wrap, but stay in the file");
}

#[test]
fn limits_come_before_allocation() {
    let index = moov(&[TrackSpec::video(10, 10, 1000, 1)], false, &[]);
    let tight = Limits { max_index_bytes: index.len() as u64 - 1, ..Limits::default() };
    assert_eq!(code(parse_movie(&index, 0, 5000, &tight)), "index_too_large");
    let few = Limits { max_samples: 9, ..Limits::default() };
    assert_eq!(code(parse_movie(&index, 0, 5000, &few)), "index_too_large");
    let tracks = vec![TrackSpec::video(1, 10, 5000, 1); 3];
    let two = Limits { max_tracks: 2, ..Limits::default() };
    assert_eq!(code(parse_movie(&moov(&tracks, false, &[]), 0, 6000, &two)), "index_too_large");
    // Four billion samples of one uniform size: refused from the header, at once.
    let mut v = TrackSpec::video(1, 10, 1000, 1);
    v.uniform = Some((10, u32::MAX));
    v.stts = vec![(u32::MAX, 1)];
    v.stsc = vec![(1, u32::MAX, 1)];
    assert_eq!(code(parse(&[v], 1 << 40)), "index_too_large");
}

#[test]
fn inconsistent_tables_are_malformed() {
    let base = TrackSpec::video(10, 10, 1000, 1);
    type Breaker = Box<dyn Fn(&mut TrackSpec)>;
    let broken: Vec<(&str, Breaker)> = vec![
        ("stts total", Box::new(|t| t.stts = vec![(9, 512)])),
        ("ctts total", Box::new(|t| t.ctts = Some((0, vec![(11, 0)])))),
        ("stsc past the chunks", Box::new(|t| t.stsc = vec![(1, 1, 1), (11, 1, 1)])),
        ("stsc not from chunk 1", Box::new(|t| t.stsc = vec![(2, 1, 1)])),
        ("stsc out of order", Box::new(|t| t.stsc = vec![(1, 1, 1), (5, 1, 1), (5, 1, 1)])),
        ("stsc too few samples", Box::new(|t| t.stsc = vec![(1, 1, 1), (10, 0, 1)])),
        ("zero timescale", Box::new(|t| t.timescale = 0)),
        ("zero duration", Box::new(|t| t.stts = vec![(10, 0)])),
        ("stss past the end", Box::new(|t| t.stss = Some(vec![1, 11]))),
        ("stss out of order", Box::new(|t| t.stss = Some(vec![5, 1]))),
        ("stz2 field size", Box::new(|t| t.stz2 = Some(12))),
        ("edit past the media", Box::new(|t| t.elst = Some((0, vec![(100, 100_000)])))),
        ("stsd without its entry", Box::new(|t| t.entry.clear())),
    ];
    for (what, break_it) in broken {
        let mut t = base.clone();
        break_it(&mut t);
        let got = code(parse(&[t], 5000));
        assert!(got == "index_malformed", "{what}: {got}");
    }
    // A movie with nothing to play.
    assert_eq!(code(parse(&[TrackSpec::video(0, 0, 0, 1)], 5000)), "index_malformed");
}

#[test]
fn tracks_we_never_package_cannot_fail_the_file() {
    let mut timecode = TrackSpec::video(3, 4, 4000, 1);
    timecode.handler = *b"tmcd";
    timecode.stsc = vec![(1, 1, 1), (9, 1, 1)]; // chunk 9 of 3
    timecode.chunks[0] = u64::MAX; // and outside any file
    let movie = parse(&[TrackSpec::video(4, 10, 4096, 1), timecode.clone()], 5000).expect("parse");
    assert_eq!(movie.tracks[1].kind, TrackKind::Other);
    assert_eq!(movie.tracks[1].sample_count, 3);
    assert!(movie.tracks[1].media.is_none());
    // The same broken tables in an audio track do fail it.
    timecode.handler = *b"soun";
    assert_eq!(code(parse(&[TrackSpec::video(4, 10, 4096, 1), timecode], 5000)), "index_malformed");
}

#[test]
fn samples_outside_the_file_or_in_the_index_are_refused() {
    assert_eq!(code(parse(&[TrackSpec::video(10, 100, 1000, 1)], 1999)), "sample_out_of_bounds");
    let mut v = TrackSpec::video(2, 100, 1000, 1);
    v.chunks[1] = u64::from(u32::MAX);
    assert_eq!(code(parse(&[v], 5000)), "sample_out_of_bounds");
    // Sample 0 starts inside the index (which occupies the file's first bytes).
    assert_eq!(code(parse(&[TrackSpec::video(2, 100, 100, 1)], 5000)), "sample_in_index");
    let mut v = TrackSpec::video(1, 0, 0, 1);
    v.sizes = vec![0];
    v.stts = vec![(1, 1)];
    assert_eq!(code(parse(&[v], 5000)), "ok", "an empty sample takes no bytes of the index");
}

#[test]
fn overlapping_samples_fragmented_files_and_odd_layouts_are_not_packaged() {
    let targets = SegmentTargets::default();
    let movie = parse(&[TrackSpec::video(10, 100, 2000, 1), TrackSpec::audio(5, 100, 2950)], 5000).expect("parse");
    assert_eq!(code(package(&movie, 0, Some(1), &targets)), "sample_overlap");
    assert_eq!(code(package(&movie, 0, None, &targets)), "ok", "only packaged tracks count");

    let mut mvex = Vec::new();
    let at = write::open(&mut mvex, b"mvex");
    write::close(&mut mvex, at).expect("small");
    let index = moov(&[TrackSpec::video(0, 0, 0, 1)], false, &[mvex]);
    let movie = parse_movie(&index, 0, 5000, &Limits::default()).expect("a fragmented index parses");
    assert!(movie.fragmented);
    assert_eq!(code(package(&movie, 0, None, &targets)), "unsupported_layout");

    let mut v = TrackSpec::video(4, 10, 1000, 1);
    v.stsc = vec![(1, 1, 1), (3, 1, 2)];
    let movie = parse(&[v], 5000).expect("two descriptions");
    assert_eq!(code(package(&movie, 0, None, &targets)), "unsupported_layout");
    let mut v = TrackSpec::video(4, 10, 1000, 1);
    v.dref_flags = 0;
    let movie = parse(&[v], 5000).expect("external data");
    assert_eq!(code(package(&movie, 0, None, &targets)), "unsupported_layout");
    let movie = parse(&[TrackSpec::video(4, 10, 4096, 1), TrackSpec::audio(4, 10, 5000)], 6000).expect("parse");
    assert_eq!(code(package(&movie, 1, None, &targets)), "unsupported_layout", "audio as video");
    assert_eq!(code(package(&movie, 7, None, &targets)), "unsupported_layout");
}

/// A file whose every sample byte says which sample it is, with the given tracks laid out after a
/// 4 KiB index area.
fn file_for(tracks: &[TrackSpec], len: usize) -> Vec<u8> {
    let mut file = vec![0xEE; len];
    for (n, t) in tracks.iter().enumerate() {
        let mut sample = 0;
        for (c, &offset) in t.chunks.iter().enumerate() {
            let per_chunk = t.stsc.iter().rev().find(|e| e.0 as usize <= c + 1).map_or(0, |e| e.1);
            let mut at = offset as usize;
            for _ in 0..per_chunk {
                let size = t.sizes[sample] as usize;
                file[at..at + size].fill((n * 100 + sample % 100) as u8);
                at += size;
                sample += 1;
            }
        }
    }
    file
}

#[test]
fn every_trun_points_at_its_samples_bytes() {
    use mp4_atom::{Decode, Moof};
    // Interleaved: 2 video samples, then 4 audio samples, then 2 video... (B-frame offsets too).
    let mut v = TrackSpec::video(12, 300, 0, 4);
    let mut a = TrackSpec::audio(24, 50, 0);
    v.ctts = Some((0, vec![(12, 1024)]));
    v.elst = Some((0, vec![(480, 1024)]));
    (v.chunks, a.chunks) = (Vec::new(), Vec::new());
    let mut at = 4096;
    for _ in 0..6 {
        v.chunks.push(at);
        at += 600;
        a.chunks.push(at);
        at += 200;
    }
    v.stsc = vec![(1, 2, 1)];
    a.stsc = vec![(1, 4, 1)];
    let tracks = [v, a];
    let file = file_for(&tracks, at as usize + 10);
    let index = moov(&tracks, false, &[]);
    let movie = parse_movie(&index, 0, file.len() as u64, &Limits::default()).expect("parse");
    let targets = SegmentTargets { first_seconds: 0.1, every_seconds: 0.1, between_keyframes: false };
    let pkg = package(&movie, 0, Some(1), &targets).expect("package");
    assert_eq!(pkg.segments.len(), 3, "a keyframe every 4 frames");

    let (mut video_seen, mut audio_seen) = (0usize, 0usize);
    let mut first_times = Vec::new();
    for (k, s) in pkg.segments.iter().enumerate() {
        let mut bytes = s.header.clone();
        s.ranges.iter().for_each(|&(o, l)| bytes.extend_from_slice(&file[o as usize..(o + l) as usize]));
        let moof = Moof::decode(&mut bytes.as_slice()).expect("mp4-atom reads our moof");
        assert_eq!(moof.mfhd.sequence_number, k as u32 + 1);
        for traf in &moof.traf {
            assert!(traf.tfhd.default_base_is_moof);
            first_times.push((traf.tfhd.track_id, traf.tfdt.as_ref().map(|t| t.base_media_decode_time)));
            for trun in &traf.trun {
                let mut pos = trun.data_offset.expect("data offset") as usize;
                for i in 0..trun.samples.len() {
                    let e = trun.samples.get(i).expect("entry");
                    let size = e.size.expect("size") as usize;
                    let (track, seen) =
                        if traf.tfhd.track_id == 1 { (0, &mut video_seen) } else { (1, &mut audio_seen) };
                    let want = (track * 100 + *seen % 100) as u8;
                    assert!(
                        bytes[pos..pos + size].iter().all(|&b| b == want),
                        "segment {k} track {track} sample {seen}"
                    );
                    if track == 0 {
                        assert_eq!(e.cts, Some(1024));
                        assert_eq!(e.flags.map(|f| f & 0x0001_0000 == 0), Some(*seen % 4 == 0), "sync flags");
                    }
                    *seen += 1;
                    pos += size;
                }
            }
        }
    }
    assert_eq!((video_seen, audio_seen), (12, 24));
    // Video decode times: dts - 1024 (the edit) + 1024 (the common offset); audio +3840 (0.08 s).
    assert_eq!(first_times[0], (1, Some(0)));
    assert_eq!(first_times[1], (2, Some(3840)));
}

#[test]
fn the_init_segment_keeps_stsd_and_drops_metadata() {
    use mp4_atom::{Decode, Ftyp, Moov};
    let mut udta = Vec::new();
    let at = write::open(&mut udta, b"udta");
    udta.extend_from_slice(b"\0\0\0\x0e\xa9namsecret");
    write::close(&mut udta, at).expect("small");
    let tracks = [TrackSpec::video(4, 10, 4096, 1), TrackSpec::audio(4, 10, 5000)];
    let index = moov(&tracks, false, &[udta]);
    let movie = parse_movie(&index, 0, 6000, &Limits::default()).expect("parse");
    let pkg = package(&movie, 0, Some(1), &SegmentTargets::default()).expect("package");
    let mut init = pkg.init.as_slice();
    let ftyp = Ftyp::decode(&mut init).expect("ftyp");
    assert_eq!(ftyp.major_brand, mp4_atom::FourCC::new(b"isom"));
    let moov = Moov::decode(&mut init).expect("mp4-atom reads our moov");
    assert!(init.is_empty());
    assert_eq!(moov.trak.len(), 2);
    assert_eq!(moov.mvex.as_ref().map(|m| m.trex.len()), Some(2));
    assert!(moov.udta.is_none() && moov.meta.is_none());
    assert!(!pkg.init.windows(6).any(|w| w == b"secret"));
    for t in &tracks {
        assert!(pkg.init.windows(t.entry.len()).any(|w| w == t.entry.as_slice()), "sample entry verbatim");
    }
    assert_eq!(pkg.codecs, "avc1.64001f,mp4a.40.2");
    assert_eq!(Package::decode(&pkg.encode()), Ok(pkg));
}

#[test]
fn edit_list_shifts() {
    let elst = |version: u8, entries: &[(u64, i64)]| {
        let t = TrackSpec { elst: Some((version, entries.to_vec())), ..TrackSpec::video(1, 1, 0, 1) };
        let bytes = moov(&[t], false, &[]);
        let at = bytes.windows(4).position(|w| w == b"elst").expect("elst") + 4;
        movie::edit_shift(&bytes[at..], 1000, 12800, 1_000_000)
    };
    assert_eq!(elst(0, &[(1000, 1024)]), Ok(-1024), "B-frame delay");
    assert_eq!(elst(0, &[(250, -1), (1000, 0)]), Ok(3200), "a leading empty edit");
    assert_eq!(elst(1, &[(250, -1), (100, -1), (1000, 512)]), Ok(4480 - 512));
    assert_eq!(elst(0, &[(250, -1)]), Ok(3200), "only an empty edit");
    assert_eq!(elst(0, &[]), Ok(0));
    assert_eq!(code(elst(0, &[(10, -5)])), "index_malformed");
    assert_eq!(code(elst(1, &[(u64::MAX, -1), (1, 0)])), "index_malformed");
}
