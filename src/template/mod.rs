//! Handlebars for campaign copy, depending on nothing else in timcast but [`crate::zone`] (for
//! the `date` helper's `tz=`): the registry with its helpers ([`registry`]) and the static
//! analysis `validate` uses ([`uses`]).
//!
//! Templates run in strict mode with HTML escaping off: chat text is not HTML, and a missing
//! variable must be an error, never an empty string in a customer's message. Strict mode alone
//! misses variables that sit inside `{{#if}}` branches not taken, so the variables a template
//! uses are also collected from its syntax tree.

mod analysis;
mod helpers;

pub(crate) use analysis::{PartialCall, TemplateUses, compile, uses};
pub(crate) use helpers::registry;

/// Helpers that campaign copy can use, beyond Handlebars' built-ins.
pub(crate) const CAMPAIGN_HELPERS: &[&str] = &[
    "default", "upper", "lower", "truncate", "number", "date", "json",
];

/// Handlebars' own helpers.
pub(crate) const BUILTIN_HELPERS: &[&str] = &[
    "if", "unless", "each", "with", "lookup", "raw", "log", "eq", "ne", "gt", "gte", "lt", "lte",
    "and", "or", "not", "len",
];

/// Block helpers whose body runs in another context: names inside are not top-level variables.
const CONTEXT_CHANGING: &[&str] = &["each", "with"];

#[cfg(test)]
mod tests {
    use super::analysis::TemplateUses;
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
    fn partial_calls_keep_their_parameters_and_context() {
        let found = uses_of(
            "{{> footer shop=store}}{{#> legal/box}}x{{/legal/box}}{{#each items}}{{> row}}{{/each}}{{> card user}}",
        );
        let calls: Vec<(&str, Vec<&str>, bool)> = found
            .partials
            .iter()
            .map(|c| {
                let params = c.params.iter().map(String::as_str).collect();
                (c.name.as_str(), params, c.with_context)
            })
            .collect();
        assert_eq!(
            calls,
            [
                ("footer", vec!["shop"], false),
                ("legal/box", vec![], false),
                ("row", vec![], true),
                ("card", vec![], true),
            ]
        );
        // The values passed are the caller's variables.
        let vars: Vec<&str> = found.variables.iter().map(String::as_str).collect();
        assert_eq!(vars, ["items", "store", "user"]);
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
