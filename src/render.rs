//! The Handlebars registry and helpers (recipient -> rendered text), and the static analysis of
//! templates that `validate` uses.
//!
//! Templates run in strict mode with HTML escaping off: chat text is not HTML, and a missing
//! variable must be an error, never an empty string in a customer's message. Strict mode alone
//! misses variables that sit inside `{{#if}}` branches not taken, so the variables a template
//! uses are also collected from its syntax tree.

use std::collections::BTreeSet;

use handlebars::template::{HelperTemplate, Parameter, Template, TemplateElement};
use handlebars::{Handlebars, JsonValue, Path, PathSeg, handlebars_helper};

/// Helpers that campaign copy can use, beyond Handlebars' built-ins.
pub const CAMPAIGN_HELPERS: &[&str] = &[
    "default", "upper", "lower", "truncate", "number", "date", "json",
];

/// Handlebars' own helpers.
pub const BUILTIN_HELPERS: &[&str] = &[
    "if", "unless", "each", "with", "lookup", "raw", "log", "eq", "ne", "gt", "gte", "lt", "lte",
    "and", "or", "not", "len",
];

/// Block helpers whose body runs in another context: names inside are not top-level variables.
const CONTEXT_CHANGING: &[&str] = &["each", "with"];

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
pub fn registry() -> Handlebars<'static> {
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

/// What a template refers to, found in its syntax tree.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TemplateUses {
    /// Top-level variable names (`first_name` for `{{first_name}}` and `{{upper first_name.x}}`).
    pub variables: BTreeSet<String>,
    /// Helper names called with parameters or as blocks.
    pub helpers: BTreeSet<String>,
    /// Partials referenced (`{{> name}}`): campaigns have none to offer.
    pub partials: BTreeSet<String>,
}

/// Compiles a template's text; errors carry the line and column inside the template.
pub fn compile(source: &str) -> Result<Template, handlebars::TemplateError> {
    Template::compile(source)
}

/// Collects the variables, helpers and partials a compiled template uses.
pub fn uses(template: &Template) -> TemplateUses {
    let mut found = TemplateUses::default();
    walk_template(template, &mut found);
    found
}

fn walk_template(template: &Template, found: &mut TemplateUses) {
    for element in &template.elements {
        match element {
            TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => {
                walk_expression(h, found);
            }
            TemplateElement::HelperBlock(h) => {
                let name = name_of(&h.name);
                walk_params(h, found);
                if let Some(name) = &name {
                    found.helpers.insert(name.clone());
                }
                let changes_context = name
                    .as_deref()
                    .is_some_and(|n| CONTEXT_CHANGING.contains(&n));
                if !changes_context && let Some(body) = &h.template {
                    walk_template(body, found);
                }
                if let Some(inverse) = &h.inverse {
                    walk_template(inverse, found);
                }
            }
            TemplateElement::PartialExpression(d) | TemplateElement::PartialBlock(d) => {
                if let Some(name) = name_of(&d.name) {
                    found.partials.insert(name);
                }
            }
            TemplateElement::RawString(_)
            | TemplateElement::Comment(_)
            | TemplateElement::DecoratorExpression(_)
            | TemplateElement::DecoratorBlock(_) => {}
            _ => {}
        }
    }
}

/// `{{name}}` is a variable unless `name` is a helper; `{{helper a b}}` uses helper and params.
fn walk_expression(h: &HelperTemplate, found: &mut TemplateUses) {
    let is_call = !h.params.is_empty() || !h.hash.is_empty();
    match (&h.name, is_call) {
        (Parameter::Name(name), true) => {
            found.helpers.insert(name.clone());
        }
        (Parameter::Name(name), false) => {
            if CAMPAIGN_HELPERS.contains(&name.as_str()) || BUILTIN_HELPERS.contains(&name.as_str())
            {
                found.helpers.insert(name.clone());
            } else {
                found.variables.insert(name.clone());
            }
        }
        (other, _) => walk_parameter(other, found),
    }
    walk_params(h, found);
}

fn walk_params(h: &HelperTemplate, found: &mut TemplateUses) {
    for param in h.params.iter().chain(h.hash.values()) {
        walk_parameter(param, found);
    }
}

fn walk_parameter(param: &Parameter, found: &mut TemplateUses) {
    match param {
        Parameter::Path(path) => {
            if let Some(head) = path_head(path) {
                found.variables.insert(head);
            }
        }
        Parameter::Subexpression(sub) => {
            if let TemplateElement::Expression(h) = sub.as_element() {
                walk_expression(h, found);
            }
        }
        _ => {}
    }
}

/// The first segment of a relative path (`user` of `user.name`); `this`, `@index`, `../x` skipped.
fn path_head(path: &Path) -> Option<String> {
    match path {
        Path::Relative((segments, raw)) => {
            if raw.starts_with('@') || raw.starts_with("this") || raw.starts_with("..") {
                return None;
            }
            match segments.first() {
                Some(PathSeg::Named(name)) => Some(name.clone()),
                _ => None,
            }
        }
        Path::Local(_) => None,
    }
}

fn name_of(param: &Parameter) -> Option<String> {
    match param {
        Parameter::Name(name) => Some(name.clone()),
        Parameter::Path(Path::Relative((_, raw))) => Some(raw.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn uses_of(source: &str) -> TemplateUses {
        uses(&compile(source).unwrap())
    }

    #[test]
    fn finds_variables_inside_conditionals_and_helper_calls() {
        let found = uses_of(
            "Hi {{upper first_name}}{{#if vip}}, {{tier}} member{{else}}{{plain}}{{/if}} {{campaign.name}} {{default nick \"friend\"}}",
        );
        let vars: Vec<&str> = found.variables.iter().map(String::as_str).collect();
        assert_eq!(
            vars,
            ["campaign", "first_name", "nick", "plain", "tier", "vip"]
        );
        assert!(found.helpers.contains("upper") && found.helpers.contains("if"));
    }

    #[test]
    fn each_bodies_are_not_top_level() {
        let found = uses_of("{{#each items}}{{name}}{{/each}}");
        assert_eq!(found.variables.into_iter().collect::<Vec<_>>(), ["items"]);
    }

    #[test]
    fn helpers_render_campaign_copy() {
        let hb = registry();
        let data = json!({"n": "", "name": "ada", "price": 1234567.891, "d": "2026-11-27T01:00:00Z", "q": "say \"hi\""});
        let render = |t: &str| hb.render_template(t, &data).unwrap();
        assert_eq!(render("{{default n \"friend\"}}"), "friend");
        assert_eq!(render("{{upper name}} {{lower \"ABC\"}}"), "ADA abc");
        assert_eq!(render("{{truncate \"abcdefgh\" 5}}"), "abcd…");
        assert_eq!(render("{{number price decimals=2}}"), "1,234,567.89");
        assert_eq!(
            render("{{date d format=\"%d/%m %H:%M\" tz=\"Asia/Shanghai\"}}"),
            "27/11 09:00"
        );
        assert_eq!(render("{{json q}}"), "\"say \\\"hi\\\"\"");
        assert_eq!(render("<b>{{q}}</b>"), "<b>say \"hi\"</b>");
    }

    #[test]
    fn strict_mode_refuses_missing_variables() {
        let hb = registry();
        assert!(hb.render_template("Hi {{missing}}", &json!({})).is_err());
    }
}
