//! Property tests (bounded fuzzing; cargo-fuzz needs nightly) of the parsers Flick writes itself and
//! that see attacker-controlled text: ffprobe JSON → MediaInfo, the HLS playlist parser (flick-packaging's, which
//! reads ffmpeg's playlists here), ids and storage keys. A few thousand cases each, a few seconds in all.

use flick_domain::VideoId;
use flick_domain::ports::BlobKey;
use flick_media::{check_limits, media_info_from_json};
use flick_packaging::playlist::{MediaPlaylist, parse_media, render_media};
use proptest::prelude::*;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Any JSON value, nested a little: the shapes ffprobe output could take in a hostile file.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<f64>().prop_map(|n| serde_json::json!(n)),
        prop_oneof![
            Just("N/A".to_owned()),
            Just("nan".to_owned()),
            Just("1e308".to_owned()),
            Just("30000/1001".to_owned()),
            Just("1/0".to_owned()),
            Just("h264".to_owned()),
            Just("video".to_owned()),
            Just("audio".to_owned()),
            ".{0,12}",
        ]
        .prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("index".to_owned()),
                    Just("codec_type".to_owned()),
                    Just("codec_name".to_owned()),
                    Just("width".to_owned()),
                    Just("height".to_owned()),
                    Just("avg_frame_rate".to_owned()),
                    Just("duration".to_owned()),
                    Just("side_data_list".to_owned()),
                    Just("disposition".to_owned()),
                    Just("tags".to_owned()),
                    "[a-z_]{1,10}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A stream object ffprobe might print, with hostile values in every field.
fn stream() -> impl Strategy<Value = serde_json::Value> {
    (
        prop_oneof![Just("video"), Just("audio"), Just("data")],
        prop_oneof![Just("h264"), Just("hevc"), Just("png"), Just("aac"), Just("none"), Just("")],
        json_value(),
        json_value(),
        json_value(),
        json_value(),
        json_value(),
    )
        .prop_map(|(t, c, index, w, h, fps, rot)| {
            serde_json::json!({"codec_type": t, "codec_name": c, "index": index, "width": w, "height": h,
                "avg_frame_rate": fps, "side_data_list": [{"side_data_type": "Display Matrix", "rotation": rot}]})
        })
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn probe_json_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256), size in any::<u64>()) {
        let _ = media_info_from_json(&bytes, size);
    }

    #[test]
    fn probe_json_values_are_sane_or_refused(
        streams in prop::collection::vec(stream(), 0..5),
        duration in json_value(),
        format_name in prop_oneof![Just("mov,mp4,m4a,3gp,3g2,mj2"), Just("matroska,webm"), Just(""), Just("hls")],
        size in any::<u64>(),
    ) {
        let json = serde_json::json!({"streams": streams, "format": {"format_name": format_name, "duration": duration}});
        if let Ok(info) = media_info_from_json(json.to_string().as_bytes(), size) {
            prop_assert!(info.video.width > 0 && info.video.height > 0);
            prop_assert!(info.duration_seconds.is_finite() && info.duration_seconds >= 0.0);
            prop_assert!([0, 90, 180, 270].contains(&info.video.rotation));
            prop_assert!(info.video.frame_rate.is_none_or(|f| f.is_finite() && f > 0.0));
            prop_assert!(flick_media::VIDEO_CODECS.contains(&info.video.codec.as_str()));
            let (w, h) = info.display_size();
            prop_assert!(w > 0 && h > 0);
            let _ = check_limits(&info);
        }
    }

    #[test]
    fn playlists_parse_to_safe_names_only(text in "(#EXTM3U\n)?((#EXTINF:[-0-9.eNaIf]{0,8},\n)?[a-z_0-9./:%]{0,16}\n){0,8}") {
        if let Ok(segments) = parse_media(&text) {
            for s in &segments {
                prop_assert!(s.uri.starts_with("seg_") && (s.uri.ends_with(".ts") || s.uri.ends_with(".m4s")) && !s.uri.contains('/'));
                prop_assert!(s.duration.is_finite() && s.duration >= 0.0 && s.duration <= 3600.0);
            }
            // What Flick renders from them parses back to the same segments.
            let rendered = render_media(&MediaPlaylist { segments: &segments, target_duration: 4, ended: true, init: None });
            let again = parse_media(&rendered).unwrap();
            prop_assert_eq!(again.len(), segments.len());
        }
    }

    #[test]
    fn arbitrary_playlist_text_never_panics(text in "\\PC{0,200}") {
        let _ = parse_media(&text);
    }

    #[test]
    fn ids_and_keys_refuse_anything_that_could_name_another_file(s in "\\PC{0,40}") {
        if let Ok(id) = VideoId::parse(&s) {
            prop_assert_eq!(id.to_string(), s.clone());
            prop_assert!(s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        if let Ok(key) = BlobKey::new(s.clone()) {
            let k = key.as_str();
            prop_assert!(!k.starts_with('/') && !k.split('/').any(|p| p == ".." || p == "." || p.is_empty()), "{k}");
        }
        let id = VideoId::new();
        if let Ok(key) = BlobKey::hls_file(id, &s) {
            // One plain name inside the video's folder ("..A" is a name; ".." is not).
            prop_assert_eq!(key.as_str(), format!("hls/{id}/{s}"));
            prop_assert!(!s.contains('/') && s != ".." && s != "." && !s.is_empty(), "{}", key.as_str());
        }
    }
}
