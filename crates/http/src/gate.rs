//! Who may see a video: its owner (the manage token), and viewers whom its password and view limit let in.
//!
//! Proofs travel as cookies signed with a key every process shares (kept in the database), so that checking them
//! costs a MAC, not a password hash or a database write, on every playlist and segment request:
//! - `flick_u_{share}`: the password was given (valid 12 hours, and only while the password is the same);
//! - `flick_w_{share}`: this browser's view was counted (the view's number and start; valid [`LAST_VIEW_GRACE`]).
//!
//! Cookies are `HttpOnly; SameSite=Lax; Path=/` (and `Secure` behind HTTPS): hls.js and Safari send them with
//! every same-origin request of the player.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::http::{HeaderMap, HeaderValue, header};
use chrono::{DateTime, Utc};
use flick_domain::video::LAST_VIEW_GRACE;
use flick_domain::{ManageToken, Video};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::ApiError;

/// How long a given password lets a browser in.
const UNLOCK_FOR: chrono::TimeDelta = chrono::TimeDelta::hours(12);
/// Wrong passwords allowed per video per minute (from any address), and per address per minute (on any video).
const GUESSES_PER_VIDEO: u32 = 10;
const GUESSES_PER_ADDRESS: u32 = 20;

/// The shared signing key and the limits on password guesses of this process.
#[derive(Clone)]
pub struct Gate {
    key: Arc<[u8]>,
    /// Whether links are served over HTTPS (cookies are then `Secure`).
    secure: bool,
    per_video: Arc<DefaultKeyedRateLimiter<String>>,
    per_address: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl Gate {
    /// A gate signing with `key` (at least 32 bytes, shared by every process of the installation).
    pub fn new(key: &[u8], secure: bool) -> Self {
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        Gate {
            key: Arc::from(key),
            secure,
            per_video: Arc::new(RateLimiter::keyed(quota(GUESSES_PER_VIDEO))),
            per_address: Arc::new(RateLimiter::keyed(quota(GUESSES_PER_ADDRESS))),
        }
    }

    fn mac(&self, parts: &[&str]) -> String {
        // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else { return String::new() };
        for part in parts {
            mac.update(part.as_bytes());
            mac.update(b"\x1f");
        }
        hex::encode(mac.finalize().into_bytes())
    }

    /// The opaque tag that stands for a client address (its [`crate::client::ClientIp::key`]) in the database: the
    /// same for every process of the installation, and not the address (it cannot be reversed without the key).
    pub fn uploader_tag(&self, client_key: IpAddr) -> String {
        let mut tag = self.mac(&["uploader", &client_key.to_string()]);
        // 128 bits tell uploaders apart well enough, and keep rows small.
        tag.truncate(32);
        tag
    }

    /// Whether the request may see the video as its owner (the manage token as a Bearer).
    pub fn is_owner(headers: &HeaderMap, video: &Video) -> bool {
        bearer(headers).is_some_and(|t| ManageToken::from_presented(t).matches(&video.manage_token_hash))
    }

    /// Checks the password proof of a protected video (anything goes for an unprotected one, or for its owner).
    pub fn check_password(&self, headers: &HeaderMap, video: &Video, now: DateTime<Utc>) -> Result<(), ApiError> {
        let Some(hash) = &video.access.password_hash else { return Ok(()) };
        if Gate::is_owner(headers, video) {
            return Ok(());
        }
        let valid = cookie(headers, &unlock_cookie_name(video)).is_some_and(|value| {
            let Some((until, mac)) = value.split_once('.') else { return false };
            let Ok(until_secs) = until.parse::<i64>() else { return false };
            until_secs > now.timestamp()
                && flick_domain::ids::constant_time_eq(
                    mac.as_bytes(),
                    self.mac(&["unlock", &video.id.to_string(), hash, until]).as_bytes(),
                )
        });
        if valid { Ok(()) } else { Err(ApiError::PasswordRequired) }
    }

    /// Counts a wrong or right guess against the limits; refuses before the slow hash runs when over them.
    /// `client_key` is the client's [`crate::client::ClientIp::key`] (IPv6 by network).
    pub fn admit_guess(&self, video: &Video, client_key: IpAddr) -> Result<(), ApiError> {
        let clock = DefaultClock::default();
        let wait = |e: governor::NotUntil<_>| e.wait_time_from(clock.now()).as_secs().max(1);
        if let Err(e) = self.per_video.check_key(&video.id.to_string()) {
            return Err(ApiError::TooManyAttempts { retry_after: wait(e) });
        }
        if let Err(e) = self.per_address.check_key(&client_key) {
            return Err(ApiError::TooManyAttempts { retry_after: wait(e) });
        }
        // Keyed limiters keep a cell per key seen: shed those back at full capacity now and then.
        if self.per_address.len() > 10_000 {
            self.per_address.retain_recent();
            self.per_video.retain_recent();
        }
        Ok(())
    }

    /// The `Set-Cookie` value that lets this browser in for [`UNLOCK_FOR`] after it gave the right password.
    pub fn unlock_cookie(&self, video: &Video, now: DateTime<Utc>) -> Option<HeaderValue> {
        let hash = video.access.password_hash.as_deref()?;
        let until = (now + UNLOCK_FOR).timestamp().to_string();
        let mac = self.mac(&["unlock", &video.id.to_string(), hash, &until]);
        self.set_cookie(&unlock_cookie_name(video), &format!("{until}.{mac}"), UNLOCK_FOR)
    }

    /// The number of the view this browser's cookie proves was counted, if it is valid at `now`.
    pub fn counted_view(&self, headers: &HeaderMap, video: &Video, now: DateTime<Utc>) -> Option<u32> {
        let value = cookie(headers, &view_cookie_name(video))?;
        let mut parts = value.splitn(3, '.');
        let (number, started, mac) = (parts.next()?, parts.next()?, parts.next()?);
        let limit = video.access.max_views?.to_string();
        let expected = self.mac(&["view", &video.id.to_string(), &limit, number, started]);
        if !flick_domain::ids::constant_time_eq(mac.as_bytes(), expected.as_bytes()) {
            return None;
        }
        let started = DateTime::from_timestamp(started.parse().ok()?, 0)?;
        (started + LAST_VIEW_GRACE > now).then_some(number.parse().ok()?)
    }

    /// The `Set-Cookie` value proving that view `number` of the video started at `now`.
    pub fn view_cookie(&self, video: &Video, number: u32, now: DateTime<Utc>) -> Option<HeaderValue> {
        let limit = video.access.max_views?.to_string();
        let (number, started) = (number.to_string(), now.timestamp().to_string());
        let mac = self.mac(&["view", &video.id.to_string(), &limit, &number, &started]);
        self.set_cookie(&view_cookie_name(video), &format!("{number}.{started}.{mac}"), LAST_VIEW_GRACE)
    }

    fn set_cookie(&self, name: &str, value: &str, max_age: chrono::TimeDelta) -> Option<HeaderValue> {
        let secure = if self.secure { "; Secure" } else { "" };
        let cookie =
            format!("{name}={value}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{secure}", max_age.num_seconds());
        HeaderValue::from_str(&cookie).ok()
    }
}

/// Hashes a new password with argon2id (its default, OWASP-recommended parameters) and a random salt; runs on a
/// blocking thread, since it takes tens of milliseconds on purpose.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| ApiError::Internal(e.to_string()))?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| ApiError::Internal(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// Whether `password` is the one `hash` was made from (on a blocking thread).
pub async fn verify_password(password: String, hash: String) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(|e| ApiError::Internal(format!("stored password hash: {e}")))?;
        Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// The manage token a request presents as `Authorization: Bearer …`.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

fn unlock_cookie_name(video: &Video) -> String {
    format!("flick_u_{}", video.share_id)
}

fn view_cookie_name(video: &Video) -> String {
    format!("flick_w_{}", video.share_id)
}

/// The value of the cookie `name` among the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(k, v)| (k == name).then_some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; flick_u_x=2.abc"));
        h.append(header::COOKIE, HeaderValue::from_static("b=3"));
        assert_eq!(cookie(&h, "flick_u_x"), Some("2.abc"));
        assert_eq!(cookie(&h, "b"), Some("3"));
        assert_eq!(cookie(&h, "flick_u"), None);
    }
}
