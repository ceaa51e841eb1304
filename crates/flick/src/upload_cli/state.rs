//! Where `flick upload` remembers unfinished uploads, so a re-run resumes them:
//! `$XDG_STATE_HOME/flick/uploads.json` (default `~/.local/state/flick/uploads.json`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

/// An upload the server created for a file, not known to be finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    /// Absolute URL of the tus upload.
    pub upload_url: String,
    pub manage_token: String,
    /// Sent index first: the file's bytes from here to the end went first (`Flick-Index-Offset`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_offset: Option<u64>,
}

/// The state file's content: pending uploads keyed by server, file path, size and modification time.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ResumeState {
    #[serde(default)]
    uploads: BTreeMap<String, Pending>,
}

/// The state file's path.
pub fn state_file() -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("flick").join("uploads.json")
}

/// What identifies "the same file" across runs: a changed file (size or mtime) starts afresh.
pub fn key_of(server: &str, path: &Path, meta: &std::fs::Metadata) -> String {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mtime = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    format!("{server}|{}|{}|{mtime}", path.display(), meta.len())
}

impl ResumeState {
    /// Reads the state file; a missing or unreadable one is an empty state (resuming is a convenience).
    pub fn load(file: &Path) -> ResumeState {
        std::fs::read(file).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default()
    }

    pub fn get(&self, key: &str) -> Option<&Pending> {
        self.uploads.get(key)
    }

    pub fn set(&mut self, key: String, pending: Pending) {
        self.uploads.insert(key, pending);
    }

    pub fn remove(&mut self, key: &str) {
        self.uploads.remove(key);
    }

    /// Writes the state file atomically (temporary file, then rename), so a kill never leaves it half-written. It
    /// holds manage tokens: only its owner may read it (0600, in a 0700 folder).
    pub fn save(&self, file: &Path) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        if let Some(dir) = file.parent() {
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        }
        let temp = file.with_extension(format!("json.tmp-{}", std::process::id()));
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        let mut out = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&temp)?;
        out.write_all(&bytes)?;
        out.sync_all()?;
        drop(out);
        std::fs::rename(&temp, file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_keys_follow_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a/uploads.json");
        assert!(ResumeState::load(&file).get("k").is_none());
        let mut s = ResumeState::default();
        let p =
            Pending { upload_url: "http://x/api/uploads/1".into(), manage_token: "t".into(), index_offset: Some(9) };
        s.set("k".into(), p.clone());
        s.save(&file).unwrap();
        assert_eq!(ResumeState::load(&file).get("k"), Some(&p));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600, "tokens stay private");
        let f = dir.path().join("clip.mp4");
        std::fs::write(&f, b"one").unwrap();
        let k1 = key_of("http://s", &f, &std::fs::metadata(&f).unwrap());
        std::fs::write(&f, b"three").unwrap();
        let k2 = key_of("http://s", &f, &std::fs::metadata(&f).unwrap());
        assert_ne!(k1, k2);
    }
}
