//! Abuse limits on uploads, as one layer in front of every upload route (`/api/upload` and the tus
//! `/api/uploads/...`, matched by path prefix):
//!
//! - a disk watermark: new uploads are refused with 507 while the data disk has less free space than
//!   `storage.min_free_bytes`, and a running upload is cut (507, its partial file removed by the
//!   handler) when free space falls below half of it;
//! - per client address: at most `upload.max_concurrent_per_ip` upload requests at once and
//!   `upload.max_per_ip_per_hour` new uploads per hour, else 429 with `Retry-After`;
//! - for everyone together: at most `upload.max_concurrent` upload requests at once on this process (429);
//! - a minimum rate: a body arriving slower than `upload.min_bytes_per_second` over a window of
//!   `upload.min_rate_window_seconds` is cut with 408 (slowloris on the body; the server's header
//!   read and idle timeouts cover the rest).
//!
//! The client address is the one [`crate::client`] resolved (the TCP peer, or behind `server.trusted_proxies` the
//! address they forwarded for), IPv6 counted per /64. The per-address state is bounded: swept when it has doubled
//! since the last sweep (so an admit costs O(1) amortized), and at most [`MAX_CLIENTS`] addresses at once.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use flick_domain::config::Config;
use futures_util::StreamExt;

use crate::client::ClientIp;
use crate::error::{ApiError, ErrorCode};

/// Paths under this prefix are uploads (`/api/upload`, `/api/uploads`, `/api/uploads/{id}`).
pub const UPLOAD_PREFIX: &str = "/api/upload";
/// How long an address's hourly count is kept.
const HOUR: Duration = Duration::from_secs(3600);
/// The per-address state is not swept below this many addresses.
const SWEEP_FROM: usize = 10_000;
/// Most addresses with uploads running or counted this hour; past it, a new address waits (429).
pub const MAX_CLIENTS: usize = 200_000;
/// How often, at most, a running upload checks the free disk space.
const DISK_CHECK_EVERY: Duration = Duration::from_millis(500);

/// Why an upload body was cut by this layer.
const CUT_NONE: u8 = 0;
const CUT_SLOW: u8 = 1;
const CUT_DISK: u8 = 2;

/// The limits' settings and per-address state; cheap to clone.
#[derive(Clone)]
pub struct UploadLimits {
    inner: Arc<Inner>,
}

struct Inner {
    /// Where uploads are written: its filesystem's free space is watched.
    disk: PathBuf,
    min_free_bytes: u64,
    max_concurrent: u32,
    max_running: u32,
    max_per_hour: u32,
    min_bytes_per_second: u64,
    window: Duration,
    clients: Mutex<Clients>,
}

/// Per-address state, keyed by [`ClientIp::key`].
struct Clients {
    map: HashMap<IpAddr, Client>,
    /// The map is swept when it reaches this size.
    sweep_at: usize,
    /// Upload requests running now, from every address.
    running: u32,
}

#[derive(Default)]
struct Client {
    active: u32,
    /// When this address started its uploads of the last hour (oldest first).
    started: VecDeque<Instant>,
}

impl UploadLimits {
    /// Limits from the configuration; `disk` is any path on the filesystem uploads are written to.
    pub fn new(config: &Config, disk: PathBuf) -> Self {
        let u = &config.upload;
        UploadLimits {
            inner: Arc::new(Inner {
                disk,
                min_free_bytes: config.storage.min_free_bytes,
                max_concurrent: u.max_concurrent_per_ip.max(1),
                max_running: u.max_concurrent.max(1),
                max_per_hour: u.max_per_ip_per_hour,
                min_bytes_per_second: u.min_bytes_per_second,
                window: Duration::from_secs(u.min_rate_window_seconds.max(1)),
                clients: Mutex::new(Clients { map: HashMap::new(), sweep_at: SWEEP_FROM, running: 0 }),
            }),
        }
    }

    /// Admits one upload request from `ip` (counting it as a new upload when `new_upload`), or says
    /// when to come back. The returned permit frees the slot when dropped.
    fn admit(&self, ip: IpAddr, new_upload: bool, now: Instant) -> Result<Permit, ApiError> {
        let mut guard = self.inner.clients.lock().unwrap_or_else(|e| e.into_inner());
        let clients = &mut *guard;
        // Forget addresses with nothing running and nothing counted; next time only once the map has doubled.
        if clients.map.len() >= clients.sweep_at {
            clients.map.retain(|_, c| {
                c.started.retain(|t| now.duration_since(*t) < HOUR);
                c.active > 0 || !c.started.is_empty()
            });
            clients.sweep_at = (clients.map.len() * 2).max(SWEEP_FROM);
        }
        if clients.running >= self.inner.max_running {
            return Err(ApiError::TooManyRequests {
                retry_after: 10,
                reason: format!("the server is taking {} uploads already", clients.running),
            });
        }
        if clients.map.len() >= MAX_CLIENTS && !clients.map.contains_key(&ip) {
            return Err(ApiError::TooManyRequests {
                retry_after: 60,
                reason: "too many people are uploading right now".into(),
            });
        }
        let c = clients.map.entry(ip).or_default();
        while c.started.front().is_some_and(|t| now.duration_since(*t) >= HOUR) {
            c.started.pop_front();
        }
        if c.active >= self.inner.max_concurrent {
            return Err(ApiError::TooManyRequests {
                retry_after: 5,
                reason: format!("{} uploads from your address are already running", c.active),
            });
        }
        if new_upload && self.inner.max_per_hour > 0 && c.started.len() >= self.inner.max_per_hour as usize {
            let oldest = c.started.front().copied().unwrap_or(now);
            let wait = HOUR.saturating_sub(now.duration_since(oldest)).as_secs().max(1);
            return Err(ApiError::TooManyRequests {
                retry_after: wait,
                reason: format!("your address started {} uploads in the last hour", c.started.len()),
            });
        }
        c.active += 1;
        if new_upload {
            c.started.push_back(now);
        }
        clients.running += 1;
        Ok(Permit { limits: self.clone(), ip })
    }

    fn release(&self, ip: IpAddr) {
        let mut clients = self.inner.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients.running = clients.running.saturating_sub(1);
        if let Some(c) = clients.map.get_mut(&ip) {
            c.active = c.active.saturating_sub(1);
            if c.active == 0 && c.started.is_empty() {
                clients.map.remove(&ip);
            }
        }
    }
}

/// One running upload request of an address.
struct Permit {
    limits: UploadLimits,
    ip: IpAddr,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.limits.release(self.ip);
    }
}

/// Bytes free for unprivileged writers on the filesystem holding `path` (`None` if unknown).
pub fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    // The folder may not exist yet: ask about the nearest existing ancestor.
    let existing = path.ancestors().find(|p| p.exists())?;
    let c = std::ffi::CString::new(existing.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes into a zeroed struct we own; `c` is a valid NUL-terminated path.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    Some((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

fn is_upload(request: &Request) -> bool {
    let path = request.uri().path();
    path.starts_with(UPLOAD_PREFIX) && matches!(*request.method(), Method::POST | Method::PUT | Method::PATCH)
}

/// The middleware (`axum::middleware::from_fn_with_state`).
pub async fn limit_uploads(State(limits): State<UploadLimits>, request: Request, next: Next) -> Response {
    if !is_upload(&request) {
        return next.run(request).await;
    }
    let inner = &limits.inner;
    if inner.min_free_bytes > 0 && free_bytes(&inner.disk).is_some_and(|free| free < inner.min_free_bytes) {
        tracing::warn!(min_free_bytes = inner.min_free_bytes, "disk below the watermark: upload refused");
        return counted(ApiError::InsufficientStorage.into_response());
    }
    let ClientIp { ip, key } = ClientIp::of(request.extensions());
    // A PATCH continues a tus upload; POST and PUT start one.
    let new_upload = *request.method() != Method::PATCH;
    let permit = match limits.admit(key, new_upload, Instant::now()) {
        Ok(p) => p,
        Err(e) => {
            tracing::info!(%ip, error = %e, "upload refused by the per-address limits");
            return counted(e.into_response());
        }
    };

    let cut = Arc::new(AtomicU8::new(CUT_NONE));
    let (parts, body) = request.into_parts();
    let watched = watch_body(body, limits.clone(), cut.clone());
    let response = next.run(Request::from_parts(parts, Body::from_stream(watched))).await;
    drop(permit);
    let mut response = match cut.load(Ordering::SeqCst) {
        CUT_SLOW => ApiError::UploadTooSlow { min_bytes_per_second: inner.min_bytes_per_second }.into_response(),
        CUT_DISK => ApiError::InsufficientStorage.into_response(),
        _ => return counted(response),
    };
    // The rest of the body was not read: the connection cannot be reused.
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    counted(response)
}

/// Counts an upload request answered with an error, by its code: every upload route's answer passes here.
fn counted(response: Response) -> Response {
    if let Some(ErrorCode(code)) = response.extensions().get::<ErrorCode>() {
        flick_telemetry::metrics().upload_refused(code);
    }
    response
}

/// The body as a stream that ends with an error when it is too slow or the disk is filling up
/// (recording why in `cut`, for the middleware to answer accordingly).
fn watch_body(
    body: Body,
    limits: UploadLimits,
    cut: Arc<AtomicU8>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let state = Watched {
        data: body.into_data_stream(),
        limits,
        cut,
        window_start: tokio::time::Instant::now(),
        in_window: 0,
        last_disk_check: Instant::now(),
        done: false,
    };
    futures_util::stream::unfold(state, |mut s| async move {
        if s.done {
            return None;
        }
        let inner = s.limits.inner.clone();
        let need = inner.min_bytes_per_second.saturating_mul(inner.window.as_secs());
        loop {
            let deadline = s.window_start + inner.window;
            let next = if need == 0 {
                Ok(s.data.next().await)
            } else {
                tokio::time::timeout_at(deadline, s.data.next()).await
            };
            match next {
                Ok(Some(Ok(chunk))) => {
                    s.in_window += chunk.len() as u64;
                    flick_telemetry::metrics().upload_bytes(chunk.len() as u64);
                    if tokio::time::Instant::now() >= deadline {
                        if s.in_window < need {
                            return Some((Err(s.fail(CUT_SLOW)), s));
                        }
                        s.window_start = tokio::time::Instant::now();
                        s.in_window = 0;
                    }
                    if inner.min_free_bytes > 0 && s.last_disk_check.elapsed() >= DISK_CHECK_EVERY {
                        s.last_disk_check = Instant::now();
                        if free_bytes(&inner.disk).is_some_and(|free| free < inner.min_free_bytes / 2) {
                            tracing::warn!("disk nearly full: running upload stopped");
                            return Some((Err(s.fail(CUT_DISK)), s));
                        }
                    }
                    return Some((Ok(chunk), s));
                }
                Ok(Some(Err(e))) => {
                    s.done = true;
                    return Some((Err(std::io::Error::other(e)), s));
                }
                Ok(None) => return None,
                Err(_elapsed) => {
                    if s.in_window < need {
                        tracing::info!(bytes = s.in_window, window_s = inner.window.as_secs(), "upload too slow: cut");
                        return Some((Err(s.fail(CUT_SLOW)), s));
                    }
                    s.window_start = tokio::time::Instant::now();
                    s.in_window = 0;
                }
            }
        }
    })
}

struct Watched {
    data: axum::body::BodyDataStream,
    limits: UploadLimits,
    cut: Arc<AtomicU8>,
    window_start: tokio::time::Instant,
    in_window: u64,
    last_disk_check: Instant,
    done: bool,
}

impl Watched {
    /// Ends the stream with an error, recording why.
    fn fail(&mut self, why: u8) -> std::io::Error {
        self.done = true;
        self.cut.store(why, Ordering::SeqCst);
        let what = if why == CUT_SLOW { "the upload is too slow" } else { "the disk is nearly full" };
        std::io::Error::new(std::io::ErrorKind::TimedOut, what)
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use super::*;

    fn limits(max_per_hour: u32) -> UploadLimits {
        let mut config = Config::default();
        config.upload.max_per_ip_per_hour = max_per_hour;
        UploadLimits::new(&config, PathBuf::from("."))
    }

    #[test]
    fn a_million_addresses_hold_bounded_memory_and_the_ones_seen_keep_their_counts() {
        let l = limits(1);
        let now = Instant::now();
        let first = IpAddr::V6(Ipv6Addr::from(1u128 << 64));
        l.admit(first, true, now).map(drop).expect("first upload");
        let mut refused = 0;
        for n in 2..=1_000_000u128 {
            // One upload each from a million /64s (each counted for an hour: nothing can be swept).
            match l.admit(IpAddr::V6(Ipv6Addr::from(n << 64)), true, now) {
                Ok(permit) => drop(permit),
                Err(ApiError::TooManyRequests { .. }) => refused += 1,
                Err(e) => panic!("{e}"),
            }
        }
        let len = l.inner.clients.lock().unwrap().map.len();
        assert_eq!(len, MAX_CLIENTS, "the map stops growing at its bound");
        assert_eq!(refused, 1_000_000 - MAX_CLIENTS);
        // An address already counted is still held to its hourly limit.
        assert!(matches!(l.admit(first, true, now), Err(ApiError::TooManyRequests { .. })));
    }

    #[test]
    fn many_addresses_together_meet_the_global_cap() {
        let mut config = Config::default();
        config.upload.max_concurrent = 3;
        let l = UploadLimits::new(&config, PathBuf::from("."));
        let now = Instant::now();
        let running: Vec<_> = (1..=3u8).map(|n| l.admit(IpAddr::from([192, 0, 2, n]), true, now).unwrap()).collect();
        let refused = l.admit(IpAddr::from([192, 0, 2, 4]), true, now).map(drop);
        assert!(matches!(refused, Err(ApiError::TooManyRequests { retry_after: 10, .. })), "{refused:?}");
        drop(running);
        assert!(l.admit(IpAddr::from([192, 0, 2, 4]), true, now).is_ok(), "a finished upload frees its place");
    }

    #[test]
    fn addresses_whose_hour_has_passed_are_swept_once_the_map_is_full() {
        let l = limits(1);
        let t0 = Instant::now();
        for n in 0..SWEEP_FROM as u32 {
            drop(l.admit(IpAddr::from(n.to_be_bytes()), true, t0).unwrap());
        }
        assert_eq!(l.inner.clients.lock().unwrap().map.len(), SWEEP_FROM, "each counted for an hour");
        // An hour later, the next admit sweeps them all.
        let later = t0 + HOUR + Duration::from_secs(1);
        let running = l.admit(IpAddr::from([192, 0, 2, 1]), true, later).unwrap();
        assert_eq!(l.inner.clients.lock().unwrap().map.len(), 1);
        drop(running);
    }
}
