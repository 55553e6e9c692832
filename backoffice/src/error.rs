//! The back office's one error: a stable code and a message a person can act on for each
//! refusal; store and internal causes are logged and shown only as "something went wrong".

use axum::http::StatusCode;
use gateway::clock::Millis;
use gateway::domain::ValidationError;
use gateway::service::ServiceError;
use gateway::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum BackofficeError {
    #[error("invalid input: {}", .0.message)]
    Invalid(ValidationError),
    #[error("unknown account or wrong password")]
    InvalidCredentials,
    #[error("the account is locked until {until}")]
    Locked { until: Millis },
    #[error("too many attempts; retry in {0} s")]
    RateLimited(u64),
    #[error("no such sign-up, or it expired")]
    SignupExpired,
    #[error("the code is wrong")]
    CodeWrong,
    #[error("the sign-up was already completed")]
    SignupCompleted,
    #[error("the email already has an account")]
    EmailTaken,
    #[error("the account belongs to no merchant")]
    NoMembership,
    #[error("the role may not do this")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("the session ended")]
    SessionEnded,
    #[error("the request did not come from this site's own form")]
    CrossSite,
    #[error("two-factor sign-in is on already")]
    TwoFactorOn,
    #[error("two-factor set-up was not started")]
    TwoFactorNotStarted,
    #[error("the merchant requires two-factor sign-in")]
    TwoFactorRequired,
    #[error("the invitation was accepted, revoked or lapsed")]
    InvitationClosed,
    #[error("the invitation is for another email")]
    InvitationForAnother,
    #[error("the merchant would have no owner")]
    LastOwner,
    #[error("the team has a view of that name")]
    ViewNameTaken,
    #[error("the team has {0} views already")]
    TooManyViews(i64),
    #[error("the API key was revoked or has expired")]
    KeyNotUsable,
    #[error("mail cannot be sent: {0}")]
    MailUnavailable(String),
    #[error(transparent)]
    Service(ServiceError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<ValidationError> for BackofficeError {
    fn from(e: ValidationError) -> Self {
        BackofficeError::Invalid(e)
    }
}

impl From<ServiceError> for BackofficeError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Validation(v) => BackofficeError::Invalid(v),
            ServiceError::NotFound(_) => BackofficeError::NotFound,
            other => BackofficeError::Service(other),
        }
    }
}

impl BackofficeError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        BackofficeError::Internal(e.to_string())
    }

    /// The stable code a test or a support request can name.
    pub fn code(&self) -> &'static str {
        match self {
            BackofficeError::Invalid(v) => v.code,
            BackofficeError::InvalidCredentials => "credentials_invalid",
            BackofficeError::Locked { .. } => "account_locked",
            BackofficeError::RateLimited(_) => "rate_limited",
            BackofficeError::SignupExpired => "signup_expired",
            BackofficeError::CodeWrong => "code_wrong",
            BackofficeError::SignupCompleted => "signup_completed",
            BackofficeError::EmailTaken => "email_taken",
            BackofficeError::NoMembership => "no_membership",
            BackofficeError::Forbidden => "forbidden",
            BackofficeError::NotFound => "not_found",
            BackofficeError::SessionEnded => "session_ended",
            BackofficeError::CrossSite => "csrf_refused",
            BackofficeError::MailUnavailable(_) => "mail_unavailable",
            BackofficeError::TwoFactorOn => "two_factor_on",
            BackofficeError::InvitationClosed => "invitation_closed",
            BackofficeError::InvitationForAnother => "invitation_for_another",
            BackofficeError::LastOwner => "last_owner",
            BackofficeError::TwoFactorNotStarted => "two_factor_not_started",
            BackofficeError::TwoFactorRequired => "two_factor_required",
            BackofficeError::KeyNotUsable => "key_not_usable",
            BackofficeError::ViewNameTaken => "view_name_taken",
            BackofficeError::TooManyViews(_) => "too_many_views",
            BackofficeError::Service(e) => match e {
                ServiceError::RefundExceedsCaptured { .. } => "refund_exceeds_captured",
                ServiceError::InvalidState { .. } => "invalid_state",
                ServiceError::IntentExpired => "intent_expired",
                ServiceError::IdempotencyKeyReused => "form_reused",
                ServiceError::WebhookEndpointDisabled => "webhook_endpoint_disabled",
                ServiceError::TooManyWebhookEndpoints(_) => "too_many_webhook_endpoints",
                _ => "internal_error",
            },
            BackofficeError::Store(_) | BackofficeError::Internal(_) => "internal_error",
        }
    }

    /// What the page says, in `lang`.
    pub fn message_in(&self, lang: crate::i18n::Lang) -> String {
        match lang {
            crate::i18n::Lang::En => self.message(),
            crate::i18n::Lang::Ko => self.message_ko(),
        }
    }

    fn message_ko(&self) -> String {
        match self {
            BackofficeError::Invalid(v) => match v.code {
                "password_too_short" => "비밀번호가 너무 짧습니다.".into(),
                "password_too_long" => "비밀번호가 너무 깁니다 (128자 이하).".into(),
                "email_invalid" => "올바른 이메일 주소가 아닙니다.".into(),
                "code_invalid" => "보내 드린 6자리 코드를 입력하세요.".into(),
                "date_invalid" => "날짜는 YYYY-MM-DD 형식으로 입력하세요.".into(),
                "amount_invalid" => "금액은 12000 또는 12.50처럼 숫자로 입력하세요.".into(),
                "currency_required" => "금액 범위의 통화를 선택하세요.".into(),
                "range_invalid" => "날짜 범위가 올바르지 않습니다.".into(),
                "time_zone_invalid" => "IANA 시간대 이름을 입력하세요 (예: Asia/Seoul).".into(),
                "role_invalid" => "역할을 선택하세요.".into(),
                _ => v.message.clone(),
            },
            BackofficeError::InvalidCredentials => "이메일 또는 비밀번호가 올바르지 않습니다.".into(),
            BackofficeError::Locked { .. } => "로그인에 여러 번 실패하여 계정이 30분 동안 잠겼습니다.".into(),
            BackofficeError::RateLimited(secs) => format!("시도가 너무 많습니다. {secs}초 후에 다시 시도하세요."),
            BackofficeError::SignupExpired => "가입 요청이 만료되었거나 없습니다. 다시 가입하여 새 코드를 받으세요.".into(),
            BackofficeError::CodeWrong => "코드가 올바르지 않습니다.".into(),
            BackofficeError::SignupCompleted => "이미 가입이 완료되었습니다. 로그인하세요.".into(),
            BackofficeError::EmailTaken => "이미 계정이 있는 이메일입니다. 로그인하세요.".into(),
            BackofficeError::NoMembership => "이 계정은 더 이상 어떤 가맹점에도 속해 있지 않습니다.".into(),
            BackofficeError::Forbidden => "현재 역할로는 할 수 없는 작업입니다.".into(),
            BackofficeError::NotFound => "찾을 수 없습니다.".into(),
            BackofficeError::SessionEnded => "세션이 만료되었습니다. 다시 로그인하세요.".into(),
            BackofficeError::CrossSite => "이 사이트에서 보낸 요청이 아닙니다. 페이지를 새로 고친 뒤 다시 시도하세요.".into(),
            BackofficeError::TwoFactorOn => "2단계 인증이 이미 켜져 있습니다.".into(),
            BackofficeError::TwoFactorNotStarted => "먼저 설정을 시작하세요.".into(),
            BackofficeError::TwoFactorRequired => "가맹점에서 2단계 인증을 요구하므로 끌 수 없습니다.".into(),
            BackofficeError::InvitationClosed => "이미 수락되었거나 취소 또는 만료된 초대입니다. 새 초대를 요청하세요.".into(),
            BackofficeError::InvitationForAnother => "다른 이메일로 보낸 초대입니다. 로그아웃한 뒤 다시 여세요.".into(),
            BackofficeError::ViewNameTaken => "같은 이름의 보기가 이미 있습니다. 다른 이름을 쓰세요.".into(),
            BackofficeError::TooManyViews(max) => format!("저장된 보기는 {max}개까지입니다. 쓰지 않는 보기를 지우세요."),
            BackofficeError::KeyNotUsable => "폐기되었거나 만료된 키는 교체할 수 없습니다. 새 키를 만드세요.".into(),
            BackofficeError::LastOwner => "가맹점에는 소유자가 한 명 이상 있어야 합니다.".into(),
            BackofficeError::MailUnavailable(_) => "지금은 메일을 보낼 수 없어 가입을 마칠 수 없습니다. 나중에 다시 시도하세요.".into(),
            BackofficeError::Service(ServiceError::RefundExceedsCaptured { available, .. }) => format!("환불 가능한 금액({available})보다 많습니다."),
            BackofficeError::Service(ServiceError::InvalidState { .. }) => "현재 상태에서는 할 수 없는 작업입니다.".into(),
            BackofficeError::Service(ServiceError::IntentExpired) => "결제가 만료되었습니다.".into(),
            BackofficeError::Service(ServiceError::IdempotencyKeyReused) => "이 양식은 다른 값으로 이미 제출되었습니다. 새로 고친 뒤 다시 시도하세요.".into(),
            BackofficeError::Service(ServiceError::WebhookEndpointDisabled) => "꺼져 있는 엔드포인트입니다. 먼저 켜세요.".into(),
            BackofficeError::Service(ServiceError::TooManyWebhookEndpoints(max)) => format!("모드마다 엔드포인트는 {max}개까지 등록할 수 있습니다."),
            BackofficeError::Service(_) | BackofficeError::Store(_) | BackofficeError::Internal(_) => "일시적인 오류가 발생했습니다. 다시 시도하세요.".into(),
        }
    }

    /// What the page says.
    pub fn message(&self) -> String {
        match self {
            BackofficeError::Invalid(v) => v.message.clone(),
            BackofficeError::InvalidCredentials => "Unknown email or wrong password.".into(),
            BackofficeError::Locked { .. } => "Too many failed sign-ins: this account is locked for 30 minutes.".into(),
            BackofficeError::RateLimited(secs) => format!("Too many attempts. Try again in {secs} seconds."),
            BackofficeError::SignupExpired => "This sign-up expired or does not exist. Sign up again to get a new code.".into(),
            BackofficeError::CodeWrong => "That code is not the one we sent.".into(),
            BackofficeError::SignupCompleted => "This sign-up is already complete: sign in.".into(),
            BackofficeError::EmailTaken => "This email already has an account: sign in instead.".into(),
            BackofficeError::NoMembership => "This account belongs to no merchant any more.".into(),
            BackofficeError::Forbidden => "Your role does not allow this.".into(),
            BackofficeError::NotFound => "Not found.".into(),
            BackofficeError::SessionEnded => "Your session ended: sign in again.".into(),
            BackofficeError::CrossSite => "This form was not sent from this site. Reload the page and try again.".into(),
            BackofficeError::MailUnavailable(_) => "We cannot send mail right now, so sign-up cannot finish. Try again later.".into(),
            BackofficeError::TwoFactorOn => "Two-factor sign-in is on already. Turn it off first to use another app.".into(),
            BackofficeError::InvitationClosed => "This invitation was accepted, revoked or has lapsed. Ask for a new one.".into(),
            BackofficeError::InvitationForAnother => "This invitation is for another email: sign out and open it again.".into(),
            BackofficeError::ViewNameTaken => "The team has a view of that name already: choose another.".into(),
            BackofficeError::TooManyViews(max) => format!("A team keeps at most {max} views: delete one it no longer uses."),
            BackofficeError::KeyNotUsable => "This key was revoked or has expired, so it cannot be rolled: create a new one.".into(),
            BackofficeError::LastOwner => "The merchant must keep at least one owner.".into(),
            BackofficeError::TwoFactorNotStarted => "Start the set-up first: it gives you the key for your app.".into(),
            BackofficeError::TwoFactorRequired => "Your merchant requires two-factor sign-in, so it stays on.".into(),
            BackofficeError::Service(e) => match e {
                ServiceError::RefundExceedsCaptured { .. } | ServiceError::InvalidState { .. } | ServiceError::IntentExpired => e.to_string(),
                ServiceError::IdempotencyKeyReused => "This form was already sent with other values. Reload the page and try again.".into(),
                ServiceError::WebhookEndpointDisabled => "This endpoint is disabled: enable it first.".into(),
                ServiceError::TooManyWebhookEndpoints(max) => format!("A mode may have at most {max} endpoints."),
                _ => "Something went wrong on our side. Try again.".into(),
            },
            BackofficeError::Store(_) | BackofficeError::Internal(_) => "Something went wrong on our side. Try again.".into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            BackofficeError::Invalid(_) | BackofficeError::CodeWrong => StatusCode::UNPROCESSABLE_ENTITY,
            BackofficeError::InvalidCredentials | BackofficeError::SessionEnded => StatusCode::UNAUTHORIZED,
            BackofficeError::Locked { .. } => StatusCode::LOCKED,
            BackofficeError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            BackofficeError::SignupExpired | BackofficeError::InvitationClosed => StatusCode::GONE,
            BackofficeError::InvitationForAnother | BackofficeError::LastOwner | BackofficeError::KeyNotUsable => StatusCode::CONFLICT,
            BackofficeError::ViewNameTaken | BackofficeError::TooManyViews(_) => StatusCode::CONFLICT,
            BackofficeError::SignupCompleted | BackofficeError::EmailTaken | BackofficeError::TwoFactorOn | BackofficeError::TwoFactorNotStarted => {
                StatusCode::CONFLICT
            }
            BackofficeError::TwoFactorRequired => StatusCode::FORBIDDEN,
            BackofficeError::NoMembership | BackofficeError::Forbidden | BackofficeError::CrossSite => StatusCode::FORBIDDEN,
            BackofficeError::NotFound => StatusCode::NOT_FOUND,
            BackofficeError::MailUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            BackofficeError::Service(
                ServiceError::RefundExceedsCaptured { .. } | ServiceError::InvalidState { .. } | ServiceError::IntentExpired | ServiceError::IdempotencyKeyReused | ServiceError::WebhookEndpointDisabled
                | ServiceError::TooManyWebhookEndpoints(_),
            ) => {
                StatusCode::CONFLICT
            }
            BackofficeError::Service(_) | BackofficeError::Store(_) | BackofficeError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Logged when it is ours, not the user's.
    pub fn is_internal(&self) -> bool {
        matches!(self.status(), StatusCode::INTERNAL_SERVER_ERROR | StatusCode::SERVICE_UNAVAILABLE)
    }
}
