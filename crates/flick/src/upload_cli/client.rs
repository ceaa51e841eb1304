//! A small tus 1.0.0 client: create an upload, ask its offset, send checksummed chunks.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::{Client, Method, Response, StatusCode};
use sha1::{Digest, Sha1};

const TUS: &str = "1.0.0";

/// Why a request failed, and whether trying again may help.
#[derive(Debug, thiserror::Error)]
pub enum TusError {
    #[error("cannot reach the server: {0}")]
    Network(#[from] reqwest::Error),
    #[error("the server answered {status}: {message}")]
    Server { status: StatusCode, message: String },
    #[error("the server's answer lacks the {0} header")]
    Missing(&'static str),
}

impl TusError {
    /// Network trouble, a busy upload (423), a discarded chunk (460) or a server error: worth a retry.
    pub fn is_transient(&self) -> bool {
        match self {
            TusError::Network(_) => true,
            TusError::Server { status, .. } => {
                status.is_server_error() || matches!(status.as_u16(), 408 | 423 | 429 | 460)
            }
            TusError::Missing(_) => false,
        }
    }

    /// The upload is gone (expired, terminated) or never existed here.
    pub fn is_gone(&self) -> bool {
        matches!(self, TusError::Server { status, .. } if matches!(status.as_u16(), 404 | 410))
    }
}

/// A created upload.
pub struct Created {
    pub url: String,
    pub manage_token: String,
    /// The share link's path (`/v/{id}`): it works from now on.
    pub share_path: Option<String>,
}

/// The server's view of an upload.
pub struct Head {
    pub offset: u64,
    pub length: u64,
    /// Where the first-sent index starts, for an index-first upload.
    pub index_offset: Option<u64>,
    /// The share link's path (`/v/{share id}`).
    pub share_path: Option<String>,
}

/// What a stored chunk changed.
pub struct Stored {
    pub offset: u64,
}

/// tus requests against one server.
pub struct TusClient {
    http: Client,
    base: String,
}

impl TusClient {
    /// A client for the server at `base` (no trailing slash).
    pub fn new(base: &str) -> Result<TusClient, TusError> {
        let http = Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // A chunk of a few MiB on a slow link: generous, but a dead connection is noticed.
            .timeout(Duration::from_secs(300))
            .build()?;
        Ok(TusClient { http, base: base.trim_end_matches('/').to_owned() })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn request(&self, method: Method, url: &str) -> reqwest::RequestBuilder {
        self.http.request(method, url).header("Tus-Resumable", TUS)
    }

    /// `GET /api/config`: the server's limits (`maxIndexBytes` among them).
    pub async fn config(&self) -> Result<serde_json::Value, TusError> {
        let response = self.http.get(format!("{}/api/config", self.base)).send().await?;
        Ok(check(response, StatusCode::OK).await?.json().await?)
    }

    /// `POST /api/uploads` with the file's name (and type, from its extension) as metadata; `index_offset` says the
    /// file's bytes from there to the end will be sent first (Flick's index-first extension).
    pub async fn create(&self, length: u64, file_name: &str, index_offset: Option<u64>) -> Result<Created, TusError> {
        let mut metadata = format!("filename {}", BASE64.encode(file_name));
        if let Some(mime) = mime_of(file_name) {
            metadata.push_str(&format!(",filetype {}", BASE64.encode(mime)));
        }
        let mut request = self
            .request(Method::POST, &format!("{}/api/uploads", self.base))
            .header("Upload-Length", length.to_string())
            .header("Upload-Metadata", metadata);
        if let Some(m) = index_offset {
            request = request.header("Flick-Index-Offset", m.to_string());
        }
        let response = request.send().await?;
        let response = check(response, StatusCode::CREATED).await?;
        let location = header(&response, "location").ok_or(TusError::Missing("Location"))?;
        let url = match reqwest::Url::parse(&self.base).and_then(|b| b.join(&location)) {
            Ok(u) => u.to_string(),
            Err(_) => location,
        };
        let manage_token = header(&response, "flick-manage-token").ok_or(TusError::Missing("Flick-Manage-Token"))?;
        Ok(Created { url, manage_token, share_path: header(&response, "flick-share-url") })
    }

    /// `HEAD`: the server's offset and length.
    pub async fn head(&self, url: &str) -> Result<Head, TusError> {
        let response = check(self.request(Method::HEAD, url).send().await?, StatusCode::OK).await?;
        let number = |name: &'static str| {
            header(&response, name).and_then(|v| v.parse::<u64>().ok()).ok_or(TusError::Missing(name))
        };
        let index_offset = header(&response, "flick-index-offset").and_then(|v| v.parse().ok());
        Ok(Head {
            offset: number("upload-offset")?,
            length: number("upload-length")?,
            index_offset,
            share_path: header(&response, "flick-share-url"),
        })
    }

    /// `PATCH` one chunk at `offset`, with its sha1. A 409 (the server has more than we thought, e.g. a
    /// response was lost) is answered with the server's real offset rather than an error.
    pub async fn patch(&self, url: &str, offset: u64, chunk: Vec<u8>) -> Result<Stored, TusError> {
        let digest = BASE64.encode(Sha1::digest(&chunk));
        let response = self
            .request(Method::PATCH, url)
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", offset.to_string())
            .header("Upload-Checksum", format!("sha1 {digest}"))
            .body(chunk)
            .send()
            .await?;
        if response.status() == StatusCode::CONFLICT {
            let head = self.head(url).await?;
            return Ok(Stored { offset: head.offset });
        }
        let response = check(response, StatusCode::NO_CONTENT).await?;
        let offset = header(&response, "upload-offset")
            .and_then(|v| v.parse().ok())
            .ok_or(TusError::Missing("Upload-Offset"))?;
        Ok(Stored { offset })
    }

    /// `GET /api/video/{id}` as JSON.
    pub async fn video(&self, id: &str) -> Result<serde_json::Value, TusError> {
        let response = self.http.get(format!("{}/api/video/{id}", self.base)).send().await?;
        let response = check(response, StatusCode::OK).await?;
        Ok(response.json().await?)
    }
}

/// The response if it has the expected status, else the server's error message.
async fn check(response: Response, expected: StatusCode) -> Result<Response, TusError> {
    if response.status() == expected {
        return Ok(response);
    }
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let message = body["error"]["message"].as_str().unwrap_or("no details").to_owned();
    Err(TusError::Server { status, message })
}

fn header(response: &Response, name: &str) -> Option<String> {
    response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// The MIME type Flick's server expects for a video file name's extension.
fn mime_of(file_name: &str) -> Option<&'static str> {
    let ext = file_name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "mkv" => "video/x-matroska",
        "webm" => "video/webm",
        _ => return None,
    })
}
