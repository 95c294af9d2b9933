//! Time zones as campaigns write them: an IANA name (`Asia/Shanghai`, `UTC`) or a fixed UTC
//! offset (`+08:00`, `-05:30`, `UTC+8`), with a "did you mean" for names that are nearly right.
//!
//! One parser for every place a zone is written (the window's zone, the recipients' column,
//! the `date` helper's `tz=`), so that what `plan` accepts is what `apply` schedules with.

use jiff::tz::{Offset, TimeZone};

/// A zone that is neither a known IANA name nor a UTC offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a known time zone{}", suggestion_text(.suggestion))]
pub(crate) struct UnknownZone {
    /// The text as written, cut short when long.
    pub text: String,
    /// The closest IANA name, when one is close enough to be a likely typo.
    pub suggestion: Option<String>,
}

fn suggestion_text(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map_or_else(String::new, |s| format!("; did you mean `{s}`?"))
}

/// What to write instead, for help texts.
pub(crate) const ZONE_FORMS: &str =
    "an IANA name such as Asia/Shanghai, Europe/Berlin or UTC, or a UTC offset such as +08:00";

/// The zone `text` names; surrounding spaces are ignored.
pub(crate) fn parse(text: &str) -> Result<TimeZone, UnknownZone> {
    let text = text.trim();
    if let Some(seconds) = offset_seconds(text) {
        return fixed(seconds).ok_or_else(|| unknown(text));
    }
    TimeZone::get(text).map_err(|_| unknown(text))
}

fn unknown(text: &str) -> UnknownZone {
    const SHOWN_CHARS: usize = 40;
    let mut shown: String = text.chars().take(SHOWN_CHARS).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    UnknownZone {
        text: shown,
        suggestion: suggest(text),
    }
}

/// `+08:00`, `-0530`, `+8`, `UTC+08:00`, `GMT-5`: seconds east of UTC. `None` when `text` is
/// not written as an offset at all (it may still be a name, e.g. `Etc/GMT+8`).
fn offset_seconds(text: &str) -> Option<i32> {
    let upper = text.to_ascii_uppercase();
    let rest = upper
        .strip_prefix("UTC")
        .or_else(|| upper.strip_prefix("GMT"))
        .unwrap_or(&upper);
    let (sign, digits) = match rest.as_bytes().first()? {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        _ => return None,
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (hours, minutes) = match digits.split_once(':') {
        Some((h, m)) => (h, m),
        // All ASCII digits, so splitting by bytes cannot cut a character.
        None if all_digits(digits) && digits.len() > 2 => digits.split_at(digits.len() - 2),
        None => (digits, "00"),
    };
    if !all_digits(hours) || hours.len() > 2 || minutes.len() != 2 || !all_digits(minutes) {
        return None;
    }
    let (hours, minutes): (i32, i32) = (hours.parse().ok()?, minutes.parse().ok()?);
    // Real offsets run from -12:00 to +14:00; ISO 8601 allows up to 18 hours.
    (hours <= 18 && minutes < 60).then_some(sign * (hours * 3600 + minutes * 60))
}

fn fixed(seconds: i32) -> Option<TimeZone> {
    Offset::from_seconds(seconds).ok().map(TimeZone::fixed)
}

/// What to call `zone` in messages and what tells zones apart: its IANA name, or its offset
/// (`+08:00`) for a fixed one, which has no name.
pub(crate) fn name(zone: &TimeZone) -> String {
    if let Some(name) = zone.iana_name() {
        return name.to_owned();
    }
    let seconds = zone.to_fixed_offset().map_or(0, |offset| offset.seconds());
    let sign = if seconds < 0 { '-' } else { '+' };
    let (hours, minutes) = (seconds.abs() / 3600, seconds.abs() % 3600 / 60);
    format!("{sign}{hours:02}:{minutes:02}")
}

/// The IANA name closest to `text`, compared without case against whole names and against
/// their last part (`Shanghai`), when it is close enough to be a typo.
pub(crate) fn suggest(text: &str) -> Option<String> {
    let word = text.trim().to_lowercase();
    // No zone name is this long: it is some other data, and comparing it would be slow.
    if word.len() > 64 {
        return None;
    }
    // Short words are abbreviations (`IST`, `CST`): one letter off is another zone entirely.
    let limit = word.chars().count() / 4;
    let db = jiff::tz::db();
    let mut best: Option<(usize, String)> = None;
    for name in db.available() {
        let name = name.as_str();
        let lower = name.to_lowercase();
        let city = lower.rsplit('/').next().unwrap_or(&lower);
        let distance = strsim::osa_distance(&word, &lower).min(strsim::osa_distance(&word, city));
        if distance <= limit && best.as_ref().is_none_or(|(d, _)| distance < *d) {
            best = Some((distance, name.to_owned()));
        }
    }
    best.map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_offsets_are_zones() {
        assert_eq!(
            parse("Asia/Shanghai").unwrap().iana_name(),
            Some("Asia/Shanghai")
        );
        assert_eq!(parse(" utc ").unwrap().iana_name(), Some("UTC"));
        let at = "2026-11-27T12:00:00Z".parse::<jiff::Timestamp>().unwrap();
        for (text, name, hours_minutes) in [
            ("+08:00", "+08:00", (8, 0)),
            ("-05:30", "-05:30", (-5, -30)),
            ("+0545", "+05:45", (5, 45)),
            ("UTC+8", "+08:00", (8, 0)),
            ("gmt-3", "-03:00", (-3, 0)),
        ] {
            let zone = parse(text).unwrap();
            assert_eq!(super::name(&zone), name, "{text}");
            let seconds = hours_minutes.0 * 3600 + hours_minutes.1 * 60;
            assert_eq!(zone.to_offset(at).seconds(), seconds, "{text}");
        }
        // An IANA name that looks like an offset keeps its (inverted) IANA meaning.
        assert_eq!(
            parse("Etc/GMT-8").unwrap().to_offset(at).seconds(),
            8 * 3600
        );
    }

    #[test]
    fn unknown_zones_suggest_the_name_meant() {
        let err = parse("Asia/Shangai").unwrap_err();
        assert_eq!(err.suggestion.as_deref(), Some("Asia/Shanghai"));
        assert_eq!(
            err.to_string(),
            "`Asia/Shangai` is not a known time zone; did you mean `Asia/Shanghai`?"
        );
        assert_eq!(suggest("shanghai").as_deref(), Some("Asia/Shanghai"));
        assert_eq!(
            suggest("America/New York").as_deref(),
            Some("America/New_York")
        );
        assert_eq!(parse("Mars/Olympus").unwrap_err().suggestion, None);
        assert_eq!(suggest("IST"), None);
        for bad in ["+25:00", "+08:75", "+", "8:00", "+08:0", "+é1", "+123456"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
