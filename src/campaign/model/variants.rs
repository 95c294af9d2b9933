//! Variants (A/B/n tests), the holdout group and locales: what a campaign sends to whom
//! beyond its one default message.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{MessageElement, Push};

/// One variant of an A/B/n test. Each recipient is assigned one, by a hash of the campaign's
/// name and their UserID, in proportion to the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// The variant's name, recorded in the journal and reports: letters, digits, `.`, `_`, `-`.
    pub name: String,
    /// Its share of the recipients, relative to the other variants' weights.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Template variables that replace the campaign's `vars` of the same name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, serde_json::Value>,
    /// The variant's own message, instead of the campaign's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Vec<MessageElement>>,
    /// The variant's own offline push, instead of the campaign's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<Push>,
    /// The variant's own `CloudCustomData` template, instead of the campaign's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_custom_data: Option<String>,
    /// Translations of the variant's own `message` and `push`, as in the campaign's
    /// `locales`. A variant without its own message uses the campaign's translations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub locales: BTreeMap<String, LocaleContent>,
}

fn default_weight() -> u32 {
    1
}

/// A translation of the message for recipients whose locale matches the key (a BCP 47 tag:
/// `zh`, `zh-Hant`, `pt-BR`). A recipient's locale falls back by prefix: `zh-Hant-TW`, then
/// `zh-Hant`, then `zh`, then the default message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocaleContent {
    /// The message in this locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Vec<MessageElement>>,
    /// The offline push in this locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<Push>,
}

/// A share of the audience written `10%` (0% to 100%, decimals allowed: `2.5%`).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Percent(f64);

impl Percent {
    /// The share as a fraction in [0, 1].
    pub fn fraction(self) -> f64 {
        self.0 / 100.0
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let number = text
            .trim()
            .strip_suffix('%')
            .ok_or_else(|| format!("`{text}` is not a percentage"))?;
        let value: f64 = number
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not a percentage"))?;
        if !(0.0..=100.0).contains(&value) {
            return Err(format!("`{text}` is not between 0% and 100%"));
        }
        Ok(Percent(value))
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Percent::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Percent {
    fn schema_name() -> Cow<'static, str> {
        "Percent".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A share of the audience: `10%`, `2.5%`.",
            "type": "string",
            "pattern": "^[0-9]+(\\.[0-9]+)?%$",
            "format": "percent"
        })
    }
}
