//! Time on the wire: milliseconds since the Unix epoch inside, RFC 3339 text outside.

/// Milliseconds since the Unix epoch; the unit every stored timestamp uses.
pub type Millis = i64;

/// RFC 3339 text for a stored timestamp, as the API shows it: `2026-12-02T04:36:10.312Z` (UTC,
/// milliseconds). Years 0 to 9999.
pub fn to_rfc3339(ms: Millis) -> String {
    let ms = ms.clamp(MIN_MILLIS, MAX_MILLIS);
    let days = ms.div_euclid(DAY_MS);
    let in_day = ms.rem_euclid(DAY_MS);
    let (y, m, d) = civil_from_days(days);
    let (h, min, sec, milli) = (in_day / 3_600_000, in_day / 60_000 % 60, in_day / 1000 % 60, in_day % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{sec:02}.{milli:03}Z")
}

/// Reads the RFC 3339 text the API writes (any offset, any number of fraction digits, which are
/// cut to milliseconds): how the SDK and the server read timestamps back. The gateway reads
/// query parameters with its own, more lenient parser.
pub fn parse_rfc3339(text: &str) -> Option<Millis> {
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
    };
    let (y, m, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let (h, min, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) || h > 23 || min > 59 || sec > 59 {
        return None;
    }
    let mut i = 19;
    let mut milli = 0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        // The first three digits, padded: `.5` is 500 ms.
        milli = (0..3).fold(0, |n, k| n * 10 + b.get(start + k).filter(|_| start + k < i).map_or(0, |c| i64::from(c - b'0')));
    }
    let offset_minutes = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            if *sign == b'+' { oh * 60 + om } else { -(oh * 60 + om) }
        }
        _ => return None,
    };
    let days = days_from_civil(y, m, d);
    Some(days * DAY_MS + h * 3_600_000 + min * 60_000 + sec * 1000 + milli - offset_minutes * 60_000)
}

/// Milliseconds left as `mm:ss`, rounded up (a payment never shows 00:00 while it can still be
/// approved); the approval page and the SDK's countdown.
pub fn mm_ss(ms: Millis) -> String {
    let secs = (ms.max(0) + 999) / 1000;
    format!("{:02}:{:02}", secs / 60, secs % 60)
}

const DAY_MS: i64 = 86_400_000;
/// 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z.
const MIN_MILLIS: i64 = -62_167_219_200_000;
const MAX_MILLIS: i64 = 253_402_300_799_999;

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { era * 400 + yoe + 1 } else { era * 400 + yoe }, m, d)
}

/// Serde for stored timestamps shown as RFC 3339 text.
pub mod rfc3339 {
    use super::Millis;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::to_rfc3339(*ms))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Millis, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_rfc3339(&text).ok_or_else(|| D::Error::custom("expected an RFC 3339 time"))
    }

    pub mod option {
        use super::super::Millis;
        use serde::{de::Error, Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(ms: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
            match ms {
                Some(ms) => s.serialize_str(&super::super::to_rfc3339(*ms)),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Millis>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|t| {
                    super::super::parse_rfc3339(&t)
                        .ok_or_else(|| D::Error::custom("expected an RFC 3339 time"))
                })
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{mm_ss, parse_rfc3339, to_rfc3339};
    use proptest::prelude::*;

    fn chrono_text(ms: i64) -> String {
        chrono::DateTime::from_timestamp_millis(ms).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }

    proptest! {
        #[test]
        fn timestamps_are_written_exactly_as_chrono_writes_them(ms in -62_167_219_200_000i64..253_402_300_799_999) {
            prop_assert_eq!(to_rfc3339(ms), chrono_text(ms));
            prop_assert_eq!(parse_rfc3339(&to_rfc3339(ms)), Some(ms));
        }

        #[test]
        fn rfc_3339_text_with_any_offset_reads_as_chrono_reads_it(
            ms in 0i64..4_102_444_800_000, offset in -1439i32..1440, digits in 0usize..10, sep in prop::sample::select(vec!['T', 't', ' ']),
        ) {
            let zone = chrono::FixedOffset::east_opt(offset * 60).unwrap();
            let at = chrono::DateTime::from_timestamp_millis(ms).unwrap().with_timezone(&zone);
            let mut text = at.format("%Y-%m-%dT%H:%M:%S").to_string().replace('T', &sep.to_string());
            if digits > 0 {
                text.push('.');
                text.push_str(&format!("{:09}", at.timestamp_subsec_nanos())[..digits]);
            }
            text.push_str(&at.format("%:z").to_string());
            let expected = chrono::DateTime::parse_from_rfc3339(&text).ok().map(|t| t.timestamp_millis());
            prop_assert_eq!(parse_rfc3339(&text), expected, "{}", text);
        }
    }

    #[test]
    fn malformed_times_are_refused() {
        for bad in ["", "2026-12-02", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-12-02T24:00:00Z", "2026-12-02T00:00:00",
                    "2026-12-02T00:00:00.Z", "2026-12-02T00:00:00+0900", "2026-12-02T00:00:00Zjunk", "２026-12-02T00:00:00Z"] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        assert_eq!(parse_rfc3339("2024-02-29T12:00:00.5+09:00"), Some(1_709_175_600_500));
    }

    #[test]
    fn time_left_rounds_up_to_the_second() {
        assert_eq!(mm_ss(15 * 60_000), "15:00");
        assert_eq!(mm_ss(61_001), "01:02");
        assert_eq!(mm_ss(1), "00:01");
        assert_eq!(mm_ss(-5), "00:00");
    }
}
