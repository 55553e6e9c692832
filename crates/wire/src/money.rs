//! Money: integer minor units and an ISO 4217 currency whose exponent decides the formatting.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Upper bound for any single amount, in minor units. Far below `i64::MAX`, so sums of
/// captures and refunds of one intent can never overflow.
pub const MAX_AMOUNT: i64 = 999_999_999_999;

/// The currencies this gateway settles. Exhaustive on purpose: an unknown code is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Currency {
    KRW,
    USD,
    EUR,
    JPY,
    GBP,
    CNY,
    SGD,
}

impl Currency {
    /// Digits after the decimal point (ISO 4217 exponent).
    pub fn exponent(self) -> u32 {
        match self {
            Currency::KRW | Currency::JPY => 0,
            Currency::USD | Currency::EUR | Currency::GBP | Currency::CNY | Currency::SGD => 2,
        }
    }

    /// The sign shown before an amount (`₩`, `$`); `CN¥` and `S$` keep them apart from `¥` and `$`.
    pub fn symbol(self) -> &'static str {
        match self {
            Currency::KRW => "₩",
            Currency::USD => "$",
            Currency::EUR => "€",
            Currency::JPY => "¥",
            Currency::GBP => "£",
            Currency::CNY => "CN¥",
            Currency::SGD => "S$",
        }
    }

    /// `minor_units` as a person reads it in `locale`: `₩12,000`, `$12.00`; in Korean, dollars
    /// are `US$12.00` (as `Intl.NumberFormat("ko-KR")` writes them).
    pub fn format(self, minor_units: i64, locale: Locale) -> String {
        let symbol = match (locale, self) {
            (Locale::Ko, Currency::USD) => "US$",
            (Locale::Ko, Currency::JPY) => "JP¥",
            _ => self.symbol(),
        };
        self.with_symbol(minor_units, symbol)
    }

    /// `minor_units` as a person reads it: `₩12,000`, `$12.00`, `-$0.50` (English).
    pub fn display(self, minor_units: i64) -> String {
        self.format(minor_units, Locale::En)
    }

    fn with_symbol(self, minor_units: i64, symbol: &str) -> String {
        let digits = self.exponent();
        let scale = 10u64.pow(digits);
        let abs = minor_units.unsigned_abs();
        let whole = (abs / scale).to_string();
        let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        let sign = if minor_units < 0 { "-" } else { "" };
        if digits == 0 {
            format!("{sign}{symbol}{grouped}")
        } else {
            format!("{sign}{symbol}{grouped}.{:0width$}", abs % scale, width = digits as usize)
        }
    }

    /// Every supported currency, in the order the documents list them.
    pub const ALL: [Currency; 7] = [Currency::KRW, Currency::USD, Currency::EUR, Currency::JPY, Currency::GBP, Currency::CNY, Currency::SGD];

    pub fn code(self) -> &'static str {
        match self {
            Currency::KRW => "KRW",
            Currency::USD => "USD",
            Currency::EUR => "EUR",
            Currency::JPY => "JPY",
            Currency::GBP => "GBP",
            Currency::CNY => "CNY",
            Currency::SGD => "SGD",
        }
    }
}

/// The languages amounts are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Locale {
    Ko,
    #[default]
    En,
}

impl Locale {
    /// `ko`, `ko-KR`, `en`, `en-US`, ...; anything else is English.
    pub fn parse(tag: &str) -> Self {
        if tag.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("ko")) {
            Locale::Ko
        } else {
            Locale::En
        }
    }
}

impl FromStr for Currency {
    type Err = ();

    /// Accepts the code in either case (`krw`, `KRW`).
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.to_ascii_uppercase().as_str() {
            "KRW" => Ok(Currency::KRW),
            "USD" => Ok(Currency::USD),
            "EUR" => Ok(Currency::EUR),
            "JPY" => Ok(Currency::JPY),
            "GBP" => Ok(Currency::GBP),
            "CNY" => Ok(Currency::CNY),
            "SGD" => Ok(Currency::SGD),
            _ => Err(()),
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A positive amount in minor units, at most [`MAX_AMOUNT`]. Cannot be built otherwise: on the
/// wire it is a plain integer, and reading one out of range fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Amount(i64);

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Amount {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(1))
            .maximum(Some(MAX_AMOUNT))
            .description(Some("A positive amount in the currency's minor unit (KRW 12000 = ₩12,000; USD 1200 = $12.00)."))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Amount {}

impl TryFrom<i64> for Amount {
    type Error = AmountError;
    fn try_from(minor_units: i64) -> Result<Self, AmountError> {
        Amount::parse(minor_units)
    }
}

impl From<Amount> for i64 {
    fn from(a: Amount) -> i64 {
        a.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount must be a positive integer in the currency's minor unit")]
    NotPositive,
    #[error("amount must be at most {MAX_AMOUNT} minor units")]
    TooLarge,
}

impl Amount {
    pub fn parse(minor_units: i64) -> Result<Self, AmountError> {
        if minor_units <= 0 {
            Err(AmountError::NotPositive)
        } else if minor_units > MAX_AMOUNT {
            Err(AmountError::TooLarge)
        } else {
            Ok(Self(minor_units))
        }
    }

    pub fn minor_units(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_must_be_positive_and_bounded() {
        assert_eq!(Amount::parse(0), Err(AmountError::NotPositive));
        assert_eq!(Amount::parse(-5), Err(AmountError::NotPositive));
        assert_eq!(Amount::parse(MAX_AMOUNT + 1), Err(AmountError::TooLarge));
        assert_eq!(Amount::parse(12_000).map(Amount::minor_units), Ok(12_000));
    }

    #[test]
    fn amounts_display_in_their_currencys_own_format() {
        assert_eq!(Currency::KRW.display(12_000), "₩12,000");
        assert_eq!(Currency::USD.display(1_200), "$12.00");
        assert_eq!(Currency::USD.display(5), "$0.05");
        assert_eq!(Currency::USD.display(123_456_789), "$1,234,567.89");
        assert_eq!(Currency::JPY.display(999), "¥999");
        assert_eq!(Currency::KRW.display(1_000_000), "₩1,000,000");
        assert_eq!(Currency::EUR.display(-50), "-€0.50");
        assert_eq!(Currency::KRW.display(0), "₩0");
    }

    #[test]
    fn amounts_are_written_the_way_each_locale_writes_them() {
        assert_eq!(Currency::KRW.format(12_000, Locale::Ko), "₩12,000");
        assert_eq!(Currency::KRW.format(12_000, Locale::En), "₩12,000");
        assert_eq!(Currency::USD.format(1_200, Locale::En), "$12.00");
        assert_eq!(Currency::USD.format(1_200, Locale::Ko), "US$12.00");
        assert_eq!(Currency::JPY.format(500, Locale::Ko), "JP¥500");
        assert_eq!(Locale::parse("ko-KR"), Locale::Ko);
        assert_eq!(Locale::parse("en-GB"), Locale::En);
        assert_eq!(Locale::parse("x"), Locale::En);
    }

    #[test]
    fn an_amount_out_of_range_does_not_read_off_the_wire() {
        assert_eq!(serde_json::from_str::<Amount>("1200").map(Amount::minor_units).ok(), Some(1200));
        assert!(serde_json::from_str::<Amount>("0").is_err());
        assert!(serde_json::from_str::<Amount>("1000000000000").is_err());
        assert_eq!(serde_json::to_string(&Amount::parse(5).unwrap()).unwrap(), "5");
    }

    #[test]
    fn currency_codes_parse_in_either_case_and_know_their_exponent() {
        assert_eq!("krw".parse::<Currency>(), Ok(Currency::KRW));
        assert_eq!(Currency::KRW.exponent(), 0);
        assert_eq!(Currency::USD.exponent(), 2);
        assert!("ZZZ".parse::<Currency>().is_err());
    }
}
