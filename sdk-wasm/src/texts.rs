//! The checkout's words, in Korean and English.

use paygate_wire::checkout::{Outcome, Step};
use paygate_wire::money::Locale;
pub struct Texts {
    pub lang: &'static str,
    pub title: &'static str,
    pub scan_hint: &'static str,
    /// Before the link, for people who cannot scan.
    pub link_hint: &'static str,
    /// On a phone, before the https link (the pay button opens the app).
    pub link_hint_phone: &'static str,
    /// On a phone, while the payment waits (there is nothing to scan).
    pub waiting_for_approval: &'static str,
    pub copy: &'static str,
    pub copied: &'static str,
    pub expires_in: &'static str,
    /// The QR image's text alternative; the link follows it.
    pub qr_alt: &'static str,
    pub pay_in_app: &'static str,
    pub mobile_hint: &'static str,
    pub reconnecting: &'static str,
    pub waiting_for_scan: &'static str,
    pub scanned: &'static str,
    pub processing: &'static str,
    pub confirming: &'static str,
    pub succeeded: &'static str,
    pub requires_confirmation: &'static str,
    pub failed: &'static str,
    pub canceled: &'static str,
    pub expired: &'static str,
}

const KO: Texts = Texts {
    lang: "ko",
    title: "휴대폰으로 결제",
    scan_hint: "휴대폰 카메라로 QR 코드를 스캔하세요.",
    link_hint: "스캔할 수 없다면 휴대폰에서 이 링크를 여세요:",
    link_hint_phone: "앱이 열리지 않으면 이 링크를 여세요:",
    waiting_for_approval: "결제 승인을 기다리는 중",
    copy: "링크 복사",
    copied: "복사했습니다",
    expires_in: "남은 시간",
    qr_alt: "결제 링크의 QR 코드",
    pay_in_app: "앱에서 결제하기",
    mobile_hint: "지갑 앱이 열리면 결제를 승인하세요.",
    reconnecting: "연결을 다시 시도하는 중…",
    waiting_for_scan: "QR 코드 스캔을 기다리는 중",
    scanned: "휴대폰에서 열었습니다",
    processing: "승인하는 중…",
    confirming: "상점에서 결제를 확정하는 중…",
    succeeded: "결제 완료",
    requires_confirmation: "승인되었습니다. 상점의 확정을 기다립니다.",
    failed: "결제가 완료되지 않았습니다",
    canceled: "결제가 취소되었습니다",
    expired: "결제 시간이 만료되었습니다",
};

const EN: Texts = Texts {
    lang: "en",
    title: "Pay with your phone",
    scan_hint: "Scan the QR code with your phone's camera.",
    link_hint: "Can't scan? Open this link on your phone:",
    link_hint_phone: "App not opening? Open this link:",
    waiting_for_approval: "Waiting for your approval",
    copy: "Copy link",
    copied: "Copied",
    expires_in: "Time left",
    qr_alt: "QR code of the payment link",
    pay_in_app: "Pay in the app",
    mobile_hint: "Approve the payment when your wallet app opens.",
    reconnecting: "Reconnecting…",
    waiting_for_scan: "Waiting for a scan",
    scanned: "Opened on your phone",
    processing: "Approving…",
    confirming: "The shop is confirming your payment…",
    succeeded: "Payment complete",
    requires_confirmation: "Approved. Waiting for the shop to confirm.",
    failed: "Payment not completed",
    canceled: "Payment canceled",
    expired: "This code has expired",
};

impl Texts {
    pub fn of(locale: Locale) -> &'static Texts {
        match locale {
            Locale::Ko => &KO,
            Locale::En => &EN,
        }
    }

    pub fn to_json(&self) -> String {
        crate::json::Object::new()
            .str("lang", self.lang)
            .str("title", self.title)
            .str("scan_hint", self.scan_hint)
            .str("link_hint", self.link_hint)
            .str("link_hint_phone", self.link_hint_phone)
            .str("waiting_for_approval", self.waiting_for_approval)
            .str("copy", self.copy)
            .str("copied", self.copied)
            .str("expires_in", self.expires_in)
            .str("qr_alt", self.qr_alt)
            .str("pay_in_app", self.pay_in_app)
            .str("mobile_hint", self.mobile_hint)
            .str("reconnecting", self.reconnecting)
            .finish()
    }

    /// The status line for a step.
    pub fn step(&self, step: Step) -> &'static str {
        match step {
            Step::WaitingForScan => self.waiting_for_scan,
            Step::Scanned => self.scanned,
            Step::Processing => self.processing,
            Step::Confirming => self.confirming,
            Step::Ended(Outcome::Succeeded) => self.succeeded,
            Step::Ended(Outcome::RequiresConfirmation) => self.requires_confirmation,
            Step::Ended(Outcome::Failed) => self.failed,
            Step::Ended(Outcome::Canceled) => self.canceled,
            Step::Ended(Outcome::Expired) => self.expired,
        }
    }
}
