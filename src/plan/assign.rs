//! Who gets which flavour of a campaign: the holdout group, the variant of an A/B/n test and
//! the locale of the message.
//!
//! Assignment is a pure function of the campaign's name and the recipient's UserID (and their
//! locale column), so it does not depend on the CSV's order or on the other recipients, and a
//! re-plan never moves anyone while the weights stay as they are. With
//! `h = SHA-256(name + "\n" + user_id)`, the first 8 bytes (big-endian, over 2^64) below the
//! holdout share put the recipient in the holdout; the next 8 bytes pick the variant by its
//! cumulative weight. The two draws are independent: changing the holdout moves nobody from
//! one variant to another.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::campaign::LoadedCampaign;
use crate::campaign::model::{Campaign, LocaleContent, MessageElement, Push};
use crate::journal::SendState;
use crate::render::{CampaignRenderer, Content, RendererError};

/// One variant in a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantCount {
    pub name: String,
    pub weight: u32,
    /// Recipients assigned to it (the holdout not counted).
    pub recipients: u64,
    /// Of them, sends this plan makes.
    pub pending: u64,
    /// The first recipient's message, as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example_user_id: Option<String>,
}

/// One translation in a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocaleCount {
    /// The `locales` key, or `default`.
    pub locale: String,
    pub recipients: u64,
    pub pending: u64,
}

/// Whether a recipient in the holdout stays there: nothing was ever sent to them (a record
/// that a send went out, or may have, is kept as it is).
pub(crate) fn holds_out(prior: Option<SendState>) -> bool {
    matches!(
        prior,
        None | Some(SendState::HeldOut | SendState::Capped | SendState::Failed)
    )
}

/// What the assignment gave one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Assignment {
    /// In the control group: never sent.
    pub held_out: bool,
    /// Index into `variants`, when the campaign has them.
    pub variant: Option<u16>,
    /// Index into [`Flavors::locales`] of the translation used; `None` for the default.
    pub locale: Option<u16>,
    /// Index of the renderer for this variant and locale.
    pub flavor: u16,
}

/// Every flavour of a campaign, rendered by its own renderer, and the assignment.
#[derive(Debug)]
pub(crate) struct Flavors {
    renderers: Vec<CampaignRenderer>,
    /// Holdout share as a threshold on the first draw (0: nobody).
    holdout: u64,
    /// Cumulative weights of the variants, and their total.
    cumulative: Vec<u64>,
    total_weight: u64,
    /// Variant names, in file order.
    pub variant_names: Vec<String>,
    /// Locale keys of every translation (the campaign's and the variants'), sorted.
    pub locales: Vec<String>,
    /// Index of the CSV column with the recipient's locale.
    locale_column: Option<usize>,
    /// Per variant (or one entry without variants): locale key (lower case) → flavour index
    /// and index in `locales`; `""` is the default message.
    by_locale: Vec<BTreeMap<String, (u16, Option<u16>)>>,
    /// The campaign name, the first part of every draw.
    name: String,
}

impl Flavors {
    /// Prepares a renderer per variant and translation; `columns` are the CSV header.
    pub(crate) fn new(loaded: &LoadedCampaign, columns: &[String]) -> Result<Self, RendererError> {
        let campaign = &loaded.campaign;
        let mut locales: Vec<String> = campaign.locales.keys().cloned().collect();
        for variant in &campaign.variants {
            locales.extend(variant.locales.keys().cloned());
        }
        locales.sort();
        locales.dedup();
        let mut flavors = Flavors {
            renderers: Vec::new(),
            holdout: campaign.holdout.map_or(0, |h| threshold(h.fraction())),
            cumulative: Vec::new(),
            total_weight: 0,
            variant_names: campaign.variants.iter().map(|v| v.name.clone()).collect(),
            locales,
            locale_column: campaign
                .audience
                .locale_column
                .as_ref()
                .and_then(|c| columns.iter().position(|name| name == c)),
            by_locale: Vec::new(),
            name: campaign.name.clone(),
        };
        for variant in &campaign.variants {
            flavors.total_weight += u64::from(variant.weight);
            flavors.cumulative.push(flavors.total_weight);
        }
        let variants: Vec<Option<usize>> = if campaign.variants.is_empty() {
            vec![None]
        } else {
            (0..campaign.variants.len()).map(Some).collect()
        };
        for variant in variants {
            let mut keys = BTreeMap::new();
            let mut add = |flavors: &mut Flavors, key: &str, content: Content<'_>| {
                let index = u16::try_from(flavors.renderers.len()).unwrap_or(u16::MAX);
                let locale = flavors
                    .locales
                    .iter()
                    .position(|l| l == key)
                    .and_then(|i| u16::try_from(i).ok());
                keys.insert(key.to_lowercase(), (index, locale));
                CampaignRenderer::with_content(loaded, columns, &content)
                    .map(|r| flavors.renderers.push(r))
            };
            add(&mut flavors, "", content_of(campaign, variant, None))?;
            let translated = flavors.locales.clone();
            for key in &translated {
                if has_translation(campaign, variant, key) {
                    add(&mut flavors, key, content_of(campaign, variant, Some(key)))?;
                }
            }
            flavors.by_locale.push(keys);
        }
        Ok(flavors)
    }

    /// Whether the campaign has anything to assign (else every recipient gets flavour 0).
    pub(crate) fn is_plain(&self) -> bool {
        self.renderers.len() == 1 && self.holdout == 0
    }

    pub(crate) fn renderer(&self, flavor: u16) -> &CampaignRenderer {
        &self.renderers[usize::from(flavor).min(self.renderers.len() - 1)]
    }

    /// The assignment of one recipient, whose CSV fields are `fields`.
    pub(crate) fn assign(&self, user_id: &str, fields: &[&str]) -> Assignment {
        if self.is_plain() {
            return Assignment::default();
        }
        let (first, second) = draws(&self.name, user_id);
        let variant = (!self.cumulative.is_empty()).then(|| {
            // The second draw scaled to the total weight, without floating point.
            let point = ((u128::from(second) * u128::from(self.total_weight)) >> 64) as u64;
            let index = self.cumulative.partition_point(|&c| c <= point);
            u16::try_from(index.min(self.cumulative.len() - 1)).unwrap_or(0)
        });
        let keys = &self.by_locale[variant.map_or(0, usize::from).min(self.by_locale.len() - 1)];
        let mut assignment = Assignment {
            held_out: first < self.holdout,
            variant,
            locale: None,
            flavor: keys.get("").map_or(0, |(flavor, _)| *flavor),
        };
        if let Some(tag) = self.locale_column.and_then(|i| fields.get(i))
            && let Some((flavor, locale)) = best_match(keys, tag)
        {
            assignment.flavor = flavor;
            assignment.locale = locale;
        }
        assignment
    }

    /// The variant's name, for the journal and reports.
    pub(crate) fn variant_name(&self, assignment: &Assignment) -> Option<&str> {
        assignment
            .variant
            .and_then(|v| self.variant_names.get(usize::from(v)))
            .map(String::as_str)
    }

    /// The translation's locale key, for the journal and reports.
    pub(crate) fn locale_name(&self, assignment: &Assignment) -> Option<&str> {
        assignment
            .locale
            .and_then(|l| self.locales.get(usize::from(l)))
            .map(String::as_str)
    }
}

/// The share `fraction` of 2^64, saturating at the top.
fn threshold(fraction: f64) -> u64 {
    if fraction >= 1.0 {
        u64::MAX
    } else if fraction <= 0.0 {
        0
    } else {
        (fraction * 18_446_744_073_709_551_616.0) as u64
    }
}

/// The two independent draws of one recipient: holdout, then variant.
pub(crate) fn draws(campaign: &str, user_id: &str) -> (u64, u64) {
    let mut hasher = Sha256::new();
    hasher.update(campaign.as_bytes());
    hasher.update(b"\n");
    hasher.update(user_id.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    let mut second = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    second.copy_from_slice(&digest[8..16]);
    (u64::from_be_bytes(first), u64::from_be_bytes(second))
}

/// The most specific key of `keys` that `tag` falls back to (`zh-Hant-TW`, `zh-Hant`, `zh`),
/// compared case-insensitively with `_` read as `-`; `None` for the default message.
/// (Keys are lower case; the empty key, the default, is never tried.)
fn best_match<T: Copy>(keys: &BTreeMap<String, T>, tag: &str) -> Option<T> {
    let mut tag = tag.trim().replace('_', "-").to_lowercase();
    while !tag.is_empty() {
        if let Some(&found) = keys.get(tag.as_str()) {
            return Some(found);
        }
        match tag.rfind('-') {
            Some(cut) => tag.truncate(cut),
            None => break,
        }
    }
    None
}

/// Whether `key` changes anything for `variant`: a translation of the message or push it uses.
fn has_translation(campaign: &Campaign, variant: Option<usize>, key: &str) -> bool {
    let (message_from, push_from) = sources(campaign, variant);
    message_from.get(key).is_some_and(|l| l.message.is_some())
        || push_from.get(key).is_some_and(|l| l.push.is_some())
}

/// The translations the message and the push of `variant` come from: the variant's own when
/// it has its own message (or push), else the campaign's.
fn sources(
    campaign: &Campaign,
    variant: Option<usize>,
) -> (
    &BTreeMap<String, LocaleContent>,
    &BTreeMap<String, LocaleContent>,
) {
    let variant = variant.and_then(|v| campaign.variants.get(v));
    let message = match variant {
        Some(v) if v.message.is_some() => &v.locales,
        _ => &campaign.locales,
    };
    let push = match variant {
        Some(v) if v.push.is_some() => &v.locales,
        _ => &campaign.locales,
    };
    (message, push)
}

/// What recipients of `variant` in locale `key` are sent.
fn content_of<'a>(
    campaign: &'a Campaign,
    variant: Option<usize>,
    key: Option<&str>,
) -> Content<'a> {
    let mut content = Content::of_campaign(campaign);
    let (message_from, push_from) = sources(campaign, variant);
    let chosen = variant.and_then(|v| campaign.variants.get(v).map(|x| (v, x)));
    let mut message: (&'a [MessageElement], String) = (&campaign.message, String::new());
    let mut push: (Option<&'a Push>, String) = (campaign.push.as_ref(), String::new());
    if let Some((v, variant)) = chosen {
        content.vars.extend(variant.vars.clone());
        if let Some(own) = &variant.message {
            message = (own, format!("/variants/{v}"));
        }
        if let Some(own) = &variant.push {
            push = (Some(own), format!("/variants/{v}"));
        }
        if let Some(own) = &variant.cloud_custom_data {
            content.cloud_custom_data = Some(own);
            content.ccd_at = format!("/variants/{v}");
        }
    }
    if let Some(key) = key {
        let base = |from_variant: bool| match (from_variant, chosen) {
            (true, Some((v, _))) => format!("/variants/{v}/locales/{key}"),
            _ => format!("/locales/{key}"),
        };
        if let Some(own) = message_from.get(key).and_then(|l| l.message.as_ref()) {
            let from_variant = chosen.is_some_and(|(_, x)| x.message.is_some());
            message = (own, base(from_variant));
        }
        if let Some(own) = push_from.get(key).and_then(|l| l.push.as_ref()) {
            let from_variant = chosen.is_some_and(|(_, x)| x.push.is_some());
            push = (Some(own), base(from_variant));
        }
    }
    (content.message, content.message_at) = message;
    (content.push, content.push_at) = push;
    content
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locale_falls_back_by_prefix_then_to_the_default() {
        let keys: BTreeMap<String, u16> = [("".into(), 0), ("zh".into(), 1), ("pt-br".into(), 2)]
            .into_iter()
            .collect();
        assert_eq!(best_match(&keys, "zh-Hant-TW"), Some(1));
        assert_eq!(best_match(&keys, "ZH"), Some(1));
        assert_eq!(best_match(&keys, "pt_BR"), Some(2));
        assert_eq!(best_match(&keys, "pt"), None);
        assert_eq!(best_match(&keys, "fr"), None);
        assert_eq!(best_match(&keys, ""), None);
    }

    #[test]
    fn draws_depend_only_on_the_campaign_and_the_user() {
        assert_eq!(draws("c", "u1"), draws("c", "u1"));
        assert_ne!(draws("c", "u1"), draws("c", "u2"));
        assert_ne!(draws("c", "u1"), draws("d", "u1"));
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(draws("ab", "c"), draws("a", "bc"));
    }

    #[test]
    fn thresholds_cover_the_whole_range() {
        assert_eq!(threshold(0.0), 0);
        assert_eq!(threshold(1.0), u64::MAX);
        let tenth = threshold(0.1) as f64 / u64::MAX as f64;
        assert!((tenth - 0.1).abs() < 1e-9);
    }
}
