//! Wire types of the test card processor and their exhaustive mapping to the core's outcomes.

use crate::connector::{Authorization, DeclineReason};

/// Response codes as the (simulated) processor sends them, ISO 8583 style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseCode {
    /// 00
    Approved,
    /// 05
    DoNotHonor,
    /// 51
    InsufficientFunds,
    /// 14
    InvalidCardNumber,
}

impl ResponseCode {
    pub const ALL: [ResponseCode; 4] = [ResponseCode::Approved, ResponseCode::DoNotHonor, ResponseCode::InsufficientFunds, ResponseCode::InvalidCardNumber];

    pub fn from_wire(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.wire() == code)
    }

    pub fn wire(self) -> &'static str {
        match self {
            ResponseCode::Approved => "00",
            ResponseCode::DoNotHonor => "05",
            ResponseCode::InsufficientFunds => "51",
            ResponseCode::InvalidCardNumber => "14",
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuthorizationResponse {
    pub code: ResponseCode,
    pub authorization_id: String,
}

/// No catch-all arm: a new response code must be mapped on purpose.
pub fn to_authorization(resp: AuthorizationResponse) -> Authorization {
    match resp.code {
        ResponseCode::Approved => Authorization::Approved { connector_ref: resp.authorization_id },
        ResponseCode::DoNotHonor => Authorization::Declined(DeclineReason::CardDeclined),
        ResponseCode::InsufficientFunds => Authorization::Declined(DeclineReason::InsufficientFunds),
        ResponseCode::InvalidCardNumber => Authorization::Declined(DeclineReason::InvalidCard),
    }
}
