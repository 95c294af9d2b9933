//! The helpers campaign copy can call: defaults, case, truncation, numbers, dates and JSON.

use handlebars::{Handlebars, JsonValue, handlebars_helper};

handlebars_helper!(DefaultHelper: |value: Json, fallback: Json| {
    let empty = match value {
        JsonValue::Null => true,
        JsonValue::String(s) => s.trim().is_empty(),
        _ => false,
    };
    if empty { fallback.clone() } else { value.clone() }
});
handlebars_helper!(UpperHelper: |s: str| s.to_uppercase());
handlebars_helper!(LowerHelper: |s: str| s.to_lowercase());
handlebars_helper!(TruncateHelper: |s: str, max: u64, {suffix: str = "…"}| {
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let keep = max.saturating_sub(suffix.chars().count());
        let mut out: String = s.chars().take(keep).collect();
        out.push_str(suffix);
        out
    }
});
handlebars_helper!(NumberHelper: |value: Json, {decimals: u64 = 0, separator: str = ","}| {
    format_number(value, usize::try_from(decimals).unwrap_or(0).min(12), separator)
});
handlebars_helper!(DateHelper: |value: Json, {format: str = "%Y-%m-%d", tz: str = "UTC"}| {
    format_date(value, format, tz)
});
handlebars_helper!(JsonHelper: |value: Json| value.to_string());

/// A registry with the campaign helpers, strict mode on, escaping off.
pub(crate) fn registry() -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    hb.register_helper("default", Box::new(DefaultHelper));
    hb.register_helper("upper", Box::new(UpperHelper));
    hb.register_helper("lower", Box::new(LowerHelper));
    hb.register_helper("truncate", Box::new(TruncateHelper));
    hb.register_helper("number", Box::new(NumberHelper));
    hb.register_helper("date", Box::new(DateHelper));
    hb.register_helper("json", Box::new(JsonHelper));
    hb
}

/// `1234567.891` with 2 decimals -> `1,234,567.89`; text that is not a number is left as it is.
fn format_number(value: &JsonValue, decimals: usize, separator: &str) -> String {
    let number = match value {
        JsonValue::Number(n) => n.as_f64(),
        JsonValue::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    let Some(number) = number.filter(|n| n.is_finite()) else {
        return match value {
            JsonValue::String(s) => s.clone(),
            other => other.to_string(),
        };
    };
    let fixed = format!("{:.*}", decimals, number.abs());
    let (whole, fraction) = fixed.split_once('.').unwrap_or((&fixed, ""));
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push_str(separator);
        }
        grouped.push(digit);
    }
    let sign = if number < 0.0 && fixed.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    if fraction.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{fraction}")
    }
}

/// Formats an RFC 3339 time, a `YYYY-MM-DD` date or unix seconds with strftime codes.
fn format_date(value: &JsonValue, format: &str, tz: &str) -> String {
    let zone = jiff::tz::TimeZone::get(tz).unwrap_or(jiff::tz::TimeZone::UTC);
    let zoned = match value {
        JsonValue::Number(n) => n
            .as_i64()
            .and_then(|s| jiff::Timestamp::from_second(s).ok())
            .map(|t| t.to_zoned_datetime(zone)),
        JsonValue::String(s) => {
            let s = s.trim();
            s.parse::<jiff::Timestamp>()
                .map(|t| t.to_zoned_datetime(zone.clone()))
                .ok()
                .or_else(|| {
                    s.parse::<jiff::civil::Date>()
                        .ok()
                        .and_then(|d| d.to_zoned_datetime(zone).ok())
                })
        }
        _ => None,
    };
    match zoned {
        Some(z) => jiff::fmt::strtime::format(format, &z).unwrap_or_else(|_| z.to_string()),
        None => match value {
            JsonValue::String(s) => s.clone(),
            other => other.to_string(),
        },
    }
}
