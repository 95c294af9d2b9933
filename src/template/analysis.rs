//! What a template refers to — variables, helpers, partials — read from its syntax tree.

use std::collections::BTreeSet;

use handlebars::template::{HelperTemplate, Parameter, Template, TemplateElement};
use handlebars::{Path, PathSeg};

use super::{BUILTIN_HELPERS, CAMPAIGN_HELPERS, CONTEXT_CHANGING};

/// What a template refers to, found in its syntax tree.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct TemplateUses {
    /// Top-level variable names (`first_name` for `{{first_name}}` and `{{upper first_name.x}}`).
    pub variables: BTreeSet<String>,
    /// Helper names called with parameters or as blocks.
    pub helpers: BTreeSet<String>,
    /// Partials referenced (`{{> name}}`), each call with the parameters it passes.
    pub partials: Vec<PartialCall>,
}

/// One `{{> name a=b}}` (or `{{#> name}}...{{/name}}`) in a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartialCall {
    pub name: String,
    /// The hash parameters' names (`shop` of `shop="Acme"`): variables inside the partial.
    pub params: BTreeSet<String>,
    /// A context argument (`{{> footer user}}`): the partial's names are then that object's.
    pub with_context: bool,
}

/// Compiles a template's text; errors carry the line and column inside the template.
pub(crate) fn compile(source: &str) -> Result<Template, handlebars::TemplateError> {
    Template::compile(source)
}

/// Collects the variables, helpers and partials a compiled template uses.
pub(crate) fn uses(template: &Template) -> TemplateUses {
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
                if let Some(body) = &h.template {
                    if changes_context {
                        // Names inside are another context's, but the partials it includes
                        // are still needed (and read that context: nothing to check statically).
                        let mut inner = TemplateUses::default();
                        walk_template(body, &mut inner);
                        for mut call in inner.partials {
                            call.with_context = true;
                            if !found.partials.contains(&call) {
                                found.partials.push(call);
                            }
                        }
                    } else {
                        walk_template(body, found);
                    }
                }
                if let Some(inverse) = &h.inverse {
                    walk_template(inverse, found);
                }
            }
            TemplateElement::PartialExpression(d) | TemplateElement::PartialBlock(d) => {
                // The values passed are read in the caller's context.
                for param in d.params.iter().chain(d.hash.values()) {
                    walk_parameter(param, found);
                }
                if let Some(name) = name_of(&d.name) {
                    let call = PartialCall {
                        name,
                        params: d.hash.keys().cloned().collect(),
                        with_context: !d.params.is_empty(),
                    };
                    if !found.partials.contains(&call) {
                        found.partials.push(call);
                    }
                }
                if let Some(body) = &d.template {
                    walk_template(body, found);
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
