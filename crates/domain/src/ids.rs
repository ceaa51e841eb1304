//! Identifiers and secrets: video ids (128-bit random) and manage tokens (256-bit random, stored hashed).

use std::fmt;

use sha2::{Digest, Sha256};

/// Why an id or token could not be parsed or made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    #[error("malformed id")]
    Malformed,
    #[error("the system random number generator failed")]
    Random,
}

/// A video's public id: 128 random bits, written as 32 lowercase hex digits.
///
/// Parsing is strict (exactly 32 `[0-9a-f]`), so an id is always safe to put into a path or a key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VideoId(uuid::Uuid);

impl VideoId {
    /// A fresh random id (UUID v4 from the OS random source).
    pub fn new() -> Self {
        VideoId(uuid::Uuid::new_v4())
    }

    /// Parses the 32-hex-digit form; anything else (other lengths, uppercase, dashes, dots, slashes) is refused.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(IdError::Malformed);
        }
        uuid::Uuid::try_parse(s).map(VideoId).map_err(|_| IdError::Malformed)
    }
}

impl Default for VideoId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for VideoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.simple())
    }
}

impl fmt::Debug for VideoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VideoId({})", self.0.simple())
    }
}

impl std::str::FromStr for VideoId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A video's share id: the key of its public links (`/v/{share}`, `/api/video/{share}`, `/streams/{share}/…`,
/// `/thumbnails/{share}.jpg`). 128 random bits, 32 lowercase hex digits, like [`VideoId`].
///
/// It is not the video's storage id: the link never names the upload URL or the blobs, and revoking a link only
/// gives the video a new share id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShareId(uuid::Uuid);

impl ShareId {
    /// A fresh random share id.
    pub fn new() -> Self {
        ShareId(uuid::Uuid::new_v4())
    }

    /// Parses the 32-hex-digit form, as strictly as [`VideoId::parse`].
    pub fn parse(s: &str) -> Result<Self, IdError> {
        VideoId::parse(s).map(|id| ShareId(id.0))
    }

    /// The share id a video had before share ids existed: its own id, so that links given out then still work.
    pub fn legacy(id: VideoId) -> Self {
        ShareId(id.0)
    }
}

impl Default for ShareId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ShareId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.simple())
    }
}

impl fmt::Debug for ShareId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShareId({})", self.0.simple())
    }
}

/// The secret that lets whoever uploaded a video delete it. Only its SHA-256 hash is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ManageToken(String);

impl ManageToken {
    /// A fresh token: 32 random bytes as 64 hex digits.
    pub fn generate() -> Result<Self, IdError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|_| IdError::Random)?;
        Ok(ManageToken(hex::encode(bytes)))
    }

    /// Wraps a token a client presented (not validated: it is only ever hashed and compared).
    pub fn from_presented(s: &str) -> Self {
        ManageToken(s.to_owned())
    }

    /// The token as the client must present it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hex SHA-256 of the token, which is what the repo stores.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// Whether this token hashes to `stored_hash`, compared in constant time.
    pub fn matches(&self, stored_hash: &str) -> bool {
        constant_time_eq(self.hash().as_bytes(), stored_hash.as_bytes())
    }
}

impl fmt::Debug for ManageToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ManageToken(..)")
    }
}

/// Compares two byte strings without an early exit, so timing tells nothing about where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_id_round_trips_and_parsing_is_strict() {
        let id = VideoId::new();
        let s = id.to_string();
        assert_eq!(s.len(), 32);
        assert_eq!(VideoId::parse(&s), Ok(id));
        for bad in [
            "",
            "../../etc/passwd",
            &s.to_uppercase(),
            &s[..31],
            &format!("{s}0"),
            "0123456789abcdef0123456789abcdeg",
            "01234567-89ab-cdef-0123-456789abcdef",
            "%2e%2e%2f%2e%2e%2fetc%2fpasswd0000",
        ] {
            assert_eq!(VideoId::parse(bad), Err(IdError::Malformed), "{bad:?} must be refused");
        }
    }

    #[test]
    fn manage_token_matches_only_its_hash() {
        let t = ManageToken::generate().unwrap();
        let other = ManageToken::generate().unwrap();
        assert_eq!(t.expose().len(), 64);
        assert!(t.matches(&t.hash()));
        assert!(!other.matches(&t.hash()));
        assert!(!ManageToken::from_presented("").matches(&t.hash()));
    }
}
