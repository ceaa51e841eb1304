//! Why an MP4 index (or a stored package) cannot be used: a stable code for the API and the
//! database, and a sentence for the uploader, like `flick_media::MediaError`.

/// Why an MP4 index cannot be used. All of these are properties of the input: retrying the same
/// bytes gives the same error.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum Mp4Error {
    /// The bytes do not start like an MP4/MOV file (the first box is not one a movie starts with).
    #[error("not an MP4/MOV file: {0}")]
    NotMp4(String),

    /// The box structure or a table of the index is broken or inconsistent.
    #[error("malformed index: {0}")]
    IndexMalformed(String),

    /// The index is beyond [`super::Limits`] (bytes, samples or tracks).
    #[error("index too large: {0}")]
    IndexTooLarge(String),

    /// A sample's bytes lie (partly) outside the file.
    #[error("sample {sample} of track {track} ({len} bytes at {offset}) lies outside the file of {file_len} bytes")]
    SampleOutOfBounds { track: u32, sample: u64, offset: u64, len: u64, file_len: u64 },

    /// Two samples share bytes: we would serve the same bytes twice as different media.
    #[error("sample {sample} of track {track} overlaps sample {other_sample} of track {other_track}")]
    SampleOverlap { track: u32, sample: u64, other_track: u32, other_sample: u64 },

    /// A sample's bytes overlap the index itself (which would leak it, and is never legitimate).
    #[error("sample {sample} of track {track} lies inside the index")]
    SampleInIndex { track: u32, sample: u64 },

    /// An H.264 sample whose NAL units do not fit in it (a length runs past its end): found when a segment's bytes
    /// are read to strip their SEI.
    #[error(
        "a NAL unit of {len} bytes at byte {nal_offset} runs past the end of sample ({sample_len} bytes at byte \
         {sample_offset}) of track {track}"
    )]
    NalOutOfBounds { track: u32, sample_offset: u64, sample_len: u64, nal_offset: u64, len: u64 },

    /// A valid file that this packager does not cut (fragmented, several sample descriptions,
    /// data in another file, no video samples...): ffmpeg handles it instead.
    #[error("unsupported layout: {0}")]
    UnsupportedLayout(String),

    /// A stored package blob that cannot be read back (another version, truncated, corrupt).
    #[error("unreadable package: {0}")]
    PackageMalformed(String),
}

impl Mp4Error {
    /// A stable snake_case code for APIs and the database.
    pub fn code(&self) -> &'static str {
        match self {
            Mp4Error::NotMp4(_) => "not_mp4",
            Mp4Error::IndexMalformed(_) => "index_malformed",
            Mp4Error::IndexTooLarge(_) => "index_too_large",
            Mp4Error::SampleOutOfBounds { .. } => "sample_out_of_bounds",
            Mp4Error::SampleOverlap { .. } => "sample_overlap",
            Mp4Error::SampleInIndex { .. } => "sample_in_index",
            Mp4Error::NalOutOfBounds { .. } => "nal_out_of_bounds",
            Mp4Error::UnsupportedLayout(_) => "unsupported_layout",
            Mp4Error::PackageMalformed(_) => "package_malformed",
        }
    }

    /// A sentence the uploader understands (no offsets, no box names).
    pub fn user_message(&self) -> String {
        match self {
            Mp4Error::NotMp4(_) => "This file is not an MP4 or MOV video.".into(),
            Mp4Error::IndexMalformed(_)
            | Mp4Error::SampleOutOfBounds { .. }
            | Mp4Error::SampleOverlap { .. }
            | Mp4Error::SampleInIndex { .. }
            | Mp4Error::NalOutOfBounds { .. } => {
                "This video's index is damaged, so it cannot be streamed as it is. It may be incomplete or corrupt."
                    .into()
            }
            Mp4Error::IndexTooLarge(_) => "This video has more frames or tracks than can be streamed directly.".into(),
            Mp4Error::UnsupportedLayout(_) => {
                "This video is arranged in a way that cannot be streamed directly.".into()
            }
            Mp4Error::PackageMalformed(_) => "Something went wrong on the server while preparing this video.".into(),
        }
    }

    pub(crate) fn malformed(detail: impl Into<String>) -> Self {
        Mp4Error::IndexMalformed(detail.into())
    }

    pub(crate) fn unsupported(detail: impl Into<String>) -> Self {
        Mp4Error::UnsupportedLayout(detail.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_messages_carry_no_details() {
        let e = Mp4Error::SampleOutOfBounds { track: 1, sample: 7, offset: 123_456, len: 10, file_len: 100 };
        assert_eq!(e.code(), "sample_out_of_bounds");
        assert!(!e.user_message().contains("123456"));
        assert_eq!(Mp4Error::SampleInIndex { track: 1, sample: 0 }.code(), "sample_in_index");
        assert_eq!(Mp4Error::malformed("x").code(), "index_malformed");
        assert_eq!(Mp4Error::unsupported("x").code(), "unsupported_layout");
        assert_eq!(Mp4Error::IndexTooLarge("x".into()).code(), "index_too_large");
    }
}
