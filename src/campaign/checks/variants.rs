//! Variants, the holdout, locales, tags and frequency caps: names, weights and tags that make
//! sense, the columns they read, and every variant's and translation's message, push and
//! templates checked as the campaign's own are, with problems located at their own keys.

use std::collections::BTreeSet;

use crate::audience::CsvHeader;
use crate::campaign::model::{Campaign, LocaleContent};

use super::{Checks, Found};

impl Checks<'_> {
    pub(super) fn variants_and_locales(&mut self, header: Option<&CsvHeader>) {
        let campaign = self.campaign;
        self.tags_and_cap();
        if campaign.audience.official_account.is_some() {
            for (key, used) in [
                ("variants", !campaign.variants.is_empty()),
                ("holdout", campaign.holdout.is_some()),
                ("locales", !campaign.locales.is_empty()),
                ("frequency_cap", campaign.frequency_cap.is_some()),
            ] {
                if used {
                    self.error(
                        &format!("/{key}"),
                        format!("`{key}` does not work with an official account"),
                        "one official-account broadcast reaches every subscriber with one message: use a CSV audience to treat recipients apart",
                    );
                }
            }
            return;
        }
        self.variant_names();
        self.locale_keys(header);
        if let Some(holdout) = campaign.holdout
            && holdout.fraction() >= 1.0
        {
            self.warning(
                "/holdout",
                "the holdout is 100%: nobody will be sent the campaign",
                "a control group is usually 5% to 20% of the audience",
            );
        }
        // Each variant's and translation's own content, as the campaign's is checked.
        for (index, variant) in campaign.variants.iter().enumerate() {
            let mut derived = campaign.clone();
            derived.vars.extend(variant.vars.clone());
            self.section(
                &format!("/variants/{index}"),
                derived.clone(),
                variant.message.clone(),
                variant.push.clone(),
                variant.cloud_custom_data.clone(),
                header,
            );
            for (key, content) in &variant.locales {
                self.locale_section(
                    &format!("/variants/{index}/locales/{key}"),
                    &derived,
                    content,
                    header,
                );
            }
        }
        for (key, content) in &campaign.locales {
            self.locale_section(&format!("/locales/{key}"), campaign, content, header);
        }
    }

    /// Tags are plain names; a cap allows at least one message over a window of some length.
    fn tags_and_cap(&mut self) {
        let campaign = self.campaign;
        let cap_tags = campaign.frequency_cap.iter().flat_map(|cap| {
            cap.tags
                .iter()
                .enumerate()
                .map(|(i, t)| (format!("/frequency_cap/tags/{i}"), t))
        });
        let own_tags = campaign
            .tags
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("/tags/{i}"), t));
        for (pointer, tag) in own_tags.chain(cap_tags).collect::<Vec<_>>() {
            if !plain_name(tag) {
                self.error(
                    &pointer,
                    format!("`{tag}` is not a valid tag"),
                    "use 1 to 32 letters, digits, `.`, `_` or `-` (the journal records it), e.g. promo or transactional",
                );
            }
        }
        let Some(cap) = &campaign.frequency_cap else {
            return;
        };
        if cap.max == 0 {
            self.error(
                "/frequency_cap/max",
                "`max: 0` would let nobody receive the campaign",
                "the most messages a recipient may have had in `per` from other campaigns: 1 or more",
            );
        }
        if cap.per.get().is_zero() {
            self.error(
                "/frequency_cap/per",
                "`per` is zero: the cap would count nothing",
                "give the window the cap counts over, e.g. `per: 7d` or `per: 24h`",
            );
        }
    }

    fn variant_names(&mut self) {
        let variants = &self.campaign.variants;
        let mut seen = BTreeSet::new();
        for (index, variant) in variants.iter().enumerate() {
            let name = &variant.name;
            if !plain_name(name) {
                self.error(
                    &format!("/variants/{index}/name"),
                    format!("`{name}` is not a valid variant name"),
                    "use 1 to 32 letters, digits, `.`, `_` or `-` (the journal and reports record it), e.g. a, b or control-text",
                );
            } else if !seen.insert(name.as_str()) {
                self.error(
                    &format!("/variants/{index}/name"),
                    format!("two variants are named `{name}`"),
                    "give every variant its own name: results are compared by name",
                );
            }
            for key in variant.locales.keys() {
                if variant.message.is_none() && variant.push.is_none() {
                    self.error(
                        &format!("/variants/{index}/locales/{key}"),
                        format!("variant `{name}` translates a message it does not have"),
                        "a variant's `locales` translate its own `message` and `push`; without them it uses the campaign's `locales`",
                    );
                }
            }
        }
        if !variants.is_empty() && variants.iter().all(|v| v.weight == 0) {
            self.error(
                "/variants",
                "every variant has weight 0: nobody could be assigned one",
                "give at least one variant a weight of 1 or more",
            );
        }
        if variants.len() == 1 {
            self.warning(
                "/variants",
                "only one variant: everyone who is not held out gets it",
                "add a second variant to compare them, or drop `variants`",
            );
        }
    }

    fn locale_keys(&mut self, header: Option<&CsvHeader>) {
        let campaign = self.campaign;
        let translated =
            !campaign.locales.is_empty() || campaign.variants.iter().any(|v| !v.locales.is_empty());
        let keys: Vec<String> = campaign
            .locales
            .keys()
            .map(|k| format!("/locales/{k}"))
            .chain(campaign.variants.iter().enumerate().flat_map(|(i, v)| {
                v.locales
                    .keys()
                    .map(move |k| format!("/variants/{i}/locales/{k}"))
            }))
            .collect();
        for pointer in keys {
            let key = pointer.rsplit('/').next().unwrap_or_default();
            if !locale_tag(key) {
                self.error(
                    &pointer,
                    format!("`{key}` is not a BCP 47 language tag"),
                    "write a language, optionally with script and region: zh, zh-Hant, pt-BR",
                );
            }
        }
        match (&campaign.audience.locale_column, translated) {
            (None, true) => self.error(
                "/locales",
                "`locales` needs the column that holds each recipient's locale",
                "set `audience.locale_column`, e.g. `locale_column: locale`",
            ),
            (Some(_), false) => self.warning(
                "/audience/locale_column",
                "`locale_column` is set but the campaign has no `locales`",
                "add `locales:` with translations, or drop `locale_column`",
            ),
            (Some(column), true) => {
                if let Some(header) = header
                    && !header.has(column)
                {
                    self.error(
                        "/audience/locale_column",
                        format!("the audience CSV has no column `{column}`"),
                        format!("its columns are: {}", header.columns.join(", ")),
                    );
                }
            }
            (None, false) => {}
        }
    }

    fn locale_section(
        &mut self,
        at: &str,
        campaign: &Campaign,
        content: &LocaleContent,
        header: Option<&CsvHeader>,
    ) {
        self.section(
            at,
            campaign.clone(),
            content.message.clone(),
            content.push.clone(),
            None,
            header,
        );
    }

    /// Checks one section's message, push and custom data (those it has) as the campaign's
    /// own are checked, located under `at`.
    fn section(
        &mut self,
        at: &str,
        mut derived: Campaign,
        message: Option<Vec<crate::campaign::model::MessageElement>>,
        push: Option<crate::campaign::model::Push>,
        cloud_custom_data: Option<String>,
        header: Option<&CsvHeader>,
    ) {
        let has_message = message.is_some();
        let has_push = push.is_some();
        derived.message = message.unwrap_or_default();
        derived.push = push;
        derived.cloud_custom_data = cloud_custom_data;
        let mut sub = Checks {
            loaded: self.loaded,
            campaign: &derived,
            found: Found::default(),
            at: at.to_owned(),
        };
        if has_message {
            sub.elements();
        }
        if has_push {
            sub.push();
        }
        sub.templates(header);
        let found = sub.found;
        self.found.diagnostics.extend(found.diagnostics);
        self.found.sources.extend(found.sources);
        self.found.partials.extend(found.partials);
        self.found
            .templates
            .extend(found.templates.into_iter().map(|mut t| {
                t.pointer = format!("{at}{}", t.pointer);
                t
            }));
    }
}

/// 1 to 32 letters, digits, `.`, `_` or `-`.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A BCP 47 tag's shape: a 2-8 letter language, then subtags of 1-8 letters or digits.
fn locale_tag(key: &str) -> bool {
    let mut parts = key.split('-');
    let language = parts.next().unwrap_or_default();
    (2..=8).contains(&language.len())
        && language.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_tags_have_a_language_and_short_subtags() {
        for good in ["zh", "zh-Hant", "zh-Hant-TW", "pt-BR", "es-419"] {
            assert!(locale_tag(good), "{good}");
        }
        for bad in ["", "z", "zh_TW", "zh-", "chinese-traditional-taiwan9", "1a"] {
            assert!(!locale_tag(bad), "{bad}");
        }
    }
}
