//! The back office in Korean and English, light and dark. A person's choice lives in cookies
//! (`/dashboard/prefs?lang=ko&back=...` sets them and goes back); without one, the language
//! follows Accept-Language and the colours the system's preference.

use axum::http::{header, HeaderMap};

pub use gateway::lang::Lang;

/// The back office's strings in `lang`.
pub fn texts_of(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Ko => &KO,
        Lang::En => &EN,
    }
}

/// The `paygate_lang` cookie's choice, else what Accept-Language prefers.
pub fn lang_of_request(headers: &HeaderMap) -> Lang {
    if let Some(lang) = crate::pages::cookie_value(headers, LANG_COOKIE).and_then(|c| Lang::parse(&c)) {
        return lang;
    }
    gateway::lang::from_accept_language(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or(""))
}

/// Light, dark, or whatever the system prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    System,
    Light,
    Dark,
}

impl Theme {
    pub fn code(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "system" => Some(Theme::System),
            "light" => Some(Theme::Light),
            "dark" => Some(Theme::Dark),
            _ => None,
        }
    }

    pub fn of_request(headers: &HeaderMap) -> Self {
        crate::pages::cookie_value(headers, THEME_COOKIE).and_then(|c| Theme::parse(&c)).unwrap_or(Theme::System)
    }

    /// What the toggle switches to: dark from light or system, light from dark.
    pub fn toggled(self) -> Self {
        match self {
            Theme::Dark => Theme::Light,
            Theme::System | Theme::Light => Theme::Dark,
        }
    }
}

pub const LANG_COOKIE: &str = "paygate_lang";
pub const THEME_COOKIE: &str = "paygate_theme";

/// A page's language and colours, and the strings it shows.
#[derive(Debug, Clone, Copy)]
pub struct Prefs {
    pub lang: Lang,
    pub theme: Theme,
    pub t: &'static Texts,
}

impl Prefs {
    pub fn of_request(headers: &HeaderMap) -> Self {
        let lang = lang_of_request(headers);
        Prefs { lang, theme: Theme::of_request(headers), t: texts_of(lang) }
    }
}

macro_rules! texts {
    ($($name:ident: $en:expr, $ko:expr;)*) => {
        /// Every string the pages show, in one language.
        #[derive(Debug)]
        pub struct Texts {
            $(pub $name: &'static str,)*
        }
        pub const EN: Texts = Texts { $($name: $en,)* };
        pub const KO: Texts = Texts { $($name: $ko,)* };
    };
}

texts! {
    brand: "Paygate", "Paygate";
    nav_sections: "Sections", "메뉴";
    nav_home: "Home", "홈";
    nav_transactions: "Transactions", "거래 내역";
    nav_account: "Account", "계정";
    nav_team: "Team", "팀";
    nav_audit: "Audit log", "감사 로그";
    nav_settings: "Settings", "설정";
    merchant: "Merchant", "가맹점";
    switch: "Switch", "전환";
    sign_out: "Sign out", "로그아웃";
    sign_out_everywhere: "Sign out everywhere", "모든 기기에서 로그아웃";
    test_badge_title: "Test data: no real money moves", "테스트 데이터: 실제 돈은 움직이지 않습니다";
    theme_dark: "Dark mode", "다크 모드";
    theme_light: "Light mode", "라이트 모드";
    two_factor_required_banner: "requires two-factor sign-in: set it up below to continue.", "에서 2단계 인증을 요구합니다. 계속하려면 아래에서 설정하세요.";
    back_to_dashboard: "Back to the dashboard", "대시보드로 돌아가기";
    error_title: "That did not work", "요청을 처리하지 못했습니다";
    error_code: "Error code", "오류 코드";
    // Sign-up, confirmation, sign-in
    signup_title: "Create your merchant account", "가맹점 계정 만들기";
    business_name: "Business name", "상호";
    work_email: "Work email", "업무용 이메일";
    password: "Password", "비밀번호";
    password_rule: "(at least 12 characters)", "(12자 이상)";
    send_code: "Send me a code", "인증 코드 받기";
    have_account: "Already have an account?", "이미 계정이 있으신가요?";
    sign_in: "Sign in", "로그인";
    check_mail: "Check your mail", "메일을 확인하세요";
    code_sent: "We sent a six-digit code to your email. It is good for 10 minutes.", "이메일로 6자리 코드를 보냈습니다. 10분 동안 유효합니다.";
    dev_mailbox_hint: "No mail server here: the code is in the", "메일 서버가 없는 환경입니다. 코드는 여기에 있습니다:";
    dev_mailbox: "development mailbox", "개발용 메일함";
    code: "Code", "코드";
    confirm: "Confirm", "확인";
    welcome: "Welcome,", "환영합니다,";
    welcome_ready: "is ready, in test mode. These are its test keys.", "가맹점이 테스트 모드로 준비되었습니다. 테스트 키는 다음과 같습니다.";
    your_merchant: "Your merchant", "가맹점";
    copy_secret_now: "Copy the secret key now: it is shown only this once.", "시크릿 키를 지금 복사하세요. 다시 보여 드리지 않습니다.";
    go_to_dashboard: "Go to the dashboard", "대시보드로 이동";
    email: "Email", "이메일";
    new_here: "New here?", "처음이신가요?";
    create_merchant_account: "Create a merchant account", "가맹점 계정 만들기";
    enter_code: "Enter your code", "인증 코드 입력";
    enter_code_help: "Open your authenticator app and type the six-digit code for Paygate, or one of your recovery codes.", "인증 앱을 열어 Paygate의 6자리 코드나 복구 코드 하나를 입력하세요.";
    use_another_account: "Use another account", "다른 계정 사용";
    mailbox_title: "Development mailbox", "개발용 메일함";
    mailbox_help: "Mail the back office sent, kept in this process only. Configure SMTP in production, where this page does not exist.", "백오피스가 보낸 메일이며 이 프로세스에만 보관됩니다. 운영 환경에서는 SMTP를 설정하며 이 페이지는 없습니다.";
    no_mail: "No mail yet.", "아직 메일이 없습니다.";
    to: "To", "받는 사람";
    // Transactions
    transactions: "Transactions", "거래 내역";
    filter_label: "Filter transactions", "거래 필터";
    customer_name: "Customer name", "고객 이름";
    customer_placeholder: "e.g. 김민수", "예: 김민수";
    date: "Date", "날짜";
    today: "Today", "오늘";
    last_7_days: "Last 7 days", "최근 7일";
    last_30_days: "Last 30 days", "최근 30일";
    custom: "Custom", "직접 선택";
    all_time: "All time", "전체 기간";
    from: "From", "시작일";
    until: "To", "종료일";
    kind: "Type", "유형";
    kind_payment: "payment", "결제";
    kind_cancel: "cancel", "취소";
    kind_refund: "refund", "환불";
    status: "Status", "상태";
    any: "Any", "전체";
    mode: "Mode", "모드";
    test: "Test", "테스트";
    live: "Live", "라이브";
    amount_in: "Amount in", "금액 통화";
    any_currency: "Any currency", "모든 통화";
    min: "Min", "최소";
    max: "Max", "최대";
    order_id: "Order id", "주문 번호";
    intent_id: "Intent id", "결제 ID";
    filter: "Filter", "검색";
    clear: "Clear", "초기화";
    transactions_count: "transactions", "건";
    net_note: "(net of succeeded payments and refunds, per currency)", "(통화별, 성공한 결제에서 환불을 뺀 금액)";
    totals_capped: "or more: totals are counted up to 10,000 transactions; narrow the filter for sums, or export the CSV", "이상: 합계는 10,000건까지 셉니다. 금액 합계는 필터를 좁혀 보거나 CSV로 내보내세요";
    export_csv: "Export CSV", "CSV 내보내기";
    time: "Time", "시각";
    amount: "Amount", "금액";
    customer: "Customer", "고객";
    order: "Order", "주문";
    intent: "Intent", "결제";
    no_transactions: "No transactions match this filter.", "조건에 맞는 거래가 없습니다.";
    older: "Older", "이전 항목";
    // Payment detail
    payment: "Payment", "결제";
    back_to_transactions: "← Transactions", "← 거래 내역";
    captured: "Captured", "매입";
    refunded: "Refunded", "환불";
    created: "Created", "생성";
    customer_email: "Customer email", "고객 이메일";
    paid_through: "Paid through", "결제 수단";
    failure: "Failure", "실패 사유";
    cancellation_reason: "Cancellation reason", "취소 사유";
    refund: "Refund", "환불";
    refund_amount_hint: "(empty: all that is left,", "(비우면 남은 금액 전부,";
    reason: "Reason", "사유";
    cancel: "Cancel", "취소";
    cancel_payment: "Cancel the payment", "결제 취소";
    refunds: "Refunds", "환불 내역";
    events: "Events", "이벤트";
    webhook_deliveries: "Webhook deliveries", "웹훅 전송";
    event: "Event", "이벤트";
    endpoint: "Endpoint", "엔드포인트";
    attempts: "Attempts", "시도";
    last_answer: "Last answer", "마지막 응답";
    latency: "Latency", "지연";
    id: "Id", "ID";
    no_money_moved: "No money has moved.", "움직인 금액이 없습니다.";
    no_refunds: "No refunds.", "환불이 없습니다.";
    no_webhooks: "No webhook endpoint receives these events.", "이 이벤트를 받는 웹훅 엔드포인트가 없습니다.";
    not_tried_yet: "not tried yet", "아직 시도 전";
    refund_done: "The refund was made.", "환불했습니다.";
    cancel_done: "The payment was canceled.", "결제를 취소했습니다.";
    // Account and two-factor
    account: "Account", "계정";
    two_factor: "Two-factor sign-in", "2단계 인증";
    two_factor_on_status: "On. Recovery codes left:", "켜짐. 남은 복구 코드:";
    two_factor_off_status: "Off.", "꺼짐.";
    recovery_keep: "Keep these recovery codes somewhere safe: they are shown only this once. Each signs you in once without your app.", "복구 코드를 안전한 곳에 보관하세요. 다시 보여 드리지 않으며, 각 코드는 앱 없이 한 번 로그인할 수 있습니다.";
    disable_code: "A current code to turn it off", "끄려면 현재 코드를 입력하세요";
    turn_off: "Turn off", "끄기";
    required_stays_on: "Your merchant requires it, so it stays on.", "가맹점에서 요구하므로 끌 수 없습니다.";
    scan_help: "Scan this code with your authenticator app, or type the key into it. Then enter the code it shows.", "인증 앱으로 이 코드를 스캔하거나 키를 입력한 뒤, 앱에 표시된 코드를 입력하세요.";
    qr_label: "QR code of the key", "키의 QR 코드";
    key: "Key", "키";
    open_in_app: "Open in an authenticator app on this device", "이 기기의 인증 앱에서 열기";
    code_from_app: "Code from the app", "앱에 표시된 코드";
    turn_on: "Turn on", "켜기";
    set_up_two_factor: "Set up two-factor sign-in", "2단계 인증 설정";
    two_factor_now_on: "Two-factor sign-in is on.", "2단계 인증을 켰습니다.";
    two_factor_now_off: "Two-factor sign-in is off.", "2단계 인증을 껐습니다.";
    // Settings
    settings: "Settings", "설정";
    time_zone: "Time zone", "시간대";
    time_zone_help: "Dates in filters, lists and exports are read and written in this time zone.", "필터, 목록, 내보내기의 날짜는 이 시간대로 표시됩니다.";
    time_zone_name: "Time zone (IANA name)", "시간대 (IANA 이름)";
    save: "Save", "저장";
    security: "Security", "보안";
    require_two_factor: "Everyone on the team must sign in with two factors", "팀 전원이 2단계 인증으로 로그인해야 합니다";
    // Team
    team: "Team", "팀";
    role: "Role", "역할";
    member_since: "Member since", "합류일";
    change: "Change", "변경";
    you: "(you)", "(나)";
    on: "on", "켜짐";
    off: "off", "꺼짐";
    remove: "Remove", "제거";
    invite_someone: "Invite someone", "초대하기";
    send_invitation: "Send invitation", "초대 보내기";
    roles_help: "Owners: everything. Admins: everything but settings and the owner role. Developers: keys, webhooks, events. Analysts: read and export. Support: read, refund, cancel.", "소유자: 모든 권한. 관리자: 설정과 소유자 역할을 뺀 모든 권한. 개발자: 키, 웹훅, 이벤트. 분석가: 조회와 내보내기. 고객 지원: 조회, 환불, 취소.";
    open_invitations: "Open invitations", "대기 중인 초대";
    lapses: "Lapses", "만료";
    revoke: "Revoke", "취소";
    none: "None.", "없음.";
    join: "Join", "합류:";
    invited_as: "You are invited as", "초대받은 역할:";
    accept: "Accept", "수락";
    has_account_hint: "This email has an account: sign in with it, then open this link again to accept.", "이 이메일로 된 계정이 있습니다. 로그인한 뒤 이 링크를 다시 열어 수락하세요.";
    choose_password: "Choose a password", "비밀번호 정하기";
    create_and_accept: "Create my account and accept", "계정을 만들고 수락";
    // Home
    home_title: "Last 30 days", "최근 30일";
    volume_chart: "Succeeded volume per day (payments less refunds)", "일별 성공 금액 (결제에서 환불을 뺀 금액)";
    counts_chart: "Transactions per day by type", "유형별 일일 거래 건수";
    success_rate: "Approval success rate", "승인 성공률";
    success_detail: "succeeded / failed; expired or canceled:", "성공 / 실패, 만료 또는 취소:";
    no_outcomes: "No payment has reached an outcome yet.", "아직 결과가 나온 결제가 없습니다.";
    view_live: "Live data", "라이브 데이터";
    view_test: "Test data", "테스트 데이터";
    // Audit
    audit_log: "Audit log", "감사 로그";
    audit_help: "Append-only; entries are kept 12 months.", "추가만 가능하며 12개월 동안 보관됩니다.";
    action: "Action", "작업";
    who: "Who (email)", "사용자 (이메일)";
    target: "Target", "대상";
    from_address: "From", "접속 주소";
    outcome: "Outcome", "결과";
    no_entries: "No entries match.", "조건에 맞는 항목이 없습니다.";
    // Saved views
    saved_views: "Saved views", "저장된 보기";
    no_views: "None yet: filter the list, then save it for the team.", "아직 없습니다. 목록을 필터링한 뒤 팀과 공유할 보기로 저장하세요.";
    view_name: "View name", "보기 이름";
    save_view: "Save this view", "이 보기 저장";
    delete_view: "Delete", "삭제";
    // Developers
    nav_developers: "Developers", "개발자";
    api_keys: "API keys", "API 키";
    webhooks: "Webhooks", "웹훅";
    events_browser: "Events", "이벤트";
    keys_help: "Secret keys act for the merchant from your server; publishable keys only start a checkout. A key's value is shown once, when it is made.", "비밀 키는 서버에서 가맹점을 대신하고, 공개 키는 결제 화면만 시작할 수 있습니다. 키 값은 만들 때 한 번만 보여 드립니다.";
    key_kind: "Kind", "종류";
    kind_publishable: "Publishable", "공개 키";
    kind_secret: "Secret", "비밀 키";
    key_prefix: "Key", "키";
    last_used: "Last used", "마지막 사용";
    never: "Never", "사용 안 함";
    expires: "Expires", "만료";
    key_state: "State", "상태";
    create_key: "Create key", "키 만들기";
    roll: "Roll", "교체";
    old_key_works: "Old key keeps working", "기존 키 유지 기간";
    roll_now: "Stops now", "즉시 중지";
    roll_1h: "1 hour", "1시간";
    roll_24h: "24 hours", "24시간";
    roll_7d: "7 days", "7일";
    new_key_once: "Your new key. Copy it now: it is not shown again.", "새 키입니다. 지금 복사하세요. 다시 보여 드리지 않습니다.";
    state_active: "Active", "사용 중";
    state_expiring: "Expiring", "만료 예정";
    state_expired: "Expired", "만료됨";
    state_revoked: "Revoked", "폐기됨";
    webhooks_help: "Each endpoint gets the events it chose, signed the Standard Webhooks way with its own secret, retried for about three days.", "엔드포인트마다 고른 이벤트를 자체 비밀 값으로 Standard Webhooks 방식으로 서명하여 보내고, 약 3일 동안 재시도합니다.";
    url: "URL", "URL";
    event_types: "Events to send", "보낼 이벤트";
    all_events: "All events", "모든 이벤트";
    add_endpoint: "Add endpoint", "엔드포인트 추가";
    no_endpoints: "No endpoints yet.", "아직 엔드포인트가 없습니다.";
    new_secret_once: "The endpoint's signing secret. Copy it now: it is not shown again.", "엔드포인트 서명 비밀 값입니다. 지금 복사하세요. 다시 보여 드리지 않습니다.";
    endpoint_status: "Status", "상태";
    enabled: "Enabled", "켜짐";
    disabled: "Disabled", "꺼짐";
    enable: "Enable", "켜기";
    disable: "Disable", "끄기";
    save_changes: "Save changes", "변경 저장";
    rotate_secret: "Rotate secret", "비밀 값 교체";
    overlap_hours: "Old secret keeps signing for (hours)", "기존 비밀 값 서명 유지 (시간)";
    previous_secret_until: "The previous secret also signs until", "이전 비밀 값도 서명하는 기한:";
    resend_one: "Resend one event", "이벤트 하나 다시 보내기";
    event_id: "Event id", "이벤트 ID";
    resend: "Resend", "다시 보내기";
    resend_failed: "Resend everything that failed since", "이후 실패한 모든 전송 다시 보내기";
    since: "Since", "시작 시각";
    delivery_log: "Delivery log", "전송 기록";
    attempt: "Attempt", "시도";
    answer: "Answer", "응답";
    error: "Error", "오류";
    no_attempts: "No attempts yet.", "아직 시도가 없습니다.";
    resent_notice: "Queued: it goes out within seconds.", "대기열에 넣었습니다. 몇 초 안에 보냅니다.";
    requeued_notice: "Failed deliveries queued again:", "다시 대기열에 넣은 실패 전송:";
    disabled_reason_label: "Why", "사유";
    event_type: "Type", "유형";
    any_type: "Any type", "모든 유형";
    no_events: "No events match.", "조건에 맞는 이벤트가 없습니다.";
    payload: "Payload", "내용";
    sequence: "Sequence", "순번";
    back_to_events: "All events", "모든 이벤트";
    back_to_webhooks: "All endpoints", "모든 엔드포인트";
}

/// The words for the codes pages show (statuses, roles): (code, English, Korean). A code not
/// here is shown as it is.
const LABELS: &[(&str, &str, &str)] = &[
    ("pending", "Pending", "대기"),
    ("succeeded", "Succeeded", "성공"),
    ("failed", "Failed", "실패"),
    ("requires_action", "Waiting for the customer", "고객 승인 대기"),
    ("processing", "Processing", "처리 중"),
    ("requires_confirmation", "Waiting for confirmation", "확정 대기"),
    ("partially_refunded", "Partially refunded", "부분 환불"),
    ("refunded", "Refunded", "환불됨"),
    ("canceled", "Canceled", "취소됨"),
    ("expired", "Expired", "만료됨"),
    ("owner", "Owner", "소유자"),
    ("admin", "Admin", "관리자"),
    ("developer", "Developer", "개발자"),
    ("analyst", "Analyst", "분석가"),
    ("support", "Support", "고객 지원"),
];

/// `code` in words, in `lang`.
pub fn label(lang: Lang, code: &str) -> String {
    match LABELS.iter().find(|(c, _, _)| *c == code) {
        Some((_, en, ko)) => match lang {
            Lang::En => (*en).to_owned(),
            Lang::Ko => (*ko).to_owned(),
        },
        None => code.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_and_role_has_words_in_both_languages() {
        use gateway::domain::intent::IntentStatus;
        for status in IntentStatus::ALL {
            assert_ne!(label(Lang::Ko, status.as_str()), status.as_str(), "{status:?}");
        }
        for role in crate::domain::Role::ALL {
            assert_ne!(label(Lang::Ko, role.as_str()), role.as_str());
            assert_ne!(label(Lang::En, role.as_str()), role.as_str());
        }
        assert_eq!(label(Lang::Ko, "succeeded"), "성공");
        assert_eq!(label(Lang::En, "no_such_code"), "no_such_code");
    }

    #[test]
    fn accept_language_picks_korean_and_a_cookie_overrides_it() {
        let mut headers = HeaderMap::new();
        assert_eq!(lang_of_request(&headers), Lang::En);
        headers.insert(header::ACCEPT_LANGUAGE, "ko-KR,ko;q=0.9,en;q=0.8".parse().unwrap());
        assert_eq!(lang_of_request(&headers), Lang::Ko);
        headers.insert(header::COOKIE, "paygate_lang=en".parse().unwrap());
        assert_eq!(lang_of_request(&headers), Lang::En);
    }

    #[test]
    fn the_theme_toggle_goes_dark_from_the_system_choice_and_back_to_light() {
        assert_eq!(Theme::System.toggled(), Theme::Dark);
        assert_eq!(Theme::Dark.toggled(), Theme::Light);
        assert_eq!(Theme::parse("dark"), Some(Theme::Dark));
        assert_eq!(Theme::parse("sepia"), None);
    }
}

tokio::task_local! {
    /// The request's choices, for every page it renders (set by [`scope`]).
    static SHELL: Shell;
}

/// What every page shares: the strings, the language and the switch to the other, the colours
/// and the toggle, and where the request was (to come back after a switch).
#[derive(Debug, Clone)]
pub struct Shell {
    pub t: &'static Texts,
    pub lang: &'static str,
    pub other_lang: &'static str,
    pub other_lang_name: &'static str,
    pub theme: &'static str,
    pub toggled_theme: &'static str,
    pub theme_toggle_label: &'static str,
    /// The request's path and query, URL-encoded, for `back=`.
    pub here: String,
    pub locale: gateway::domain::money::Locale,
}

impl Shell {
    pub fn new(prefs: Prefs, here: &str) -> Self {
        let toggled = prefs.theme.toggled();
        Shell {
            t: prefs.t,
            lang: prefs.lang.code(),
            other_lang: prefs.lang.other().code(),
            other_lang_name: prefs.lang.other().own_name(),
            theme: prefs.theme.code(),
            toggled_theme: toggled.code(),
            theme_toggle_label: if toggled == Theme::Dark { prefs.t.theme_dark } else { prefs.t.theme_light },
            here: url::form_urlencoded::byte_serialize(here.as_bytes()).collect(),
            locale: prefs.lang.locale(),
        }
    }

    /// The shell of the request being served (English and the system's colours outside one).
    pub fn current() -> Self {
        SHELL.try_with(Shell::clone).unwrap_or_else(|_| Shell::new(Prefs { lang: Lang::En, theme: Theme::System, t: &EN }, "/dashboard"))
    }

    pub fn lang(&self) -> Lang {
        Lang::parse(self.lang).unwrap_or(Lang::En)
    }
}

/// Serves the request inside its shell (language, theme, path).
pub async fn scope(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let prefs = Prefs::of_request(req.headers());
    let here = req.extensions().get::<axum::extract::OriginalUri>().map_or_else(|| req.uri().to_string(), |o| o.0.to_string());
    SHELL.scope(Shell::new(prefs, &here), next.run(req)).await
}
