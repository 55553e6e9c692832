//! Time on the wire: milliseconds since the Unix epoch inside, RFC 3339 text outside.

/// Milliseconds since the Unix epoch; the unit every stored timestamp uses.
pub type Millis = i64;

/// RFC 3339 text for a stored timestamp, as the API shows it.
pub fn to_rfc3339(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn parse_rfc3339(text: &str) -> Option<Millis> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
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
