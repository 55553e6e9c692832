//! The two languages the people-facing pages speak (the approval page, the wallet, the back
//! office): their codes and names, how amounts are written in each, and which one a browser's
//! Accept-Language header prefers.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ko,
    En,
}

impl Lang {
    /// How amounts are written in this language.
    pub fn locale(self) -> crate::domain::money::Locale {
        match self {
            Lang::Ko => crate::domain::money::Locale::Ko,
            Lang::En => crate::domain::money::Locale::En,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Ko => "ko",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "ko" => Some(Lang::Ko),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn other(self) -> Self {
        match self {
            Lang::Ko => Lang::En,
            Lang::En => Lang::Ko,
        }
    }

    /// The language's name in itself, for the switch.
    pub fn own_name(self) -> &'static str {
        match self {
            Lang::Ko => "한국어",
            Lang::En => "English",
        }
    }
}

/// Korean when `ko` ranks above `en` (by q-value, then by position); English otherwise.
pub fn from_accept_language(header: &str) -> Lang {
    // (q in thousandths, position) of the best-ranked range of each language.
    let mut best: [Option<(u16, usize)>; 2] = [None, None];
    for (position, item) in header.split(',').enumerate() {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
        let slot = match primary.as_str() {
            "ko" => 0,
            "en" => 1,
            _ => continue,
        };
        let q = parts.find_map(|p| p.trim().strip_prefix("q=").map(parse_q)).unwrap_or(Some(1000));
        let Some(q) = q.filter(|q| *q > 0) else { continue };
        let ranks_higher = |(bq, bp): (u16, usize)| q > bq || (q == bq && position < bp);
        if best[slot].is_none_or(ranks_higher) {
            best[slot] = Some((q, position));
        }
    }
    match (best[0], best[1]) {
        (Some(_), None) => Lang::Ko,
        (Some((kq, kp)), Some((eq, ep))) if kq > eq || (kq == eq && kp < ep) => Lang::Ko,
        _ => Lang::En,
    }
}

/// A q-value (`0`, `0.8`, `1.000`) in thousandths; `None` when malformed.
fn parse_q(text: &str) -> Option<u16> {
    let value: f32 = text.trim().parse().ok()?;
    (0.0..=1.0).contains(&value).then(|| (value * 1000.0).round() as u16)
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn korean_wins_only_when_it_ranks_above_english() {
        assert_eq!(from_accept_language("ko-KR,ko;q=0.9,en;q=0.8"), Lang::Ko);
        assert_eq!(from_accept_language("en-US,en;q=0.9,ko;q=0.8"), Lang::En);
        assert_eq!(from_accept_language("en;q=0.5, ko;q=0.7"), Lang::Ko);
        assert_eq!(from_accept_language("ko, en"), Lang::Ko);
        assert_eq!(from_accept_language("en, ko"), Lang::En);
        assert_eq!(from_accept_language("ko;q=0, en;q=0.1"), Lang::En);
        assert_eq!(from_accept_language("fr-FR, ko;q=0.2"), Lang::Ko);
        assert_eq!(from_accept_language("fr-FR"), Lang::En);
        assert_eq!(from_accept_language(""), Lang::En);
        assert_eq!(from_accept_language("ko;q=banana, en;q=0.1"), Lang::En);
    }
}
