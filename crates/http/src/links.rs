//! The links of a video, relative to the site root: the one place their shapes are written.

use flick_domain::ShareId;

/// Where a video's pages, status and media live: all named by its share id.
pub struct Links {
    pub share: String,
    pub status: String,
    pub stream: String,
    pub thumbnail: String,
    /// The player alone, for an `<iframe>` on another site.
    pub embed: String,
    /// The seek bar's previews (WebVTT thumbnail track).
    pub storyboard: String,
}

impl Links {
    pub fn of(id: ShareId) -> Self {
        Links {
            share: format!("/v/{id}"),
            status: format!("/api/video/{id}"),
            stream: format!("/streams/{id}/master.m3u8"),
            thumbnail: format!("/thumbnails/{id}.jpg"),
            embed: format!("/embed/{id}"),
            storyboard: format!("/streams/{id}/storyboard.vtt"),
        }
    }

    /// A caption track's WebVTT file (`lang` checked by [`flick_domain::Caption::new`]).
    pub fn caption(id: ShareId, lang: &str) -> String {
        format!("/streams/{id}/captions/{lang}.vtt")
    }
}
