//! The error body every API answers with: a stable code, a message for a person, and the
//! parameter at fault.

use serde::{Deserialize, Serialize};

/// `{"error": {...}}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Stable, documented code: branch on this, not on the message.
    pub code: String,
    pub message: String,
    /// The request parameter at fault, when there is one.
    pub param: Option<String>,
}

