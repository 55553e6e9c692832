//! The customer pages' two languages: which one a request gets (`?lang=`, then the `lang`
//! cookie, then Accept-Language) and every string the pages and their script show.

use axum::http::{header, HeaderMap};
use serde::Serialize;

pub use gateway::lang::{from_accept_language, Lang};

/// The language of one request, and whether `?lang=` chose it (then it is remembered in a cookie).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LangChoice {
    pub lang: Lang,
    pub from_query: bool,
}

/// The customer pages' strings of a language.
pub trait Localized {
    fn texts(self) -> &'static Texts;
}

impl Localized for Lang {
    fn texts(self) -> &'static Texts {
        match self {
            Lang::Ko => &KO,
            Lang::En => &EN,
        }
    }
}

/// The language of a request: `?lang=`, else the `lang` cookie, else Accept-Language.
pub fn choose(query: Option<&str>, headers: &HeaderMap) -> LangChoice {
    if let Some(lang) = query.and_then(query_lang) {
        return LangChoice { lang, from_query: true };
    }
    let cookie = headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(cookie_lang);
    let lang = cookie.unwrap_or_else(|| from_accept_language(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("")));
    LangChoice { lang, from_query: false }
}

fn query_lang(query: &str) -> Option<Lang> {
    query.split('&').find_map(|pair| pair.strip_prefix("lang=")).and_then(Lang::parse)
}

fn cookie_lang(cookies: &str) -> Option<Lang> {
    cookies.split(';').find_map(|c| c.trim().strip_prefix("lang=")).and_then(Lang::parse)
}

/// Every string of the customer pages.
pub struct Texts {
    pub brand: &'static str,
    pub approve_title: &'static str,
    pub merchant: &'static str,
    pub order: &'static str,
    pub amount: &'static str,
    pub time_left: &'static str,
    pub approve: &'static str,
    pub decline: &'static str,
    pub sign_in_title: &'static str,
    pub sign_up_title: &'static str,
    pub identifier: &'static str,
    pub password: &'static str,
    pub sign_in: &'static str,
    pub sign_up: &'static str,
    pub to_sign_up: &'static str,
    pub to_sign_in: &'static str,
    pub pay_with: &'static str,
    pub sign_out: &'static str,
    pub noscript: &'static str,
    pub paid_title: &'static str,
    pub paid_body: &'static str,
    pub canceled_title: &'static str,
    pub canceled_body: &'static str,
    pub expired_title: &'static str,
    pub expired_body: &'static str,
    pub declined_title: &'static str,
    pub declined_body: &'static str,
    pub failed_title: &'static str,
    pub failed_body: &'static str,
    pub processing_title: &'static str,
    pub processing_body: &'static str,
    pub invalid_title: &'static str,
    pub invalid_body: &'static str,
    pub unavailable_title: &'static str,
    pub unavailable_body: &'static str,
    pub close_hint: &'static str,
    /// The link back to the merchant's page (the intent's `return_url`).
    pub return_to_merchant: &'static str,
    pub wallet_intro: &'static str,
    pub your_sources: &'static str,
    pub offline_title: &'static str,
    pub offline_body: &'static str,
    pub script: ScriptTexts,
    pub sources: SourceTexts,
}

/// The strings the page's script shows itself (rendered into a data attribute as JSON).
#[derive(Serialize)]
pub struct ScriptTexts {
    pub network_error: &'static str,
    pub session_expired: &'static str,
    pub no_sources: &'static str,
    pub choose_source: &'static str,
    pub working: &'static str,
}

/// The labels of funding sources, as the wallet API's `label` gives them.
pub struct SourceTexts {
    pub wallet: &'static str,
    pub test_mode: &'static str,
    pub card_approves: &'static str,
    pub card_declined: &'static str,
    pub card_insufficient_funds: &'static str,
    pub card_timeout: &'static str,
}

pub static KO: Texts = Texts {
    brand: "Paygate 지갑",
    approve_title: "결제 승인",
    merchant: "가맹점",
    order: "주문",
    amount: "결제 금액",
    time_left: "남은 시간",
    approve: "승인",
    decline: "거절",
    sign_in_title: "로그인하고 결제하기",
    sign_up_title: "가입하고 결제하기",
    identifier: "이메일 또는 휴대폰 번호",
    password: "비밀번호",
    sign_in: "로그인",
    sign_up: "가입하기",
    to_sign_up: "계정이 없으신가요? 가입하기",
    to_sign_in: "이미 계정이 있으신가요? 로그인",
    pay_with: "결제 수단",
    sign_out: "로그아웃",
    noscript: "이 페이지를 사용하려면 JavaScript를 켜 주세요.",
    paid_title: "결제 완료",
    paid_body: "결제가 완료되었습니다.",
    canceled_title: "결제 취소됨",
    canceled_body: "가맹점이 이 결제를 취소했습니다.",
    expired_title: "결제 시간 만료",
    expired_body: "결제 가능 시간이 지났습니다. 가맹점에서 다시 시도해 주세요.",
    declined_title: "결제 거절됨",
    declined_body: "결제를 거절하셨습니다.",
    failed_title: "결제 미완료",
    failed_body: "결제가 완료되지 않았습니다. 가맹점에서 다시 시도해 주세요.",
    processing_title: "결제 처리 중",
    processing_body: "잠시만 기다려 주세요. 이 페이지는 자동으로 새로고침됩니다.",
    invalid_title: "유효하지 않은 결제 링크입니다",
    invalid_body: "링크를 다시 확인하거나 가맹점에 새 링크를 요청해 주세요.",
    unavailable_title: "일시적인 오류",
    unavailable_body: "잠시 후 다시 시도해 주세요.",
    close_hint: "이 창을 닫아도 됩니다.",
    return_to_merchant: "상점으로 돌아가기",
    wallet_intro: "계산대의 QR 코드를 휴대폰 카메라로 스캔해 결제하세요.",
    your_sources: "내 결제 수단",
    offline_title: "오프라인 상태입니다",
    offline_body: "인터넷에 연결한 뒤 다시 시도해 주세요.",
    script: ScriptTexts {
        network_error: "네트워크 오류입니다. 다시 시도해 주세요.",
        session_expired: "다시 로그인해 주세요.",
        no_sources: "사용할 수 있는 결제 수단이 없습니다.",
        choose_source: "결제 수단을 선택해 주세요.",
        working: "처리 중…",
    },
    sources: SourceTexts {
        wallet: "지갑",
        test_mode: "테스트",
        card_approves: "테스트 Visa ···· 4242 (승인)",
        card_declined: "테스트 카드 ···· 0002 (거절)",
        card_insufficient_funds: "테스트 카드 ···· 9995 (잔액 부족)",
        card_timeout: "테스트 카드 ···· 0119 (처리 시간 초과)",
    },
};

pub static EN: Texts = Texts {
    brand: "Paygate Wallet",
    approve_title: "Approve payment",
    merchant: "Merchant",
    order: "Order",
    amount: "Amount",
    time_left: "Time left",
    approve: "Approve",
    decline: "Decline",
    sign_in_title: "Sign in to pay",
    sign_up_title: "Create an account to pay",
    identifier: "Email or phone number",
    password: "Password",
    sign_in: "Sign in",
    sign_up: "Create account",
    to_sign_up: "No account? Create one",
    to_sign_in: "Have an account? Sign in",
    pay_with: "Pay with",
    sign_out: "Sign out",
    noscript: "Turn on JavaScript to use this page.",
    paid_title: "Payment complete",
    paid_body: "Your payment was completed.",
    canceled_title: "Payment canceled",
    canceled_body: "The merchant canceled this payment.",
    expired_title: "Payment expired",
    expired_body: "The time to pay has run out. Start again at the merchant.",
    declined_title: "Payment declined",
    declined_body: "You declined this payment.",
    failed_title: "Payment not completed",
    failed_body: "The payment was not completed. Start again at the merchant.",
    processing_title: "Processing payment",
    processing_body: "Please wait. This page refreshes by itself.",
    invalid_title: "This payment link is not valid",
    invalid_body: "Check the link, or ask the merchant for a new one.",
    unavailable_title: "Something went wrong",
    unavailable_body: "Please try again in a moment.",
    close_hint: "You can close this window.",
    return_to_merchant: "Back to the shop",
    wallet_intro: "Scan the QR code at checkout with your phone's camera to pay.",
    your_sources: "Your payment methods",
    offline_title: "You are offline",
    offline_body: "Connect to the internet and try again.",
    script: ScriptTexts {
        network_error: "Network error. Please try again.",
        session_expired: "Please sign in again.",
        no_sources: "No payment methods available.",
        choose_source: "Choose a payment method.",
        working: "Working…",
    },
    sources: SourceTexts {
        wallet: "Wallet",
        test_mode: "test",
        card_approves: "Test Visa ···· 4242 (approves)",
        card_declined: "Test card ···· 0002 (declined)",
        card_insufficient_funds: "Test card ···· 9995 (insufficient funds)",
        card_timeout: "Test card ···· 0119 (processor timeout)",
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_beats_the_cookie_which_beats_the_header() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_LANGUAGE, "ko-KR".parse().unwrap());
        assert_eq!(crate::i18n::choose(None, &headers), LangChoice { lang: Lang::Ko, from_query: false });
        headers.insert(header::COOKIE, "theme=dark; lang=en".parse().unwrap());
        assert_eq!(crate::i18n::choose(None, &headers), LangChoice { lang: Lang::En, from_query: false });
        assert_eq!(crate::i18n::choose(Some("x=1&lang=ko"), &headers), LangChoice { lang: Lang::Ko, from_query: true });
        assert_eq!(crate::i18n::choose(Some("lang=fr"), &headers).lang, Lang::En);
    }
}
