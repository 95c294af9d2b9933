use super::*;

#[test]
fn values_that_are_not_there_are_named_in_words() {
    let data = serde_json::json!({"vars": {}, "tiers": {}, "tier": "gold"});
    let text = |template: &str| {
        let err = registry().render_template(template, &data).unwrap_err();
        render_error_text(&err)
    };
    assert_eq!(
        text("{{vars.promo}}"),
        "`vars.promo` is not there; `default` can give a fallback (template line 1)"
    );
    let eq = text("{{#if (eq (lookup tiers tier) \"x\")}}y{{/if}}");
    assert!(eq.starts_with("`eq` got no value"), "{eq}");
    assert!(!eq.contains("strict mode"), "{eq}");
}

#[test]
fn simple_templates_render_as_handlebars_does() {
    use crate::campaign::validate;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("u.csv"),
        "user_id,name,city\nu1,Ada,\"Köln, DE\"\n",
    )
    .unwrap();
    let templates = [
        "Hi {{name}} from {{city}}!",
        "{{{name}}} {{! a comment }}{{n}}% {{flag}} {{f}} {{s}}",
        "\\{{name}} {{name}}",
        "{{name}}\n{{city}}",
    ];
    for template in templates {
        let yaml = format!(
            "version: 1\nname: t\naudience: {{ csv: u.csv }}\nvars: {{ n: 30, flag: true, f: 1.5, s: \"x&y\" }}\nmessage:\n  - text: {}\n",
            serde_json::to_string(template).unwrap()
        );
        std::fs::write(dir.path().join("c.yaml"), yaml).unwrap();
        let loaded = validate(&dir.path().join("c.yaml")).into_result().unwrap();
        let columns = ["user_id", "name", "city"].map(String::from);
        let fast = CampaignRenderer::new(&loaded, &columns).unwrap();
        assert!(
            matches!(fast.elements[0], ElementPlan::Text(Slot::Simple(_))),
            "{template} should be simple"
        );
        let fields = ["u1", "Ada", "Köln, DE"];
        let rendered = fast.render(&fields).unwrap();
        let reference = registry()
            .render_template(template, &fast.context(&fields))
            .unwrap();
        assert_eq!(
            rendered.body,
            vec![api::MsgElement::text(reference)],
            "{template}"
        );
    }
}
