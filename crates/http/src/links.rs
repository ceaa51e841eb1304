//! The links of a video, relative to the site root: the one place their shapes are written.

use flick_domain::ShareId;

/// Where a video's pages, status and media live: all named by its share id.
pub struct Links {
    pub share: String,
    pub status: String,
    pub stream: String,
    pub thumbnail: String,
}

impl Links {
    pub fn of(id: ShareId) -> Self {
        Links {
            share: format!("/v/{id}"),
            status: format!("/api/video/{id}"),
            stream: format!("/streams/{id}/master.m3u8"),
            thumbnail: format!("/thumbnails/{id}.jpg"),
        }
    }
}
