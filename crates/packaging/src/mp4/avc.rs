//! H.264: the `avcC` record and the fields of its first SPS that decide whether a browser can play
//! the stream as it is (profile, chroma format, bit depth, interlacing).

use super::bits::{BitReader, Truncated, unescape_nal};

/// What Flick reads from an `avcC` box and its first SPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AvcConfig {
    /// `AVCProfileIndication`, profile compatibility and `AVCLevelIndication` from the record: the
    /// three bytes of the RFC 6381 codecs string.
    pub profile_idc: u8,
    pub constraint_flags: u8,
    pub level_idc: u8,
    pub chroma_format_idc: u8,
    pub bit_depth: u8,
    pub frame_mbs_only: bool,
    /// Picture size from the SPS (after cropping), when the SPS could be read that far.
    pub size: Option<(u32, u32)>,
}

/// Profiles whose SPS carries chroma format, bit depth and scaling matrices (H.264 7.3.2.1.1).
const HIGH_PROFILES: [u8; 13] = [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135];

/// Reads an `avcC` body. `None` only when the record's fixed header is missing; SPS fields that
/// cannot be read fall back to the record's own high-profile fields or to 4:2:0, 8 bits, progressive.
pub(crate) fn parse_avcc(avcc: &[u8]) -> Option<AvcConfig> {
    let (&[_version, profile_idc, constraint_flags, level_idc, _length_size], rest) = avcc.split_first_chunk()?;
    let mut config = AvcConfig {
        profile_idc,
        constraint_flags,
        level_idc,
        chroma_format_idc: 1,
        bit_depth: 8,
        frame_mbs_only: true,
        size: None,
    };
    let (sps_list, after_sps) = nal_list(rest, 0x1f);
    let after_pps = after_sps.and_then(|r| nal_list(r, 0xff).1);
    // The high-profile extension of the record: chroma_format and bit depth (reserved bits set).
    if HIGH_PROFILES.contains(&profile_idc)
        && let Some(&[chroma, luma, ..]) = after_pps
    {
        config.chroma_format_idc = chroma & 0x03;
        config.bit_depth = (luma & 0x07) + 8;
    }
    if let Some(sps) = sps_list.and_then(|s| parse_sps(s).ok()) {
        config.chroma_format_idc = sps.chroma_format_idc;
        config.bit_depth = sps.bit_depth;
        config.frame_mbs_only = sps.frame_mbs_only;
        config.size = Some(sps.size);
    }
    Some(config)
}

/// Splits a count-prefixed list of length-prefixed NAL units (as in `avcC`): returns the first one
/// and the bytes after the list (`None` when the list is cut short).
fn nal_list(bytes: &[u8], count_mask: u8) -> (Option<&[u8]>, Option<&[u8]>) {
    let Some((&count, mut rest)) = bytes.split_first() else { return (None, None) };
    let mut first = None;
    for _ in 0..(count & count_mask) {
        let Some((len, after)) = rest.split_first_chunk::<2>() else { return (first, None) };
        let len = usize::from(u16::from_be_bytes(*len));
        let Some(nal) = after.get(..len) else { return (first, None) };
        first = first.or(Some(nal));
        rest = &after[len..];
    }
    (first, Some(rest))
}

/// The SPS fields Flick uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sps {
    pub profile_idc: u8,
    pub constraint_flags: u8,
    pub level_idc: u8,
    pub chroma_format_idc: u8,
    pub bit_depth: u8,
    pub frame_mbs_only: bool,
    pub size: (u32, u32),
}

/// Parses an SPS NAL unit (header byte included, emulation prevention still in) up to its picture
/// size (H.264 7.3.2.1.1).
pub(crate) fn parse_sps(nal: &[u8]) -> Result<Sps, Truncated> {
    let rbsp = unescape_nal(nal);
    let (&[header, profile_idc, constraint_flags, level_idc], rest) = rbsp.split_first_chunk().ok_or(Truncated)?;
    if header & 0x1f != 7 {
        return Err(Truncated);
    }
    let mut r = BitReader::new(rest);
    let _sps_id = r.ue()?;
    let (mut chroma_format_idc, mut bit_depth, mut separate_planes) = (1u32, 8u32, false);
    if HIGH_PROFILES.contains(&profile_idc) {
        chroma_format_idc = r.ue()?;
        if chroma_format_idc > 3 {
            return Err(Truncated);
        }
        if chroma_format_idc == 3 {
            separate_planes = r.bit()?;
        }
        bit_depth = r.ue()?.saturating_add(8);
        let _bit_depth_chroma = r.ue()?;
        let _qpprime_y_zero_transform_bypass = r.bit()?;
        if r.bit()? {
            let lists = if chroma_format_idc == 3 { 12 } else { 8 };
            for i in 0..lists {
                if r.bit()? {
                    skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    let _log2_max_frame_num = r.ue()?;
    match r.ue()? {
        0 => {
            let _log2_max_poc_lsb = r.ue()?;
        }
        1 => {
            let _delta_pic_order_always_zero = r.bit()?;
            let _offset_for_non_ref_pic = r.se()?;
            let _offset_for_top_to_bottom_field = r.se()?;
            let cycle = r.ue()?;
            if cycle > 255 {
                return Err(Truncated);
            }
            for _ in 0..cycle {
                r.se()?;
            }
        }
        _ => {}
    }
    let _max_num_ref_frames = r.ue()?;
    let _gaps_in_frame_num_allowed = r.bit()?;
    let width_mbs = u64::from(r.ue()?) + 1;
    let height_map_units = u64::from(r.ue()?) + 1;
    let frame_mbs_only = r.bit()?;
    if !frame_mbs_only {
        let _mb_adaptive_frame_field = r.bit()?;
    }
    let _direct_8x8_inference = r.bit()?;
    let frame_height_factor = if frame_mbs_only { 1 } else { 2 };
    let mut width = width_mbs * 16;
    let mut height = height_map_units * 16 * frame_height_factor;
    if r.bit()? {
        let (left, right, top, bottom) = (r.ue()?, r.ue()?, r.ue()?, r.ue()?);
        // Crop units (7-19 .. 7-22): one sample without chroma, else the chroma subsampling.
        let (unit_x, unit_y) = match (separate_planes, chroma_format_idc) {
            (true, _) | (_, 0) => (1, frame_height_factor),
            (_, 1) => (2, 2 * frame_height_factor),
            (_, 2) => (2, frame_height_factor),
            _ => (1, frame_height_factor),
        };
        width = width.saturating_sub(unit_x * (u64::from(left) + u64::from(right)));
        height = height.saturating_sub(unit_y * (u64::from(top) + u64::from(bottom)));
    }
    Ok(Sps {
        profile_idc,
        constraint_flags,
        level_idc,
        chroma_format_idc: chroma_format_idc as u8,
        bit_depth: bit_depth.min(255) as u8,
        frame_mbs_only,
        size: (width.min(u64::from(u32::MAX)) as u32, height.min(u64::from(u32::MAX)) as u32),
    })
}

/// Reads past one `scaling_list()` (7.3.2.1.1.1): only its length matters to us.
fn skip_scaling_list(r: &mut BitReader<'_>, size: usize) -> Result<(), Truncated> {
    let (mut last, mut next) = (8i32, 8i32);
    for _ in 0..size {
        if next != 0 {
            let delta = r.se()?;
            next = (last + delta).rem_euclid(256);
        }
        if next != 0 {
            last = next;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
    }

    // Real SPS NAL units, cut from streams made with ffmpeg/libx264 and checked against ffprobe.

    #[test]
    fn main_profile_sps_of_the_seed_clip() {
        // bigbuckbunny.mp4: Main@3.1, 1280x720 (1280x736 coded, 16 rows cropped).
        let sps = parse_sps(&hex("674d401fda014016ec0440000003004000000c83c60ca8")).expect("sps");
        assert_eq!((sps.profile_idc, sps.constraint_flags, sps.level_idc), (77, 0x40, 31));
        assert_eq!((sps.chroma_format_idc, sps.bit_depth, sps.frame_mbs_only), (1, 8, true));
        assert_eq!(sps.size, (1280, 720));
    }

    #[test]
    fn high_10_sps() {
        // h264_10bit.mp4: High 10@1.2, 320x180 (emulation-prevention bytes inside).
        let sps = parse_sps(&hex("676e000ca6cb40a0cfcf80880000030008000003019078a155")).expect("sps");
        assert_eq!((sps.profile_idc, sps.level_idc, sps.bit_depth, sps.chroma_format_idc), (110, 12, 10, 1));
        assert_eq!(sps.size, (320, 180));
    }

    #[test]
    fn sps_with_scaling_matrices() {
        // libx264 AVC-Intra 100 (the one x264 mode that puts scaling lists in the SPS): High 4:2:2
        // Intra@4.1, 10-bit 4:2:2, 1920x1080 interlaced.
        let sps = parse_sps(&hex(concat!(
            "677a1029b6d420223319c6632321011198ce331918210224da444acf25224646cadd220c88191b1234ad",
            "10608180aa2417891a141808840a098230441210f01e0113f2e0220000030002000003006508"
        )))
        .expect("sps");
        assert_eq!((sps.profile_idc, sps.level_idc, sps.chroma_format_idc, sps.bit_depth), (122, 41, 2, 10));
        assert!(!sps.frame_mbs_only);
        assert_eq!(sps.size, (1920, 1080));
    }

    #[test]
    fn high_444_and_interlaced_sps() {
        let sps = parse_sps(&hex("67f4000a919b2884d808800000030080000019078912cb")).expect("sps");
        assert_eq!((sps.profile_idc, sps.chroma_format_idc, sps.bit_depth, sps.size), (244, 3, 8, (64, 64)));
        // High@3.0, 720x576, field-coded (frame_mbs_only_flag = 0).
        let sps = parse_sps(&hex("6764001eacd940b424d8088000000300800000190f8a14cb")).expect("sps");
        assert_eq!((sps.profile_idc, sps.frame_mbs_only, sps.size), (100, false, (720, 576)));
    }

    #[test]
    fn baseline_sps_uses_defaults_and_avcc_gives_the_codecs_string() {
        // Constrained Baseline@1.3, 320x240: no chroma/bit-depth fields in the SPS.
        let sps_nal = hex("6742c00dd90141fb011000000300100000030320f142a480");
        let sps = parse_sps(&sps_nal).expect("sps");
        assert_eq!((sps.chroma_format_idc, sps.bit_depth, sps.frame_mbs_only), (1, 8, true));
        assert_eq!(sps.size, (320, 240));
        let mut avcc = vec![1, 0x42, 0xc0, 0x0d, 0xff, 0xe1, 0, sps_nal.len() as u8];
        avcc.extend(&sps_nal);
        avcc.extend([1, 0, 4, 0x68, 0xce, 0x3c, 0x80]);
        let c = parse_avcc(&avcc).expect("avcC");
        assert_eq!((c.profile_idc, c.constraint_flags, c.level_idc), (0x42, 0xc0, 0x0d));
        assert_eq!(c.size, Some((320, 240)));
    }

    #[test]
    fn broken_records_fall_back_or_fail_cleanly() {
        assert_eq!(parse_avcc(&[1, 100, 0]), None);
        // A record whose SPS is cut off keeps its header's profile and 4:2:0 8-bit defaults.
        let c = parse_avcc(&[1, 100, 0, 40, 0xff, 0xe1, 0, 30, 0x67, 100]).expect("header");
        assert_eq!((c.profile_idc, c.level_idc, c.bit_depth, c.size), (100, 40, 8, None));
        // The record's own high-profile extension is used when the SPS cannot be read.
        let c = parse_avcc(&[1, 110, 0, 30, 0xff, 0xe1, 0, 2, 0x67, 110, 1, 0, 1, 0x68, 0xfd, 0xfa, 0xf8, 0]);
        assert_eq!(c.map(|c| (c.chroma_format_idc, c.bit_depth)), Some((1, 10)));
        assert_eq!(parse_sps(&[0x68, 100, 0, 30]), Err(Truncated), "a PPS is not an SPS");
        assert!(parse_sps(&[0x67, 100, 0, 30, 0, 0, 0, 0]).is_err());
    }
}
