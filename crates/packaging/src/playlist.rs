//! HLS playlists (RFC 8216): the master playlist with its one variant, and media playlists, rendered for viewers and
//! parsed back from what ffmpeg's segmenter writes.
//!
//! A media playlist is an EVENT playlist while its video is still arriving (players reload it and never drop a
//! segment), closed with ENDLIST when complete. It says `CAN-BLOCK-RELOAD=YES`: a player that asks for the next
//! segment with `?_HLS_msn=N` is answered as soon as segment N exists, not a target duration later.

use std::fmt::Write as _;

/// Why a playlist could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid playlist: {0}")]
pub struct PlaylistError(pub String);

/// One media segment of a playlist.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// A bare file name like `seg_00000.ts` or `seg_00000.m4s` (validated: no directories, nothing else).
    pub uri: String,
    /// Seconds.
    pub duration: f64,
}

/// A variant of a master playlist: the first rendition, or a lower one of the ladder.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// Peak bits per second.
    pub bandwidth: u64,
    /// Average bits per second, when known.
    pub average_bandwidth: Option<u64>,
    pub width: u32,
    pub height: u32,
    /// RFC 6381 codecs, e.g. `avc1.64001f,mp4a.40.2`.
    pub codecs: String,
    pub frame_rate: Option<f64>,
    /// The media playlist, relative to the master (`index.m3u8`).
    pub uri: String,
}

/// What a media playlist lists.
#[derive(Debug, Clone, Copy)]
pub struct MediaPlaylist<'a> {
    pub segments: &'a [Segment],
    /// At least this (the longest segment decides otherwise); it must not change once published.
    pub target_duration: u32,
    /// Complete: ENDLIST.
    pub ended: bool,
    /// The init segment of fMP4 segments (`EXT-X-MAP`), `None` for MPEG-TS.
    pub init: Option<&'a str>,
}

/// Segment file names: `seg_` + 5 to 9 digits + `.ts` or `.m4s`; nothing that could name another file.
pub fn is_segment_name(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("seg_") else { return false };
    let Some(digits) = rest.strip_suffix(".ts").or_else(|| rest.strip_suffix(".m4s")) else { return false };
    (5..=9).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The name of segment `index` (0-based) of the given kind.
pub fn segment_name(index: usize, fmp4: bool) -> String {
    format!("seg_{index:05}.{}", if fmp4 { "m4s" } else { "ts" })
}

/// The index of a segment name made by [`segment_name`].
pub fn segment_index(name: &str) -> Option<usize> {
    if !is_segment_name(name) {
        return None;
    }
    let digits = name.strip_prefix("seg_")?.split('.').next()?;
    digits.parse().ok()
}

/// Renders a media playlist. TARGETDURATION is at least `target_duration` and never below the longest segment.
pub fn render_media(p: &MediaPlaylist<'_>) -> String {
    let longest = p.segments.iter().map(|s| s.duration).filter(|d| d.is_finite()).fold(0.0_f64, f64::max);
    let target = p.target_duration.max(longest.round() as u32).max(1);
    let mut out = String::with_capacity(192 + p.segments.len() * 40);
    // fMP4 segments (EXT-X-MAP) need version 6 or later; MPEG-TS stays at 3 for the oldest players.
    let version = if p.init.is_some() { 7 } else { 3 };
    let _ = writeln!(out, "#EXTM3U\n#EXT-X-VERSION:{version}");
    let _ = writeln!(out, "#EXT-X-TARGETDURATION:{target}");
    out.push_str("#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    if !p.ended {
        out.push_str("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n");
    }
    if let Some(init) = p.init {
        let uri: String = init.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')).collect();
        let _ = writeln!(out, "#EXT-X-MAP:URI=\"{uri}\"");
    }
    for s in p.segments {
        if !is_segment_name(&s.uri) {
            // Never reached with names from this module; refuse to write anything else.
            continue;
        }
        let d = if s.duration.is_finite() && s.duration >= 0.0 { s.duration } else { 0.0 };
        let _ = writeln!(out, "#EXTINF:{d:.6},\n{}", s.uri);
    }
    if p.ended {
        out.push_str("#EXT-X-ENDLIST\n");
    }
    out
}

/// The master playlist with its single variant.
pub fn render_master(variant: &Variant) -> String {
    format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n{}",
        render_variants(std::slice::from_ref(variant))
    )
}

/// The `#EXT-X-STREAM-INF` entries of `variants`, in order: what a master playlist lists after its header. Lower
/// renditions are kept in this form (`renditions.m3u8`) and appended to a video's master playlist.
pub fn render_variants(variants: &[Variant]) -> String {
    let mut out = String::new();
    for variant in variants {
        let mut attrs = format!("BANDWIDTH={}", variant.bandwidth.max(1));
        if let Some(avg) = variant.average_bandwidth.filter(|a| *a > 0) {
            let _ = write!(attrs, ",AVERAGE-BANDWIDTH={}", avg.min(variant.bandwidth.max(1)));
        }
        if variant.width > 0 && variant.height > 0 {
            let _ = write!(attrs, ",RESOLUTION={}x{}", variant.width, variant.height);
        }
        let codecs: String =
            variant.codecs.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == ',').collect();
        if !codecs.is_empty() {
            let _ = write!(attrs, ",CODECS=\"{codecs}\"");
        }
        if let Some(f) = variant.frame_rate.filter(|f| f.is_finite() && *f > 0.0 && *f <= 1000.0) {
            let _ = write!(attrs, ",FRAME-RATE={f:.3}");
        }
        let uri: String = variant.uri.chars().filter(|c| !c.is_control() && *c != '"').collect();
        let _ = write!(out, "#EXT-X-STREAM-INF:{attrs}\n{uri}\n");
    }
    out
}

/// The URIs a master playlist (or a list of its entries) names, in order.
pub fn variant_uris(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_owned).collect()
}

/// The `BANDWIDTH` of the first variant a master playlist lists.
pub fn first_bandwidth(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("#EXT-X-STREAM-INF:"))?;
    let attrs = &line["#EXT-X-STREAM-INF:".len()..];
    attrs.split(',').find_map(|a| a.strip_prefix("BANDWIDTH=")).and_then(|v| v.trim().parse().ok())
}

/// Reads a media playlist (ffmpeg's or Flick's own): its segments in order. Only whole lines count (a last line
/// without its newline is ignored); a URI that is not a bare segment name, or a nonsensical duration, is an error.
pub fn parse_media(text: &str) -> Result<Vec<Segment>, PlaylistError> {
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => "",
    };
    let mut lines = complete.lines().map(str::trim).filter(|l| !l.is_empty());
    match lines.next() {
        None => return Ok(Vec::new()),
        Some("#EXTM3U") => {}
        Some(_) => return Err(PlaylistError("does not start with #EXTM3U".into())),
    }
    let mut segments = Vec::new();
    let mut pending: Option<f64> = None;
    for line in lines {
        if let Some(rest) = line.strip_prefix("#EXTINF:") {
            let value = rest.split(',').next().unwrap_or("").trim();
            let duration: f64 = value
                .parse()
                .ok()
                .filter(|d: &f64| d.is_finite() && (0.0..=3600.0).contains(d))
                .ok_or_else(|| PlaylistError(format!("bad segment duration {value:?}")))?;
            pending = Some(duration);
        } else if line.starts_with('#') {
            continue;
        } else {
            let duration = pending.take().ok_or_else(|| PlaylistError("segment without #EXTINF".into()))?;
            if !is_segment_name(line) {
                return Err(PlaylistError(format!("unexpected segment name {line:?}")));
            }
            segments.push(Segment { uri: line.to_owned(), duration });
        }
    }
    Ok(segments)
}

/// Whether a playlist is closed (ENDLIST on a whole line).
pub fn is_ended(text: &str) -> bool {
    text.lines().any(|l| l.trim() == "#EXT-X-ENDLIST")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(segments: &[Segment], ended: bool, init: Option<&str>) -> String {
        render_media(&MediaPlaylist { segments, target_duration: 4, ended, init })
    }

    #[test]
    fn parses_ffmpeg_playlists() {
        let text = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-ALLOW-CACHE:YES\n#EXT-X-TARGETDURATION:5\n\
                    #EXTINF:1.021333,\nseg_00000.ts\n#EXTINF:4.000000,\nseg_00001.ts\n#EXT-X-ENDLIST\n";
        let s = parse_media(text).unwrap();
        assert_eq!(
            s,
            vec![
                Segment { uri: "seg_00000.ts".into(), duration: 1.021333 },
                Segment { uri: "seg_00001.ts".into(), duration: 4.0 }
            ]
        );
        assert!(is_ended(text));
        // A last line without its newline is not yet whole.
        let partial = "#EXTM3U\n#EXTINF:1.0,\nseg_00000.ts\n#EXTINF:4.0,\nseg_0000";
        assert_eq!(parse_media(partial).unwrap().len(), 1);
        assert_eq!(parse_media("").unwrap(), vec![]);
    }

    #[test]
    fn hostile_playlists_are_refused_without_panicking() {
        let bad = [
            "#EXTM3U\n#EXTINF:1,\n../secret.ts\n",
            "#EXTM3U\n#EXTINF:1,\n/etc/passwd\n",
            "#EXTM3U\n#EXTINF:1,\nsub/seg_00000.ts\n",
            "#EXTM3U\n#EXTINF:1,\nseg_00000.ts/..\n",
            "#EXTM3U\n#EXTINF:1,\nhttp://evil/seg_00000.ts\n",
            "#EXTM3U\n#EXTINF:1,\nseg_0.ts\n",
            "#EXTM3U\n#EXTINF:1,\nseg_00000.ts.tmp\n",
            "#EXTM3U\n#EXTINF:1,\nseg_00000.mp4\n",
            "#EXTM3U\n#EXTINF:nan,\nseg_00000.ts\n",
            "#EXTM3U\n#EXTINF:-1,\nseg_00000.ts\n",
            "#EXTM3U\n#EXTINF:1e309,\nseg_00000.ts\n",
            "#EXTM3U\nseg_00000.ts\n",
            "hello\n",
            "#EXTM3U\n#EXTINF:1,\nseg_０0000.ts\n",
        ];
        for text in bad {
            assert!(parse_media(text).is_err(), "{text:?} must be refused");
        }
    }

    #[test]
    fn renders_media_playlists() {
        let segs = vec![
            Segment { uri: "seg_00000.ts".into(), duration: 1.08 },
            Segment { uri: "seg_00001.ts".into(), duration: 5.3 },
        ];
        let live = media(&segs, false, None);
        assert!(live.starts_with("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:5\n"), "{live}");
        assert!(live.contains("#EXT-X-PLAYLIST-TYPE:EVENT\n"));
        assert!(live.contains("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n"));
        assert!(!live.contains("ENDLIST") && !live.contains("EXT-X-MAP"));
        let done = media(&segs, true, None);
        assert!(done.ends_with("#EXTINF:5.300000,\nseg_00001.ts\n#EXT-X-ENDLIST\n"), "{done}");
        assert!(!done.contains("SERVER-CONTROL"));
        assert_eq!(parse_media(&done).unwrap(), segs, "round trip");
        let fmp4 = vec![Segment { uri: segment_name(0, true), duration: 2.0 }];
        let text = media(&fmp4, false, Some("init.mp4"));
        assert!(text.contains("#EXT-X-VERSION:7\n") && text.contains("#EXT-X-MAP:URI=\"init.mp4\"\n"), "{text}");
        assert!(text.contains("seg_00000.m4s\n"));
        let evil = vec![Segment { uri: "../x.ts".into(), duration: 1.0 }];
        assert!(!media(&evil, true, None).contains("x.ts"));
    }

    #[test]
    fn renders_master_playlists() {
        let v = Variant {
            bandwidth: 6_600_000,
            average_bandwidth: Some(4_000_000),
            width: 1280,
            height: 720,
            codecs: "avc1.64001f,mp4a.40.2".into(),
            frame_rate: Some(25.0),
            uri: "index.m3u8".into(),
        };
        assert_eq!(
            render_master(&v),
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n\
             #EXT-X-STREAM-INF:BANDWIDTH=6600000,AVERAGE-BANDWIDTH=4000000,RESOLUTION=1280x720,\
             CODECS=\"avc1.64001f,mp4a.40.2\",FRAME-RATE=25.000\nindex.m3u8\n"
        );
    }

    #[test]
    fn segment_names_round_trip() {
        assert_eq!(segment_name(42, false), "seg_00042.ts");
        assert_eq!(segment_index("seg_00042.m4s"), Some(42));
        assert_eq!(segment_index("seg_123456789.ts"), Some(123_456_789));
        for bad in ["seg_1.ts", "seg_00001.ts.tmp", "../raw", "seg_0000a.ts", "init.mp4", ""] {
            assert_eq!(segment_index(bad), None, "{bad}");
        }
    }

    #[test]
    fn lower_renditions_are_entries_appended_to_the_master() {
        let v = |height: u32, bandwidth: u64, uri: &str| Variant {
            bandwidth,
            average_bandwidth: None,
            width: height * 16 / 9,
            height,
            codecs: "avc1.64001e,mp4a.40.2".into(),
            frame_rate: None,
            uri: uri.into(),
        };
        let master = render_master(&v(720, 3_000_000, "index.m3u8"));
        let lower = render_variants(&[v(360, 900_000, "r360/index.m3u8")]);
        assert_eq!(
            lower,
            "#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360,CODECS=\"avc1.64001e,mp4a.40.2\"\nr360/index.m3u8\n"
        );
        let whole = format!("{master}{lower}");
        assert_eq!(variant_uris(&whole), ["index.m3u8", "r360/index.m3u8"]);
        assert_eq!(first_bandwidth(&whole), Some(3_000_000));
        assert_eq!(first_bandwidth("#EXTM3U\n"), None);
        assert_eq!(variant_uris(""), Vec::<String>::new());
    }
}
