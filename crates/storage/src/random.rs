//! Random names for leases and temporary files.

use std::io;

/// `n` random bytes from the OS as lowercase hex.
pub(crate) fn random_hex(n: usize) -> io::Result<String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(format!("system random source failed: {e}")))?;
    Ok(hex::encode(bytes))
}
