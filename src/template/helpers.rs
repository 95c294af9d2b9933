//! The helpers campaign copy can call: defaults, case, truncation, numbers, dates and JSON,
//! and a `lookup` that says what it did not find.
//!
//! A helper refuses data it cannot use (`{{number city}}` of `Mumbai`) instead of printing
//! it as it is: the error names the helper, the value and what it expected, and the plan adds
//! the row. Only `default` accepts a value that is not there, so that it can give a fallback
//! for a `lookup` that found nothing.

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, JsonRender, JsonValue, Output,
    PathAndJson, RenderContext, RenderError, RenderErrorReason, ScopedJson,
};

/// A helper's work: the value of a call, or why it has none.
type Compute = fn(&Helper<'_>) -> Result<JsonValue, String>;

/// A helper that computes a value from its call, or says why it cannot.
struct Campaign(Compute);

impl HelperDef for Campaign {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        (self.0)(h).map(ScopedJson::Derived).map_err(failure)
    }
}

fn failure(message: String) -> RenderError {
    RenderErrorReason::Other(message).into()
}

/// A registry with the campaign helpers, strict mode on, escaping off.
pub(crate) fn registry() -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    let helpers: [(&str, Compute); 7] = [
        ("default", default),
        ("upper", |h| Ok(text(h, 0)?.to_uppercase().into())),
        ("lower", |h| Ok(text(h, 0)?.to_lowercase().into())),
        ("truncate", truncate),
        ("number", number),
        ("date", date),
        ("json", |h| Ok(present(h, 0)?.value().to_string().into())),
    ];
    for (name, helper) in helpers {
        hb.register_helper(name, Box::new(Campaign(helper)));
    }
    // Replaces Handlebars' own, whose miss in strict mode is "Failed to access variable in
    // strict mode None" and cannot be caught by `default`.
    hb.register_helper("lookup", Box::new(Lookup));
    hb
}

/// Argument `index` as given: it may have no value (a `lookup` that found nothing).
fn arg<'a, 'rc>(h: &'a Helper<'rc>, index: usize) -> Result<&'a PathAndJson<'rc>, String> {
    h.param(index).ok_or_else(|| {
        let n = index + 1;
        let s = if n == 1 { "" } else { "s" };
        format!("`{}` needs {n} argument{s}", h.name())
    })
}

/// Argument `index`, which must have a value.
fn present<'a, 'rc>(h: &'a Helper<'rc>, index: usize) -> Result<&'a PathAndJson<'rc>, String> {
    let param = arg(h, index)?;
    if param.is_value_missing() {
        let what = param
            .relative_path()
            .map_or_else(|| "its argument".to_owned(), |p| format!("`{p}`"));
        return Err(format!(
            "`{}` got no value: {what} is not there (a `lookup` that found nothing?); `default` can give a fallback",
            h.name()
        ));
    }
    Ok(param)
}

/// "`number` expected a number, got "Mumbai" (from `city`)".
fn refused(h: &Helper<'_>, param: &PathAndJson<'_>, expected: &str) -> String {
    let from = param
        .relative_path()
        .map_or_else(String::new, |p| format!(" (from `{p}`)"));
    format!(
        "`{}` expected {expected}, got {}{from}",
        h.name(),
        shown(param.value())
    )
}

/// A value as a message shows it: text quoted and escaped, anything long cut short.
fn shown(value: &JsonValue) -> String {
    const SHOWN_CHARS: usize = 40;
    let cut = |s: &str| -> String {
        let mut out: String = s.chars().take(SHOWN_CHARS).collect();
        if out.len() < s.len() {
            out.push('…');
        }
        out
    };
    match value {
        JsonValue::String(s) => JsonValue::String(cut(s)).to_string(),
        other => cut(&other.to_string()),
    }
}

/// Text, or a number or boolean written as text.
fn text(h: &Helper<'_>, index: usize) -> Result<String, String> {
    let param = present(h, index)?;
    match param.value() {
        JsonValue::String(s) => Ok(s.clone()),
        JsonValue::Number(_) | JsonValue::Bool(_) => Ok(param.value().render()),
        _ => Err(refused(h, param, "text")),
    }
}

/// A hash argument (`decimals=2`), read by `read` when it is given.
fn hash<T>(
    h: &Helper<'_>,
    key: &str,
    expected: &str,
    read: impl Fn(&JsonValue) -> Option<T>,
) -> Result<Option<T>, String> {
    let Some(param) = h.hash_get(key) else {
        return Ok(None);
    };
    read(param.value()).map(Some).ok_or_else(|| {
        format!(
            "`{}` expected {expected} for {key}=, got {}",
            h.name(),
            shown(param.value())
        )
    })
}

fn hash_text(h: &Helper<'_>, key: &str) -> Result<Option<String>, String> {
    hash(h, key, "text", |v| v.as_str().map(str::to_owned))
}

/// The value, or the fallback when the value is empty, blank or not there at all.
fn default(h: &Helper<'_>) -> Result<JsonValue, String> {
    let value = arg(h, 0)?;
    let fallback = present(h, 1)?;
    let empty = value.is_value_missing()
        || match value.value() {
            JsonValue::Null => true,
            JsonValue::String(s) => s.trim().is_empty(),
            _ => false,
        };
    Ok(if empty { fallback } else { value }.value().clone())
}

fn truncate(h: &Helper<'_>) -> Result<JsonValue, String> {
    let s = text(h, 0)?;
    let max_param = present(h, 1)?;
    let max = max_param
        .value()
        .as_u64()
        .ok_or_else(|| refused(h, max_param, "a number of characters"))?;
    let suffix = hash_text(h, "suffix")?.unwrap_or_else(|| "…".to_owned());
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    if s.chars().count() <= max {
        return Ok(s.into());
    }
    let keep = max.saturating_sub(suffix.chars().count());
    let mut out: String = s.chars().take(keep).collect();
    out.push_str(&suffix);
    Ok(out.into())
}

fn number(h: &Helper<'_>) -> Result<JsonValue, String> {
    let param = present(h, 0)?;
    let value = match param.value() {
        JsonValue::Number(n) => n.as_f64(),
        JsonValue::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    // `inf` and `NaN` parse as numbers, but no one means them.
    let value = value
        .filter(|n| n.is_finite())
        .ok_or_else(|| refused(h, param, "a number"))?;
    let decimals = hash(h, "decimals", "a whole number", JsonValue::as_u64)?.unwrap_or(0);
    let separator = hash_text(h, "separator")?.unwrap_or_else(|| ",".to_owned());
    let decimals = usize::try_from(decimals).unwrap_or(0).min(12);
    Ok(format_number(value, decimals, &separator).into())
}

/// `1234567.891` with 2 decimals -> `1,234,567.89`.
fn format_number(number: f64, decimals: usize, separator: &str) -> String {
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

const DATE_FORMS: &str = "a date or time (2026-11-27, 2026-11-27T09:00:00+08:00 or unix seconds)";

/// An RFC 3339 time, a `YYYY-MM-DD` date, a date and time in `tz`, or unix seconds, formatted
/// with strftime codes.
fn date(h: &Helper<'_>) -> Result<JsonValue, String> {
    let param = present(h, 0)?;
    let format = hash_text(h, "format")?.unwrap_or_else(|| "%Y-%m-%d".to_owned());
    let zone = match hash_text(h, "tz")? {
        None => jiff::tz::TimeZone::UTC,
        Some(tz) => {
            crate::zone::parse(&tz).map_err(|unknown| format!("`{}`: tz={unknown}", h.name()))?
        }
    };
    let zoned = match param.value() {
        JsonValue::Number(n) => n
            .as_i64()
            .and_then(|s| jiff::Timestamp::from_second(s).ok())
            .map(|t| t.to_zoned_datetime(zone)),
        JsonValue::String(s) => {
            let s = s.trim();
            if let Ok(t) = s.parse::<jiff::Timestamp>() {
                Some(t.to_zoned_datetime(zone))
            } else if let Ok(d) = s.parse::<jiff::civil::DateTime>() {
                d.to_zoned_datetime(zone).ok()
            } else {
                s.parse::<jiff::civil::Date>()
                    .ok()
                    .and_then(|d| d.to_zoned_datetime(zone).ok())
            }
        }
        _ => None,
    };
    let zoned = zoned.ok_or_else(|| refused(h, param, DATE_FORMS))?;
    jiff::fmt::strtime::format(&format, &zoned)
        .map(JsonValue::from)
        .map_err(|err| {
            format!(
                "`{}`: format={} cannot be used: {err}",
                h.name(),
                shown(&format.into())
            )
        })
}

/// `lookup`: an entry of a map by key or of a list by index.
///
/// A miss is a value that is not there, not an error, so that `default` can replace it; written
/// out on its own (`{{lookup names id}}`) it is an error that names the key.
struct Lookup;

/// What `lookup` found; `None` when the map or list has no such entry, or is not there.
fn looked_up<'a>(h: &'a Helper<'_>) -> Result<Option<&'a JsonValue>, String> {
    let collection = arg(h, 0)?;
    let key = present(h, 1)?;
    if collection.is_value_missing() {
        return Ok(None);
    }
    match collection.value() {
        JsonValue::Null => Ok(None),
        JsonValue::Object(map) => Ok(match key.value() {
            JsonValue::String(k) => map.get(k),
            other => map.get(&other.render()),
        }),
        JsonValue::Array(list) => {
            let index = match key.value() {
                JsonValue::String(s) => s.trim().parse::<usize>().ok(),
                other => other.as_u64().and_then(|i| usize::try_from(i).ok()),
            };
            Ok(index.and_then(|i| list.get(i)))
        }
        _ => Err(refused(h, collection, "a map or a list")),
    }
}

impl HelperDef for Lookup {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        Ok(match looked_up(h).map_err(failure)? {
            Some(value) => ScopedJson::Derived(value.clone()),
            None => ScopedJson::Missing,
        })
    }

    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        _: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let Some(value) = looked_up(h).map_err(failure)? else {
            return Err(failure(lookup_miss(h)));
        };
        let text = value.render();
        if rc.is_disable_escape() {
            out.write(&text)?;
        } else {
            out.write(&r.get_escape_fn()(&text))?;
        }
        Ok(())
    }
}

/// "`lookup`: `tiers` has no entry "gold" (from `tier`); …".
fn lookup_miss(h: &Helper<'_>) -> String {
    let path = |i: usize| h.param(i).and_then(|p| p.relative_path().cloned());
    let (map, key) = (path(0), path(1));
    let shown_key = h.param(1).map_or_else(String::new, |k| shown(k.value()));
    let from = key
        .as_deref()
        .map_or_else(String::new, |k| format!(" (from `{k}`)"));
    let fallback = match (&map, &key) {
        (Some(map), Some(key)) => {
            format!("for a fallback, write {{{{default (lookup {map} {key}) \"…\"}}}}")
        }
        _ => "wrap it in `default` for a fallback".to_owned(),
    };
    let map = map.map_or_else(|| "the map".to_owned(), |m| format!("`{m}`"));
    format!("`lookup`: {map} has no entry {shown_key}{from}; {fallback}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(template: &str, data: &JsonValue) -> Result<String, String> {
        registry()
            .render_template(template, data)
            .map_err(|e| e.reason().to_string())
    }

    #[test]
    fn number_and_date_refuse_what_they_cannot_read() {
        let data = json!({"city": "Mumbai", "tz": "Asia/Kolkata", "long": "x".repeat(100), "n": " 1234.5 ", "when": "2026-11-27 09:30"});
        assert_eq!(
            render("{{number city}}", &data).unwrap_err(),
            "`number` expected a number, got \"Mumbai\" (from `city`)"
        );
        assert_eq!(render("{{number n decimals=1}}", &data).unwrap(), "1,234.5");
        let long = render("{{number long}}", &data).unwrap_err();
        assert!(long.contains(&format!("\"{}…\"", "x".repeat(40))), "{long}");
        assert_eq!(
            render("{{date tz}}", &data).unwrap_err(),
            format!("`date` expected {DATE_FORMS}, got \"Asia/Kolkata\" (from `tz`)")
        );
        assert_eq!(
            render("{{date when format=\"%H:%M\" tz=\"+05:30\"}}", &data).unwrap(),
            "09:30"
        );
        let bad_zone = render("{{date when tz=\"Asia/Shangai\"}}", &data).unwrap_err();
        assert!(
            bad_zone.contains("did you mean `Asia/Shanghai`"),
            "{bad_zone}"
        );
        assert!(render("{{date when format=\"%Y %\"}}", &data).is_err());
        assert!(render("{{number \"\"}}", &data).is_err());
        assert!(render("{{number n decimals=\"two\"}}", &data).is_err());
    }

    #[test]
    fn a_lookup_miss_names_the_key_and_default_covers_it() {
        let data =
            json!({"tiers": {"gold": "Gold"}, "tier": "silver", "list": ["a", "b"], "i": "1"});
        assert_eq!(
            render("{{lookup tiers tier}}", &data).unwrap_err(),
            "`lookup`: `tiers` has no entry \"silver\" (from `tier`); for a fallback, write {{default (lookup tiers tier) \"…\"}}"
        );
        assert_eq!(
            render("{{default (lookup tiers tier) \"Member\"}}", &data).unwrap(),
            "Member"
        );
        assert_eq!(render("{{lookup tiers \"gold\"}}", &data).unwrap(), "Gold");
        assert_eq!(render("{{lookup list i}}", &data).unwrap(), "b");
        assert_eq!(
            render("{{#if (lookup tiers tier)}}yes{{else}}no{{/if}}", &data).unwrap(),
            "no"
        );
        let upper = render("{{upper (lookup tiers tier)}}", &data).unwrap_err();
        assert!(upper.contains("`upper` got no value"), "{upper}");
        assert!(render("{{lookup tier 0}}", &data).is_err());
    }
}
