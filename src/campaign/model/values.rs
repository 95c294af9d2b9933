//! The scalar values the file writes as text: durations, instants and times of day, with
//! their parsing, serde and JSON Schema.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written `30s`, `90m`, `12h`, `3d` (or a whole number of seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(std::time::Duration);

impl HumanDuration {
    pub const fn from_secs(secs: u64) -> Self {
        HumanDuration(std::time::Duration::from_secs(secs))
    }

    pub fn as_secs(&self) -> u64 {
        self.0.as_secs()
    }

    pub fn get(&self) -> std::time::Duration {
        self.0
    }

    /// Parses `30s`, `90m`, `12h`, `3d`, `250ms` or a bare number of seconds.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let digits = text.chars().take_while(char::is_ascii_digit).count();
        let (number, unit) = text.split_at(digits);
        let number: u64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not a duration"))?;
        let millis_per_unit: u64 = match unit {
            "" | "s" => 1_000,
            "ms" => 1,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(format!("`{text}` has an unknown unit `{unit}`")),
        };
        number
            .checked_mul(millis_per_unit)
            .map(|ms| HumanDuration(std::time::Duration::from_millis(ms)))
            .ok_or_else(|| format!("`{text}` is too long"))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        for (unit, size) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
        ] {
            if ms != 0 && ms.is_multiple_of(size) {
                return write!(f, "{}{unit}", ms / size);
            }
        }
        if ms == 0 {
            f.write_str("0s")
        } else {
            write!(f, "{ms}ms")
        }
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => n
                .as_u64()
                .map(HumanDuration::from_secs)
                .ok_or_else(|| serde::de::Error::custom("a duration must not be negative")),
            serde_json::Value::String(s) => {
                HumanDuration::parse(&s).map_err(serde::de::Error::custom)
            }
            other => Err(serde::de::Error::custom(format!(
                "expected a duration, found {other}"
            ))),
        }
    }
}

impl JsonSchema for HumanDuration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration: `30s`, `90m`, `12h`, `3d`, or a whole number of seconds.",
            "type": ["string", "integer"],
            "pattern": "^[0-9]+(ms|s|m|h|d)?$",
            "minimum": 0,
            "format": "duration"
        })
    }
}

/// An instant written in RFC 3339 with an offset, e.g. `2026-11-27T09:00:00+08:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub jiff::Timestamp);

impl Timestamp {
    pub fn parse(text: &str) -> Result<Self, String> {
        text.trim().parse::<jiff::Timestamp>().map(Timestamp).map_err(|e| {
            format!("`{text}` is not an RFC 3339 time with an offset (e.g. 2026-11-27T09:00:00+08:00): {e}")
        })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Serde and JSON Schema for a value the file writes as a string: written with its `Display`,
/// read with its `parse`, described by `$schema` under the name `$name`.
macro_rules! text_value {
    ($t:ty, $name:literal, $schema:tt) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                <$t>::parse(&text).map_err(serde::de::Error::custom)
            }
        }

        impl JsonSchema for $t {
            fn schema_name() -> Cow<'static, str> {
                $name.into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
}

text_value!(Timestamp, "Timestamp", {
    "description": "RFC 3339 time with an offset, e.g. `2026-11-27T09:00:00+08:00`.",
    "type": "string",
    "format": "date-time"
});

/// A time of day, `HH:MM` (24-hour clock); `24:00` is the midnight that ends a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeOfDay {
    pub hour: u8,
    pub minute: u8,
}

impl TimeOfDay {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{text}` is not a time of day: write HH:MM, e.g. 09:00 or 21:30 (24:00 for the \
                 midnight that ends a day)"
            )
        };
        let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let hour: u8 = h.parse().map_err(|_| bad())?;
        let minute: u8 = m.parse().map_err(|_| bad())?;
        if (hour > 23 || minute > 59) && (hour, minute) != (24, 0) {
            return Err(bad());
        }
        Ok(TimeOfDay { hour, minute })
    }

    /// Minutes since midnight; `24:00` is 1440.
    pub fn minutes(&self) -> u32 {
        u32::from(self.hour) * 60 + u32::from(self.minute)
    }

    /// Whether this is `24:00`, the end of a day.
    pub fn is_end_of_day(&self) -> bool {
        self.minutes() == 24 * 60
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

text_value!(TimeOfDay, "TimeOfDay", {
    "description": "A time of day, `HH:MM` on a 24-hour clock; `24:00` (only as `to`) is the midnight that ends the day.",
    "type": "string",
    "pattern": "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
    "format": "time-of-day"
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_the_units_users_write() {
        assert_eq!(HumanDuration::parse("30s").unwrap().as_secs(), 30);
        assert_eq!(HumanDuration::parse("90m").unwrap().as_secs(), 5400);
        assert_eq!(HumanDuration::parse("3d").unwrap().as_secs(), 259_200);
        assert_eq!(HumanDuration::parse("0").unwrap().as_secs(), 0);
        assert!(HumanDuration::parse("3x").is_err());
        assert!(HumanDuration::parse("-3s").is_err());
        assert!(HumanDuration::parse("99999999999999999999d").is_err());
        assert_eq!(HumanDuration::parse("7d").unwrap().to_string(), "7d");
    }

    #[test]
    fn times_of_day_are_hh_mm() {
        assert_eq!(TimeOfDay::parse("09:05").unwrap().minutes(), 545);
        assert!(TimeOfDay::parse("9:05").is_err());
        assert!(TimeOfDay::parse("24:01").is_err());
        assert!(TimeOfDay::parse("25:00").is_err());
        let end = TimeOfDay::parse("24:00").unwrap();
        assert!(end.is_end_of_day());
        assert_eq!(end.minutes(), 1440);
    }
}
