//! MP4/MOV index parsing and fMP4 (CMAF-style) packaging, for watching a video while its upload
//! is still running.
//!
//! Why just in time: remuxing a 1 GB upload takes a pass over all of it; reading its index takes
//! kilobytes. [`BoxScanner`] finds the `moov` from box headers alone as the bytes arrive,
//! [`parse_movie`] reads it into per-track sample tables, and [`package`] cuts those into HLS
//! segments the way nginx-vod-module does: a segment is a small header we generate (`moof` +
//! `mdat` box header) followed by byte ranges copied verbatim from the original, so it can be served
//! as soon as those ranges are uploaded. Each track keeps its own timescale; the first edit of each
//! is applied to its decode times, plus one offset common to all tracks when that keeps them from
//! going negative, so audio and video stay in sync exactly as in the original. One init segment
//! (`ftyp` + `moov` with `mvex`) carries the original `stsd` byte for byte (only a QuickTime-style
//! audio entry is rewritten to the ISO form browsers parse, its `esds` kept verbatim). The whole
//! [`Package`] is stored as a small blob beside the video.
//!
//! The index is hostile input: every size, count and offset is checked before it is trusted
//! (against [`Limits`], the other tables, the file's length, the index's own bytes, and the other
//! samples), nothing is allocated from an unchecked count, and nothing panics on any bytes. The
//! output is deterministic: the same inputs give byte-identical segments, on any machine, after
//! any restart.
//!
//! What is served is stripped of H.264 SEI NAL units (camera dates and places, encoder settings): once a segment's
//! bytes have arrived, [`SeiScan`] reads them once and gives its header rewritten and the bytes to leave out
//! ([`StrippedSegment`]), still deterministic.
//!
//! No I/O, no async: the caller reads the bytes the scanner asks for and serves the ranges.

mod aac;
mod avc;
mod bits;
mod boxes;
mod codec;
mod error;
mod format;
mod init;
mod layout;
mod movie;
mod package;
mod scan;
mod segment;
mod sei;
mod tables;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;
mod write;

pub use codec::Codec;
pub use error::Mp4Error;
pub use movie::{Limits, Movie, Track, TrackKind, parse_movie};
pub use package::{Package, PackagedSegment, package};
pub use scan::{BoxPos, BoxScanner, ScanState};
pub use segment::SegmentTargets;
pub use sei::{SeiScan, SeiTracks, StrippedSegment, strip_sei};
