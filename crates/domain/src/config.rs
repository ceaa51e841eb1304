//! Flick's configuration: every key, with defaults that are sane for one machine.
//!
//! Loading (YAML file + `FLICK_<SECTION>__<KEY>` environment overrides) happens in the binary;
//! this module only describes the shape and the defaults. `config.yaml` at the repository root
//! documents every key and must stay equal to [`Config::default`] (a test checks it).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub upload: UploadConfig,
    pub processing: ProcessingConfig,
    pub admin: AdminConfig,
    pub share: ShareConfig,
    pub web: WebConfig,
    pub log: LogConfig,
}

/// Where Flick listens and how it names itself in links.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
    /// Base of share links, e.g. `https://flick.example.com`. Unset: `http://{host}:{port}`.
    #[serde(deserialize_with = "lenient_string")]
    pub public_url: Option<String>,
    /// Seconds to wait for in-flight requests on shutdown.
    pub shutdown_grace_seconds: u64,
    /// Seconds a client gets to send a request's headers (slowloris); the connection is closed after.
    pub header_read_timeout_seconds: u64,
    /// Seconds a connection may go without a byte moving either way before it is closed.
    pub idle_timeout_seconds: u64,
    /// Port on `host` where `flick worker` answers `/healthz`, `/readyz` and `/metrics` (0: any free port, printed).
    pub worker_port: u16,
    /// Reverse proxies (CIDRs) whose `X-Forwarded-For` / `Forwarded` say who the client is; none by default, so the
    /// TCP peer is the client. A YAML list, or one comma-separated string (as an environment variable gives it).
    #[serde(deserialize_with = "string_list")]
    pub trusted_proxies: Vec<String>,
    /// IPv6 clients are counted per network of this prefix length by the per-address limits (64: one household).
    pub ipv6_prefix: u8,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: "127.0.0.1".into(),
            port: 8080,
            public_url: None,
            shutdown_grace_seconds: 10,
            header_read_timeout_seconds: 30,
            idle_timeout_seconds: 120,
            worker_port: 8081,
            trusted_proxies: Vec::new(),
            ipv6_prefix: 64,
        }
    }
}

impl ServerConfig {
    /// The base URL of share links, without a trailing slash.
    pub fn base_url(&self) -> String {
        match &self.public_url {
            Some(u) if !u.trim().is_empty() => u.trim().trim_end_matches('/').to_owned(),
            _ => {
                let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
                format!("http://{host}:{}", self.port)
            }
        }
    }
}

/// Where records and blobs live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Holds the database (flick.db), raw/, hls/, thumbs/, and tmp/ and work/ scratch space.
    pub data_dir: PathBuf,
    /// Metadata database URL: `sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB` (several processes sharing
    /// one database). Unset: `sqlite://{data_dir}/flick.db`.
    pub database_url: Option<String>,
    /// New uploads are refused (507) while the data folder's filesystem has less free space than this.
    pub min_free_bytes: u64,
    /// Where blobs (raw uploads, HLS files, thumbnails) live: a local folder, or `s3://BUCKET/PREFIX` on an
    /// S3-compatible object store configured by `s3`. Unset: the data folder.
    #[serde(deserialize_with = "lenient_string")]
    pub blob_url: Option<String>,
    /// The S3-compatible object store of an `s3://` blob URL.
    pub s3: S3Config,
    /// Uploaded bytes the installation keeps at most, videos and unfinished uploads together, counted in the database
    /// (an S3 bucket too); new uploads past it are refused (507). 0: no limit but `min_free_bytes`.
    pub max_total_bytes: u64,
    /// Videos nobody started watching for this many days (counted from their upload when never watched) are deleted.
    /// 0: kept until their owner deletes them or their own expiry.
    pub retention_days: u32,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("./data"),
            database_url: None,
            min_free_bytes: 1_073_741_824,
            blob_url: None,
            s3: S3Config::default(),
            max_total_bytes: 0,
            retention_days: 0,
        }
    }
}

/// How to reach an S3-compatible object store. Unset keys fall back to the standard `AWS_*` environment variables
/// (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`).
#[derive(Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    /// The service's URL, e.g. `http://127.0.0.1:3900` (Garage, MinIO); unset: AWS.
    #[serde(deserialize_with = "lenient_string")]
    pub endpoint: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub region: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub access_key_id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub secret_access_key: Option<String>,
    /// Virtual-hosted-style requests (`BUCKET.host/key`, AWS's preference) instead of path-style (`host/BUCKET/key`,
    /// what Garage and MinIO expect by default).
    pub virtual_hosted_style: bool,
}

impl std::fmt::Debug for S3Config {
    // The secret must not reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "***"))
            .field("virtual_hosted_style", &self.virtual_hosted_style)
            .finish()
    }
}

/// What uploads Flick accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UploadConfig {
    /// Largest accepted upload, in bytes, counted on the bytes actually received.
    pub max_bytes: u64,
    /// File name extensions accepted (lowercase, without the dot).
    pub allowed_extensions: Vec<String>,
    /// Largest MP4 index (`moov`, with whatever follows it) a client may send before the media (`Flick-Index-Offset`)
    /// and Flick reads to serve a video from its original; an upload whose index is larger is re-encoded instead.
    pub max_index_bytes: u64,
    /// Seconds an unfinished resumable (tus) upload is kept after its last bytes arrived; then it is deleted.
    pub incomplete_ttl_seconds: u64,
    /// Upload requests one client address may have running at once (more get 429).
    pub max_concurrent_per_ip: u32,
    /// Upload requests this process takes at once, from everyone (more get 429): many addresses together cannot hold
    /// every connection and disk write of the node.
    pub max_concurrent: u32,
    /// Upload requests one client address may start per hour (more get 429; 0: no limit).
    pub max_per_ip_per_hour: u32,
    /// Bytes one client address may upload in 24 hours (more get 429; 0: no limit), counted on declared sizes.
    pub max_bytes_per_ip_per_day: u64,
    /// Bytes of one client address's unfinished resumable uploads, together (more get 429; 0: no limit).
    pub max_unfinished_bytes_per_ip: u64,
    /// An upload body slower than this many bytes per second, measured over `min_rate_window_seconds`, is cut (408).
    pub min_bytes_per_second: u64,
    pub min_rate_window_seconds: u64,
}

impl Default for UploadConfig {
    fn default() -> Self {
        UploadConfig {
            max_bytes: 1_073_741_824,
            allowed_extensions: ["mp4", "mov", "mkv", "webm"].map(String::from).to_vec(),
            max_index_bytes: 64 * 1024 * 1024,
            incomplete_ttl_seconds: 86_400,
            max_concurrent_per_ip: 4,
            max_concurrent: 64,
            max_per_ip_per_hour: 120,
            max_bytes_per_ip_per_day: 20 * 1_073_741_824,
            max_unfinished_bytes_per_ip: 4 * 1_073_741_824,
            min_bytes_per_second: 1024,
            min_rate_window_seconds: 30,
        }
    }
}

/// How videos are processed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProcessingConfig {
    /// Jobs of complete uploads run at once in this process (0: this process runs no worker at all).
    pub workers: u32,
    /// Jobs of uploads still arriving run at once in this process, besides `workers`: their work waits on the
    /// uploader (a re-encode keeps pace with the upload), so they never hold back videos whose upload is complete.
    pub live_workers: u32,
    /// Target length of HLS segments after the first one.
    pub segment_seconds: u32,
    /// Target length of the first segment, short so playback starts at once.
    pub first_segment_seconds: f64,
    pub ffmpeg_path: PathBuf,
    pub ffprobe_path: PathBuf,
    /// Attempts before a job that keeps failing for transient reasons is given up.
    pub max_attempts: u32,
    /// Niceness of ffmpeg children (0..=19).
    pub nice: i32,
    /// Short side of a re-encode's output (1080 = 1080p, portrait too); larger input is scaled down. Remuxes keep their size.
    pub max_output_height: u32,
    /// Longest video accepted, in seconds, when it can be remuxed (cheap whatever its length).
    pub max_duration_seconds: u32,
    /// Longest video accepted when it must be re-encoded (costly: CPU time grows with the length).
    pub max_reencode_duration_seconds: u32,
    /// Lower renditions added once a video is ready, for viewers on slow links: each one whose height is below the
    /// video's (and whose bitrate is well below its own) is encoded, at the lowest priority, and listed in the
    /// master playlist when complete.
    pub ladder: Vec<Rung>,
    /// Ladder encodes run at once in this process (0: no ladder is made here). They never take a worker of `workers`
    /// or `live_workers`, and run at niceness 19, so they never delay anyone's first playable.
    pub ladder_workers: u32,
    /// Keep the uploaded file of a video that is re-encoded once its HLS (and ladder) is made, so that it can be
    /// downloaded as uploaded (`share.allow_download`). Videos served from their original keep it anyway.
    pub keep_originals: bool,
}

/// One rendition of the adaptive ladder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rung {
    /// Short side of the picture (360: "360p"; portrait video too).
    pub height: u32,
    /// Peak video bitrate (VBV cap), kbit/s.
    pub video_kbps: u32,
}

impl Default for ProcessingConfig {
    fn default() -> Self {
        ProcessingConfig {
            workers: 2,
            live_workers: 4,
            segment_seconds: 4,
            first_segment_seconds: 1.0,
            ffmpeg_path: PathBuf::from("ffmpeg"),
            ffprobe_path: PathBuf::from("ffprobe"),
            max_attempts: 3,
            nice: 10,
            max_output_height: 1080,
            max_duration_seconds: 3 * 3600,
            max_reencode_duration_seconds: 2 * 3600,
            ladder: vec![Rung { height: 720, video_kbps: 3000 }, Rung { height: 360, video_kbps: 800 }],
            ladder_workers: 1,
            keep_originals: false,
        }
    }
}

/// The administrator's access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Bearer token for `GET /api/videos`. Unset: no admin, and the listing does not exist.
    #[serde(deserialize_with = "lenient_string")]
    pub token: Option<String>,
}

/// How share pages present themselves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShareConfig {
    /// Render Open Graph tags (title, thumbnail) so chat apps show a preview of a pasted link.
    pub link_previews: bool,
    /// Viewers may download the original file as uploaded (`GET /v/{id}/download`, a Download button), where it is
    /// kept (`processing.keep_originals` for re-encoded videos) and the video has no view limit.
    pub allow_download: bool,
}

impl Default for ShareConfig {
    fn default() -> Self {
        ShareConfig { link_previews: true, allow_download: false }
    }
}

/// The web app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// Serve the web app from this built folder (`web/dist`) instead of the copy compiled into the binary.
    pub dist: Option<PathBuf>,
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter, e.g. `info` or `flick=debug,info`. `RUST_LOG` wins when set.
    pub filter: String,
    /// `text` or `json`.
    pub format: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { filter: "info".into(), format: "text".into() }
    }
}

/// Reads an optional string that an environment variable may have made look like a number or a boolean
/// (a token of digits must stay the token it was).
/// `10.0.0.0/8`, `2001:db8::/32`, or a single address (all of its bits): the network and its prefix length.
pub fn parse_cidr(text: &str) -> Option<(std::net::IpAddr, u8)> {
    let text = text.trim();
    let (addr, len) = match text.split_once('/') {
        Some((addr, len)) => (addr, Some(len)),
        None => (text, None),
    };
    let addr: std::net::IpAddr = addr.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        Some(len) => len.parse::<u8>().ok().filter(|l| *l <= max)?,
        None => max,
    };
    Some((addr, len))
}

/// A list of strings, or one string of comma-separated items.
fn string_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<String>),
        One(String),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::Many(items)) => items,
        Some(OneOrMany::One(text)) => {
            text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
        }
    })
}

fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Lenient {
        Text(String),
        Unsigned(u64),
        Signed(i64),
        Float(f64),
        Bool(bool),
    }
    Ok(Option::<Lenient>::deserialize(d)?.map(|v| match v {
        Lenient::Text(s) => s,
        Lenient::Unsigned(n) => n.to_string(),
        Lenient::Signed(n) => n.to_string(),
        Lenient::Float(n) => n.to_string(),
        Lenient::Bool(b) => b.to_string(),
    }))
}

impl Config {
    /// Checks values a type cannot: returns every problem found, in words.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        for cidr in &self.server.trusted_proxies {
            if parse_cidr(cidr).is_none() {
                problems.push(format!("server.trusted_proxies: {cidr:?} is not an address or CIDR (10.0.0.0/8, ::1)"));
            }
        }
        if !(16..=128).contains(&self.server.ipv6_prefix) {
            problems.push("server.ipv6_prefix must be between 16 and 128".to_owned());
        }
        if self.upload.max_bytes == 0 {
            problems.push("upload.max_bytes must be greater than 0".to_owned());
        }
        if self.upload.max_index_bytes < 4096 {
            problems.push("upload.max_index_bytes must be at least 4096".to_owned());
        }
        if self.upload.incomplete_ttl_seconds == 0 {
            problems.push("upload.incomplete_ttl_seconds must be at least 1".to_owned());
        }
        if self.upload.max_concurrent_per_ip == 0 {
            problems.push("upload.max_concurrent_per_ip must be at least 1".to_owned());
        }
        if self.upload.max_concurrent == 0 {
            problems.push("upload.max_concurrent must be at least 1".to_owned());
        }
        if self.upload.min_rate_window_seconds == 0 {
            problems.push("upload.min_rate_window_seconds must be at least 1".to_owned());
        }
        if self.server.header_read_timeout_seconds == 0 || self.server.idle_timeout_seconds == 0 {
            problems.push(
                "server.header_read_timeout_seconds and server.idle_timeout_seconds must be at least 1".to_owned(),
            );
        }
        if self.upload.allowed_extensions.is_empty() {
            problems.push("upload.allowed_extensions must not be empty".to_owned());
        }
        if self.processing.segment_seconds == 0 || self.processing.segment_seconds > 30 {
            problems.push("processing.segment_seconds must be between 1 and 30".to_owned());
        }
        if !(0.1..=30.0).contains(&self.processing.first_segment_seconds) {
            problems.push("processing.first_segment_seconds must be between 0.1 and 30".to_owned());
        }
        if self.processing.max_attempts == 0 {
            problems.push("processing.max_attempts must be at least 1".to_owned());
        }
        if !(0..=19).contains(&self.processing.nice) {
            problems.push("processing.nice must be between 0 and 19".to_owned());
        }
        if self.processing.max_duration_seconds == 0 || self.processing.max_reencode_duration_seconds == 0 {
            problems.push(
                "processing.max_duration_seconds and processing.max_reencode_duration_seconds must be at least 1"
                    .to_owned(),
            );
        }
        if self.processing.max_output_height < 144 {
            problems.push("processing.max_output_height must be at least 144".to_owned());
        }
        if let Some(t) = &self.admin.token
            && t.len() < 16
        {
            problems.push("admin.token must be at least 16 characters (or unset)".to_owned());
        }
        if let Some(u) = &self.server.public_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            problems.push("server.public_url must start with http:// or https://".to_owned());
        }
        if let Some(u) = &self.storage.blob_url
            && u.contains("://")
            && !u.starts_with("s3://")
        {
            problems.push("storage.blob_url must be a local folder or s3://BUCKET/PREFIX".to_owned());
        }
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }

    /// The metadata database URL, derived from the data dir when not set.
    pub fn database_url(&self) -> String {
        match &self.storage.database_url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}/flick.db", self.storage.data_dir.display()),
        }
    }
}
