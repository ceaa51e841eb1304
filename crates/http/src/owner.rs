//! What the owner of a video (whoever holds its manage token) controls: its title, password, expiry and view limit
//! (`PATCH /api/video/{id}`), its link (`POST …/revoke`), its existence (`DELETE`); and the viewer's side of the
//! password (`POST …/unlock`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Extensions, HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use flick_domain::ports::{BlobKey, JobKind};
use flick_domain::{AccessUpdate, Delivery, ShareId, Video, VideoStatus};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::gate::{hash_password, verify_password};
use crate::links::Links;
use crate::state::AppState;
use crate::videos::{OwnerView, Playable, Seen, VideoView, load, load_owned};

/// Longest title, in characters.
const MAX_TITLE: usize = 200;
/// Longest password, in characters (argon2 takes any length; this bounds the work a request can ask for).
const MAX_PASSWORD: usize = 256;
/// Largest view limit.
const MAX_VIEWS: u64 = 1_000_000;
/// The view number of the owner's own player: never counted, never the last.
const OWNER_VIEW: u32 = 0;
/// Furthest expiry: ten years.
const MAX_EXPIRY: chrono::TimeDelta = chrono::TimeDelta::days(3653);

/// `PATCH /api/video/{id}` with the manage token: any of `title`, `password` (`null` removes it), `expiresAt`
/// (RFC 3339, `null`: never), `maxViews` (≥ 1, `null`: no limit; setting it starts counting from zero),
/// `allowDownload` (true or false: this video's own switch over the site's default).
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let video = load_owned(&state, &id, &headers).await?;
    let fields: Map<String, Value> = match serde_json::from_slice(&body) {
        Ok(Value::Object(map)) => map,
        _ => return Err(ApiError::BadRequest("the body must be a JSON object".into())),
    };
    let mut update = parse_settings(&fields, Utc::now())?;
    if let Some(Some(password)) = fields.get("password").map(Value::as_str) {
        update.password_hash = Some(Some(hash_password(password.to_owned()).await?));
    }
    let video = state.repo.update_access(video.id, &update).await?.ok_or(ApiError::NotFound)?;
    tracing::info!(video_id = %video.id, "video settings changed");
    if update.allow_download == Some(true) {
        prepare_download(&state, &video).await?;
    }
    let download = crate::videos::downloadable(&state, &video).await?;
    let view =
        VideoView::of(&video, Playable::of(&state, &video).await?, download).with_captions(&state, &video).await?;
    let owner_view = OwnerView::of(view, &video, crate::videos::download_allowed(&state, &video));
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(owner_view)).into_response())
}

/// Downloads were just allowed: a ready video whose original is gone gets the MP4 of its first rendition made (a
/// `download` job; the Download button appears once it is stored).
async fn prepare_download(state: &AppState, video: &Video) -> Result<(), ApiError> {
    if video.status != VideoStatus::Ready
        || video.delivery != Delivery::Stored
        || state.store.len(&BlobKey::raw(video.id)).await?.is_some()
        || state.store.len(&BlobKey::download(video.id)).await?.is_some()
    {
        return Ok(());
    }
    state.queue.enqueue(video.id, JobKind::Download).await?;
    Ok(())
}

/// Checks every field of a settings change (the password is only checked here: hashing it is the caller's).
fn parse_settings(fields: &Map<String, Value>, now: DateTime<Utc>) -> Result<AccessUpdate, ApiError> {
    if let Some(unknown) =
        fields.keys().find(|k| !["title", "password", "expiresAt", "maxViews", "allowDownload"].contains(&k.as_str()))
    {
        return Err(ApiError::BadRequest(format!("unknown setting {unknown:?}")));
    }
    let invalid = |code: &'static str, message: &str| ApiError::InvalidSetting { code, message: message.to_owned() };
    let mut update = AccessUpdate::default();
    match fields.get("title") {
        None => {}
        Some(Value::Null) => update.title = Some(String::new()),
        Some(Value::String(t)) => {
            let title = t.trim();
            if title.is_empty() || title.chars().count() > MAX_TITLE || title.chars().any(char::is_control) {
                return Err(invalid(
                    "invalid_title",
                    "The title must be 1 to 200 characters, without control characters.",
                ));
            }
            update.title = Some(title.to_owned());
        }
        Some(_) => return Err(invalid("invalid_title", "The title must be a string.")),
    }
    match fields.get("password") {
        None => {}
        Some(Value::Null) => update.password_hash = Some(None),
        Some(Value::String(p)) if !p.is_empty() && p.chars().count() <= MAX_PASSWORD => {}
        Some(_) => return Err(invalid("invalid_password", "The password must be a string of 1 to 256 characters.")),
    }
    match fields.get("expiresAt") {
        None => {}
        Some(Value::Null) => update.expires_at = Some(None),
        Some(Value::String(t)) => {
            let at = DateTime::parse_from_rfc3339(t)
                .map_err(|_| invalid("invalid_expiry", "The expiry must be a date and time in RFC 3339 form."))?
                .with_timezone(&Utc);
            if at <= now || at > now + MAX_EXPIRY {
                return Err(invalid("invalid_expiry", "The expiry must be in the future, at most ten years ahead."));
            }
            update.expires_at = Some(Some(at));
        }
        Some(_) => return Err(invalid("invalid_expiry", "The expiry must be a string or null.")),
    }
    match fields.get("maxViews") {
        None => {}
        Some(Value::Null) => update.max_views = Some(None),
        Some(Value::Number(n)) => match n.as_u64().filter(|n| (1..=MAX_VIEWS).contains(n)) {
            Some(n) => update.max_views = Some(u32::try_from(n).ok()),
            None => {
                return Err(invalid("invalid_max_views", "The view limit must be a whole number from 1 to 1000000."));
            }
        },
        Some(_) => return Err(invalid("invalid_max_views", "The view limit must be a number or null.")),
    }
    match fields.get("allowDownload") {
        None => {}
        Some(Value::Bool(b)) => update.allow_download = Some(*b),
        Some(_) => return Err(invalid("invalid_allow_download", "allowDownload must be true or false.")),
    }
    Ok(update)
}

/// `POST /api/video/{id}/revoke` with the manage token: the video gets a new link; the old one answers 404 at once.
pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let video = load_owned(&state, &id, &headers).await?;
    let share = ShareId::new();
    if !state.repo.set_share_id(video.id, share).await? {
        return Err(ApiError::NotFound);
    }
    tracing::info!(video_id = %video.id, "share link revoked");
    let links = Links::of(share);
    let body = serde_json::json!({
        "id": share.to_string(),
        "url": links.share,
        "statusUrl": links.status,
        "streamUrl": links.stream,
        "thumbnailUrl": links.thumbnail,
    });
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

/// `DELETE /api/video/{id}` with the manage token, at any moment (mid-upload too): every URL answers 404 at once, and
/// everything the video has is removed (retried later when the store fails now).
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let video = load_owned(&state, &id, &headers).await?;
    crate::lifecycle::delete_video(&state, video.id).await?;
    tracing::info!(video_id = %video.id, "video deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/video/{id}/unlock` with `{"password": "…"}`: the right password gets a cookie that lets this browser
/// watch (see `gate`). The owner's token gets it without a password, and, for a video with a view limit, a view
/// cookie of its own (view 0) so that the owner's player never uses up a view. Guesses are limited per video and
/// per address.
pub async fn unlock(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Seen { video, owner } = load(&state, &id, &headers).await?;
    let now = Utc::now();
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    if owner && let Some(cookie) = state.gate.view_cookie(&video, OWNER_VIEW, now) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    let Some(hash) = video.access.password_hash.clone() else {
        return Ok(response);
    };
    if !owner {
        let password = match serde_json::from_slice(&body) {
            Ok(Value::Object(map)) => match map.get("password") {
                Some(Value::String(p)) if p.chars().count() <= MAX_PASSWORD => p.clone(),
                _ => return Err(ApiError::BadRequest("send {\"password\": \"…\"}".into())),
            },
            _ => return Err(ApiError::BadRequest("the body must be a JSON object".into())),
        };
        state.gate.admit_guess(&video, crate::client::ClientIp::of(&extensions).key)?;
        if !verify_password(password, hash).await? {
            tracing::info!(video_id = %video.id, "wrong password");
            return Err(ApiError::WrongPassword);
        }
    }
    let cookie = state.gate.unlock_cookie(&video, now).ok_or_else(|| ApiError::Internal("no cookie".into()))?;
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<AccessUpdate, ApiError> {
        let Value::Object(map) = serde_json::from_str(json).unwrap() else { panic!("not an object") };
        parse_settings(&map, Utc::now())
    }

    fn code(r: Result<AccessUpdate, ApiError>) -> &'static str {
        match r {
            Err(ApiError::InvalidSetting { code, .. }) => code,
            Err(ApiError::BadRequest(_)) => "bad_request",
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        assert_eq!(code(parse(r#"{"title": ""}"#)), "invalid_title");
        assert_eq!(code(parse(r#"{"title": "a\u0007b"}"#)), "invalid_title");
        assert_eq!(code(parse(&format!(r#"{{"title": "{}"}}"#, "x".repeat(201)))), "invalid_title");
        assert_eq!(code(parse(r#"{"password": ""}"#)), "invalid_password");
        assert_eq!(code(parse(r#"{"password": 12}"#)), "invalid_password");
        assert_eq!(code(parse(r#"{"expiresAt": "tomorrow"}"#)), "invalid_expiry");
        assert_eq!(code(parse(r#"{"expiresAt": "2001-01-01T00:00:00Z"}"#)), "invalid_expiry");
        assert_eq!(code(parse(r#"{"maxViews": 0}"#)), "invalid_max_views");
        assert_eq!(code(parse(r#"{"maxViews": 1.5}"#)), "invalid_max_views");
        assert_eq!(code(parse(r#"{"maxViews": "3"}"#)), "invalid_max_views");
        assert_eq!(code(parse(r#"{"colour": "red"}"#)), "bad_request");
        let ok = parse(r#"{"title": "  Holiday  ", "password": null, "expiresAt": null, "maxViews": 3}"#).unwrap();
        assert_eq!(ok.title.as_deref(), Some("Holiday"));
        assert_eq!(ok.password_hash, Some(None));
        assert_eq!(ok.expires_at, Some(None));
        assert_eq!(ok.max_views, Some(Some(3)));
        assert_eq!(parse("{}").unwrap(), AccessUpdate::default());
    }
}
