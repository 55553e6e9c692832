//! Cursor pagination: opaque cursors over (creation time, id), newest first.

use super::error::ApiError;
use crate::clock::{parse_rfc3339, Millis};
use crate::domain::query::{Cursor, Page};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

pub fn encode_cursor(c: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", c.created_at, c.id))
}

pub fn decode_cursor(text: &str) -> Option<Cursor> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()?;
    let (ts, id) = raw.split_once(':')?;
    let well_formed = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    well_formed.then_some(Cursor { created_at: ts.parse().ok()?, id: id.to_owned() })
}

pub fn page(limit: Option<u32>, cursor: Option<&str>) -> Result<Page, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request("parameter_invalid", "limit", format!("limit must be between 1 and {MAX_LIMIT}.")));
    }
    let after = cursor
        .map(|c| decode_cursor(c).ok_or_else(|| ApiError::bad_request("invalid_cursor", "cursor", "The cursor is not one this API issued.")))
        .transpose()?;
    Ok(Page { limit, after })
}

/// An RFC 3339 time, or a date (`2026-11-21`, midnight UTC).
pub fn time_param(param: &'static str, value: Option<&str>) -> Result<Option<Millis>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    let parsed = parse_rfc3339(value).or_else(|| {
        chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().timestamp_millis())
    });
    parsed.map(Some).ok_or_else(|| {
        ApiError::bad_request("parameter_invalid", param, format!("{param} must be an RFC 3339 time or a YYYY-MM-DD date."))
    })
}

/// Declares a list response type for one resource (concrete types keep the OpenAPI schema plain).
/// Exported for the other crates' APIs (the wallet API's lists have the same shape).
#[macro_export]
macro_rules! list_response {
    ($name:ident, $item:ty) => {
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            /// Always `list`.
            pub object: String,
            pub data: Vec<$item>,
            pub has_more: bool,
            /// Pass as `cursor` to get the next page.
            pub next_cursor: Option<String>,
        }

        impl From<$crate::service::List<$item>> for $name {
            fn from(list: $crate::service::List<$item>) -> Self {
                let next_cursor = list.next.as_ref().map($crate::api::pagination::encode_cursor);
                Self { object: "list".into(), has_more: next_cursor.is_some(), data: list.data, next_cursor }
            }
        }
    };
}
pub use crate::list_response;


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = Cursor { created_at: 1_700_000_000_000, id: "pi_abc".into() };
        assert_eq!(decode_cursor(&encode_cursor(&c)), Some(c));
        for bad in ["", "!!!", "bm90LWEtY3Vyc29y", &URL_SAFE_NO_PAD.encode("12:pi_x'; DROP")] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }
}
