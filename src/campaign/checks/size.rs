//! The message's size against the API's limits, where the campaign alone fixes it: a message
//! made of `vars` and literal text is the same for everyone, and literal text is in every
//! message whatever the row holds. Measured as the planner measures each rendered message.

use crate::campaign::model::MessageElement;
use crate::im::types::{self as api, MAX_MESSAGE_BYTES};
use crate::plan::request::{ContentHasher, RequestSettings};
use crate::render::CampaignRenderer;

use super::{Checks, MAX_PUSH_TEXT_BYTES};

/// A `vars` value this long is worth naming as the cause.
const LONG_VALUE_BYTES: usize = 1024;

impl Checks<'_> {
    /// Needs the templates `check` read (`loaded.templates`); `columns` are the CSV's header.
    pub(super) fn sizes(&mut self, columns: &[String]) {
        // Templates that do not compile were reported already.
        let Ok(renderer) = CampaignRenderer::new(self.loaded, columns) else {
            return;
        };
        let floor = renderer.floor();
        let settings = RequestSettings::from_campaign(self.campaign);
        let facts = ContentHasher::new(&settings).facts(&floor.message);
        if facts.message_bytes > MAX_MESSAGE_BYTES {
            let (at_least, why) = wording(floor.exact);
            let (pointer, bytes) = largest_part(self.campaign, &floor.message);
            let help = format!(
                "{why}: shorten{}, or link to long text instead of including it",
                self.long_var(&pointer)
                    .map(|(name, n)| format!(" `vars.{name}` ({n} bytes)"))
                    .unwrap_or_else(|| " the text or the custom data".to_owned())
            );
            self.sized(
                &pointer,
                format!(
                    "the message is {at_least}{} bytes; the API takes at most {MAX_MESSAGE_BYTES} (12 KB)",
                    facts.message_bytes
                ),
                format!("{bytes} bytes of it are here"),
                help,
            );
        }
        if facts.push_text_bytes > MAX_PUSH_TEXT_BYTES {
            let (at_least, why) = wording(floor.push_text_exact);
            let push = floor.message.push.as_ref();
            let desc = push.and_then(|p| p.desc.as_ref()).map_or(0, String::len);
            let ext = push.and_then(|p| p.ext.as_ref()).map_or(0, String::len);
            let pointer = if desc >= ext {
                "/push/desc"
            } else {
                "/push/ext"
            };
            let help = format!(
                "{why}: shorten{} (APNs payloads are at most 4 KB)",
                self.long_var(pointer)
                    .map(|(name, n)| format!(" `vars.{name}` ({n} bytes)"))
                    .unwrap_or_else(|| " the push text".to_owned())
            );
            self.sized(
                pointer,
                format!(
                    "push desc + ext are {at_least}{} bytes; keep them within {MAX_PUSH_TEXT_BYTES} (3 KB) for APNs",
                    facts.push_text_bytes
                ),
                format!("{} bytes of it are here", desc.max(ext)),
                help,
            );
        }
    }

    fn sized(&mut self, pointer: &str, message: String, label: String, help: String) {
        let d = crate::campaign::Diagnostic::error(&self.loaded.path, self.span(pointer), message)
            .with_label(label)
            .with_help(help);
        self.found.diagnostics.push(d);
    }

    /// The longest `vars` value the template at `pointer` names, when it is long.
    fn long_var(&self, pointer: &str) -> Option<(String, usize)> {
        let template = self
            .loaded
            .templates
            .iter()
            .filter(|t| t.pointer.starts_with(pointer))
            .map(|t| t.text.as_str())
            .collect::<String>();
        self.campaign
            .vars
            .iter()
            .map(|(name, value)| {
                let bytes = value
                    .as_str()
                    .map_or_else(|| value.to_string().len(), str::len);
                (name, bytes)
            })
            .filter(|(name, bytes)| *bytes >= LONG_VALUE_BYTES && template.contains(name.as_str()))
            .max_by_key(|(_, bytes)| *bytes)
            .map(|(name, bytes)| (name.clone(), bytes))
    }
}

/// How sure a size is: exact when the campaign fixes all of it, else a floor.
fn wording(exact: bool) -> (&'static str, &'static str) {
    if exact {
        (
            "",
            "every recipient gets this same text (only `vars` and literal text), so every send would fail",
        )
    } else {
        (
            "at least ",
            "its text and `vars` alone are over the limit, whatever the CSV holds, so every send would fail",
        )
    }
}

/// The part of the message that takes the most bytes: its pointer in the file, and its size.
fn largest_part(
    campaign: &crate::campaign::Campaign,
    message: &crate::render::RenderedMessage,
) -> (String, usize) {
    let mut parts: Vec<(String, usize)> = Vec::new();
    for (index, (element, rendered)) in campaign.message.iter().zip(&message.body).enumerate() {
        let base = format!("/message/{index}/{}", element.kind());
        let pointer = match (element, rendered) {
            (MessageElement::Custom(_), api::MsgElement::Custom(c)) => {
                let fields = [
                    ("data", c.data.len()),
                    ("desc", c.desc.as_ref().map_or(0, String::len)),
                    ("ext", c.ext.as_ref().map_or(0, String::len)),
                ];
                let (field, _) = fields
                    .iter()
                    .max_by_key(|(_, n)| *n)
                    .copied()
                    .unwrap_or(("data", 0));
                format!("{base}/{field}")
            }
            (MessageElement::Face(_), _) => format!("{base}/data"),
            (MessageElement::Location(_), _) => format!("{base}/desc"),
            _ => base,
        };
        parts.push((pointer, json_bytes(rendered)));
    }
    if let Some(data) = &message.cloud_custom_data {
        parts.push(("/cloud_custom_data".to_owned(), data.len()));
    }
    if let Some(push) = &message.push {
        let fields = [
            ("title", push.title.as_ref().map_or(0, String::len)),
            ("desc", push.desc.as_ref().map_or(0, String::len)),
            ("ext", push.ext.as_ref().map_or(0, String::len)),
        ];
        if let Some((field, _)) = fields.iter().max_by_key(|(_, n)| *n) {
            parts.push((format!("/push/{field}"), json_bytes(push)));
        }
    }
    parts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .unwrap_or_else(|| ("/message".to_owned(), 0))
}

fn json_bytes(value: &impl serde::Serialize) -> usize {
    serde_json::to_vec(value).map_or(0, |v| v.len())
}
