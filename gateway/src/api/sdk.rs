//! `/sdk/v1/`: the web SDK's built files (sdk-wasm/dist/, committed; scripts/build-sdk makes
//! them), compiled into the binary. `/sdk/v1/{version}/{file}` never changes (cached for a year);
//! `/sdk/v1/{file}` is the current version (cached for five minutes). Any origin may load them:
//! the module script and the WebAssembly module are fetched with CORS.

use super::error::ApiError;
use axum::extract::Path;
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};

/// The SDK's version (sdk-wasm/package.json), the folder of its immutable files.
pub const SDK_VERSION: &str = "0.1.0";

/// Each served file, its content type and its bytes.
const FILES: [(&str, &str, &[u8]); 6] = [
    ("paygate.js", "text/javascript; charset=utf-8", include_bytes!("../../../sdk-wasm/dist/paygate.js")),
    ("paygate.mjs", "text/javascript; charset=utf-8", include_bytes!("../../../sdk-wasm/dist/paygate.mjs")),
    ("paygate_sdk.js", "text/javascript; charset=utf-8", include_bytes!("../../../sdk-wasm/dist/paygate_sdk.js")),
    ("paygate_sdk_bg.wasm", "application/wasm", include_bytes!("../../../sdk-wasm/dist/paygate_sdk_bg.wasm")),
    ("paygate.css", "text/css; charset=utf-8", include_bytes!("../../../sdk-wasm/dist/paygate.css")),
    ("paygate.d.ts", "text/plain; charset=utf-8", include_bytes!("../../../sdk-wasm/dist/paygate.d.ts")),
];

/// The file names the SDK is made of, for the README's integrity hashes.
pub fn files() -> impl Iterator<Item = (&'static str, &'static [u8])> {
    FILES.iter().map(|(name, _, bytes)| (*name, *bytes))
}

pub async fn current(Path(file): Path<String>) -> Response {
    serve(&file, "public, max-age=300")
}

pub async fn versioned(Path((version, file)): Path<(String, String)>) -> Response {
    if version != SDK_VERSION {
        return ApiError::not_found("SDK version").into_response();
    }
    serve(&file, "public, max-age=31536000, immutable")
}

fn serve(file: &str, cache: &'static str) -> Response {
    let Some((_, content_type, bytes)) = FILES.iter().find(|(name, _, _)| *name == file) else {
        return ApiError::not_found("SDK file").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")),
            (HeaderName::from_static("cross-origin-resource-policy"), HeaderValue::from_static("cross-origin")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        *bytes,
    )
        .into_response()
}
