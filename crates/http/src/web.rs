//! The web app (a Svelte build in `web/dist`): compiled into the binary, or read from `web.dist` when set.
//! Without a build the server still works, and its pages say how to build the UI.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use rust_embed::Embed;

#[derive(Embed)]
#[folder = "../../web/dist/"]
#[allow_missing = true]
struct Embedded;

/// Where the web app's files come from.
#[derive(Clone, Debug)]
pub enum WebUi {
    /// Compiled into the binary (possibly empty when the UI was not built).
    Embedded,
    /// A folder on disk (`web.dist`).
    Dir(PathBuf),
}

/// The marker in `index.html` that the server replaces with the page's title and link-preview tags.
pub const HEAD_MARKER: &str = "<!--flick:head-->";

impl WebUi {
    pub fn from_config(dist: Option<&Path>) -> Self {
        match dist {
            Some(p) => WebUi::Dir(p.to_owned()),
            None => WebUi::Embedded,
        }
    }

    /// A file of the build by its path relative to `dist` (validated: no way out of the folder).
    pub fn file(&self, path: &str) -> Option<Cow<'static, [u8]>> {
        let safe = !path.is_empty()
            && path.split('/').all(|p| {
                !p.is_empty()
                    && p != "."
                    && p != ".."
                    && p.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            });
        if !safe {
            return None;
        }
        match self {
            WebUi::Embedded => Embedded::get(path).map(|f| f.data),
            WebUi::Dir(dir) => std::fs::read(dir.join(path)).ok().map(Cow::Owned),
        }
    }

    /// `index.html` with `head` put in place of the marker, or `None` when the UI is not built.
    pub fn index_with_head(&self, head: &str) -> Option<String> {
        let bytes = self.file("index.html")?;
        let html = String::from_utf8_lossy(&bytes);
        Some(html.replacen(HEAD_MARKER, head, 1))
    }
}

/// The content type of a built file, from its extension.
pub fn content_type(path: &str) -> String {
    mime_guess::from_path(path).first_or_octet_stream().essence_str().to_owned()
}
