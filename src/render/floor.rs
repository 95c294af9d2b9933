//! The message as far as the campaign alone fixes it, before any CSV row is read: `validate`
//! measures it against the API's limits, so that a message too large for anyone fails there
//! instead of on every row of the plan.

use std::cell::Cell;
use std::convert::Infallible;

use handlebars::template::{HelperTemplate, Parameter, Template, TemplateElement};
use handlebars::{JsonValue, Path, PathSeg};

use super::{BUILTIN_HELPERS, CAMPAIGN_HELPERS, CampaignRenderer, Piece, Slot};

/// What every recipient's message holds at least.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Floor {
    /// The message, each template that reads the row cut down to the text it always prints.
    pub message: super::RenderedMessage,
    /// No template reads the row: every recipient gets exactly `message`.
    pub exact: bool,
    /// Neither push `desc` nor `ext` reads the row (APNs limits those two).
    pub push_text_exact: bool,
}

impl CampaignRenderer {
    /// The message every recipient gets at least (exactly, when no template reads the row).
    pub(crate) fn floor(&self) -> Floor {
        let exact = Cell::new(true);
        let text = |slot: &Slot| -> Result<String, Infallible> {
            let (text, fixed) = self.slot_floor(slot);
            if !fixed {
                exact.set(false);
            }
            Ok(text)
        };
        let Ok(message) = self.assemble(text);
        let fixed = |slot: &Option<Slot>| slot.as_ref().is_none_or(|s| self.slot_floor(s).1);
        Floor {
            message,
            exact: exact.get(),
            push_text_exact: self
                .push
                .as_ref()
                .is_none_or(|p| fixed(&p.desc) && fixed(&p.ext)),
        }
    }

    /// A slot's text before any row, and whether that is all it ever prints.
    fn slot_floor(&self, slot: &Slot) -> (String, bool) {
        match slot {
            Slot::Static(text) => (text.clone(), true),
            Slot::Simple(pieces) => {
                let mut out = String::new();
                let mut fixed = true;
                for piece in pieces {
                    match piece {
                        Piece::Raw(raw) | Piece::Const(raw) => out.push_str(raw),
                        Piece::Column(_) => fixed = false,
                    }
                }
                (out, fixed)
            }
            Slot::Template { name } => {
                let Some(template) = self.registry.get_template(name) else {
                    return (String::new(), false);
                };
                let constant = |name: &str| {
                    self.base.contains_key(name) && !self.columns.iter().any(|c| c == name)
                };
                if reads_only(&template.elements, &constant) {
                    let context = handlebars::Context::from(JsonValue::Object(self.base.clone()));
                    if let Ok(text) = self.registry.render_with_context(name, &context) {
                        return (text, true);
                    }
                }
                // Whatever the row holds, the top-level text is printed as it is.
                (literal_text(template), false)
            }
        }
    }
}

/// The text outside every `{{ }}` and block of a template.
fn literal_text(template: &Template) -> String {
    template
        .elements
        .iter()
        .filter_map(|element| match element {
            TemplateElement::RawString(raw) => Some(raw.as_str()),
            _ => None,
        })
        .collect()
}

/// Whether every value the elements print comes from names `constant` accepts (`vars` and
/// `campaign`), never from the row. Doubtful forms (`this`, `../`, `@root`, blocks that
/// change the context, partials) count as reading the row.
fn reads_only(elements: &[TemplateElement], constant: &dyn Fn(&str) -> bool) -> bool {
    elements.iter().all(|element| match element {
        TemplateElement::RawString(_) | TemplateElement::Comment(_) => true,
        TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => {
            helper_reads_only(h, constant)
        }
        TemplateElement::HelperBlock(h) => {
            let changes_context =
                matches!(&h.name, Parameter::Name(n) if n == "each" || n == "with");
            let body =
                |t: &Option<Template>| t.as_ref().is_none_or(|t| reads_only(&t.elements, constant));
            !changes_context
                && helper_reads_only(h, constant)
                && body(&h.template)
                && body(&h.inverse)
        }
        _ => false,
    })
}

fn helper_reads_only(h: &HelperTemplate, constant: &dyn Fn(&str) -> bool) -> bool {
    let name = match &h.name {
        Parameter::Name(name) => {
            CAMPAIGN_HELPERS.contains(&name.as_str())
                || BUILTIN_HELPERS.contains(&name.as_str())
                || constant(name)
        }
        other => parameter_reads_only(other, constant),
    };
    name && h
        .params
        .iter()
        .chain(h.hash.values())
        .all(|p| parameter_reads_only(p, constant))
}

fn parameter_reads_only(param: &Parameter, constant: &dyn Fn(&str) -> bool) -> bool {
    match param {
        Parameter::Name(name) => constant(name),
        Parameter::Literal(_) => true,
        Parameter::Path(Path::Relative((segments, raw))) => {
            let plain = !(raw.starts_with('@') || raw.starts_with("this") || raw.starts_with('.'));
            plain && matches!(segments.first(), Some(PathSeg::Named(name)) if constant(name))
        }
        Parameter::Path(Path::Local(_)) => false,
        Parameter::Subexpression(sub) => match sub.as_element() {
            TemplateElement::Expression(h) => helper_reads_only(h, constant),
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::campaign::validate;
    use crate::im::types as api;

    fn floor_of(template: &str) -> super::Floor {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("u.csv"), "user_id,name\nu1,Ada\n").ok();
        let yaml = format!(
            "version: 1\nname: t\naudience: {{ csv: u.csv }}\nvars: {{ promo: SAVE5, name: shadowed }}\nmessage:\n  - text: {}\n",
            serde_json::to_string(template).unwrap_or_default()
        );
        std::fs::write(dir.path().join("c.yaml"), yaml).ok();
        let loaded = validate(&dir.path().join("c.yaml"))
            .into_result()
            .unwrap_or_else(|v| panic!("{}", v.render()));
        let columns = ["user_id", "name"].map(String::from);
        crate::render::CampaignRenderer::new(&loaded, &columns)
            .unwrap_or_else(|e| panic!("{e}"))
            .floor()
    }

    fn text(floor: &super::Floor) -> &str {
        match &floor.message.body[0] {
            api::MsgElement::Text(t) => &t.text,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_template_of_vars_and_text_is_known_before_any_row() {
        for template in [
            "Use {{promo}}",
            "Use {{vars.promo}}",
            "{{#if vars.promo}}Use {{upper promo}}{{/if}}",
        ] {
            let floor = floor_of(template);
            assert!(floor.exact, "{template}");
            assert!(text(&floor).ends_with("SAVE5"), "{template}: {floor:?}");
        }
    }

    #[test]
    fn a_template_that_reads_the_row_keeps_only_its_literal_text() {
        // A column of the same name as a var wins: it is the row's.
        for template in [
            "Hi {{name}}!",
            "Hi {{upper name}}!",
            "Hi {{#if name}}you{{/if}}!",
            "Hi {{#with vars}}{{../name}}{{/with}}!",
            "Hi {{json this}}!",
        ] {
            let floor = floor_of(template);
            assert!(!floor.exact, "{template}");
            assert_eq!(text(&floor), "Hi !", "{template}");
        }
    }
}
