//! The handoff form as `multipart/form-data`: one `payload` part (the same JSON as the JSON
//! body) and up to three `screenshot` files. Images are recognised by their first bytes, never
//! by the name or the type the client claims, so a renamed executable is refused.

use axum::extract::multipart::{Multipart, MultipartError};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::store::Attachment;

/// Screenshots one handoff may carry.
pub const MAX_SCREENSHOTS: usize = 3;
/// Largest screenshot accepted (5 MiB); a phone screenshot is well under it.
pub const MAX_SCREENSHOT_BYTES: usize = 5 * 1024 * 1024;
/// The handoff endpoint's own body limit: three screenshots and the form fit.
pub const MAX_HANDOFF_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Reads the `payload` JSON and the screenshots of a multipart handoff form.
pub async fn read_form<T: DeserializeOwned>(
    mut form: Multipart,
) -> Result<(T, Vec<Attachment>), ApiError> {
    let mut payload = None;
    let mut screenshots = Vec::new();
    while let Some(mut field) = form.next_field().await.map_err(form_error)? {
        match field.name() {
            Some("payload") => {
                let text = field.text().await.map_err(form_error)?;
                payload = Some(parse_payload(&text)?);
            }
            Some("screenshot") => {
                if screenshots.len() == MAX_SCREENSHOTS {
                    return Err(ApiError::Invalid(format!(
                        "at most {MAX_SCREENSHOTS} screenshots can be attached"
                    )));
                }
                let filename = safe_filename(field.file_name(), screenshots.len() + 1);
                let mut data = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(form_error)? {
                    if data.len() + chunk.len() > MAX_SCREENSHOT_BYTES {
                        return Err(ApiError::TooLarge(format!(
                            "{filename} is larger than {} MiB",
                            MAX_SCREENSHOT_BYTES / (1024 * 1024)
                        )));
                    }
                    data.extend_from_slice(&chunk);
                }
                let content_type = image_type(&data).ok_or_else(|| {
                    ApiError::UnsupportedMediaType(format!(
                        "{filename} is not a PNG, JPEG or WebP image"
                    ))
                })?;
                screenshots.push(Attachment {
                    filename,
                    content_type: content_type.to_string(),
                    data,
                });
            }
            other => {
                return Err(ApiError::Invalid(format!(
                    "unexpected form field {:?}: send a `payload` part and up to {MAX_SCREENSHOTS} `screenshot` files",
                    other.unwrap_or("")
                )))
            }
        }
    }
    let payload =
        payload.ok_or_else(|| ApiError::Invalid("the form has no `payload` part".to_string()))?;
    Ok((payload, screenshots))
}

fn parse_payload<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    serde_json::from_str(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message);
            ApiError::Invalid(format!("payload: {message}"))
        }
        _ => ApiError::BadRequest("the `payload` part is not valid JSON".to_string()),
    })
}

fn form_error(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge(format!(
            "the form is larger than {} MiB",
            MAX_HANDOFF_BODY_BYTES / (1024 * 1024)
        ))
    } else {
        ApiError::BadRequest("the multipart form could not be read".to_string())
    }
}

/// The MIME type of a PNG, JPEG or WebP image from its signature bytes.
pub fn image_type(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if data.len() >= 12 && data.starts_with(b"RIFF") && &data[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// The last path component of the client's file name, reduced to characters that are safe in
/// an email header and a file system; `screenshot-N` when nothing usable is left.
fn safe_filename(name: Option<&str>, n: usize) -> String {
    let base = name.unwrap_or("").rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(100)
        .collect();
    let cleaned = cleaned.trim_start_matches('.');
    if cleaned.is_empty() {
        format!("screenshot-{n}")
    } else {
        cleaned.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_recognised_by_their_bytes() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n rest"), Some("image/png"));
        assert_eq!(image_type(&[0xFF, 0xD8, 0xFF, 0xE0, 0]), Some("image/jpeg"));
        assert_eq!(image_type(b"RIFF\x10\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(image_type(b"RIFF\x10\0\0\0WAVEfmt "), None);
        assert_eq!(image_type(b"GIF89a"), None);
        assert_eq!(image_type(b"MZ\x90\0"), None);
        assert_eq!(image_type(b""), None);
    }

    #[test]
    fn file_names_lose_paths_and_unsafe_characters() {
        assert_eq!(
            safe_filename(Some("C:\\Users\\me\\shot 1.png"), 1),
            "shot1.png"
        );
        assert_eq!(safe_filename(Some("../../etc/passwd"), 2), "passwd");
        assert_eq!(safe_filename(Some("..."), 3), "screenshot-3");
        assert_eq!(safe_filename(None, 1), "screenshot-1");
        assert_eq!(
            safe_filename(Some("a\r\nBcc: x@y.z.png"), 1),
            "aBccxy.z.png"
        );
    }
}
