//! The structural check: walks the YAML tree against the campaign's JSON Schema and reports
//! every unknown, missing or mistyped key with its location.
//!
//! Driving the check from the schema (rather than from serde, which stops at the first error)
//! collects every problem in one pass, and keeps `timcast schema` and `validate` in agreement:
//! they read the same definition.

use std::path::Path;

use serde_json::{Map, Value as Json};

use super::diagnostic::Diagnostic;
use super::model::{HumanDuration, Percent, TimeOfDay, Timestamp};
use super::yaml::{Node, Value, key_text};

/// Checks `root` against `schema` and returns every problem found.
pub fn check(root: &Node, schema: &Json, file: &Path) -> Vec<Diagnostic> {
    let empty = Map::new();
    let defs = schema
        .get("$defs")
        .and_then(Json::as_object)
        .unwrap_or(&empty);
    let mut checker = Checker {
        defs,
        file,
        diagnostics: Vec::new(),
    };
    checker.check(root, schema, "");
    checker.diagnostics
}

struct Checker<'a> {
    defs: &'a Map<String, Json>,
    file: &'a Path,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    fn resolve(&self, mut schema: &'a Json) -> &'a Json {
        // A chain of references ends in a definition; a bad reference is our bug, not the user's.
        for _ in 0..16 {
            let Some(target) = schema.get("$ref").and_then(Json::as_str) else {
                break;
            };
            match target
                .strip_prefix("#/$defs/")
                .and_then(|name| self.defs.get(name))
            {
                Some(next) => schema = next,
                None => break,
            }
        }
        schema
    }

    fn error(&mut self, node: &Node, message: String) -> &mut Diagnostic {
        self.diagnostics
            .push(Diagnostic::error(self.file, Some(node.span), message));
        let last = self.diagnostics.len() - 1;
        &mut self.diagnostics[last]
    }

    fn check(&mut self, node: &Node, schema: &'a Json, path: &str) {
        let schema = self.resolve(schema);
        if let Some(branches) = schema.get("anyOf").and_then(Json::as_array) {
            self.check_any_of(node, branches, path);
            return;
        }
        if let Some(branches) = schema.get("oneOf").and_then(Json::as_array) {
            self.check_one_of(node, branches, path);
            return;
        }
        if !self.check_type(node, schema, path) {
            return;
        }
        if let Some(allowed) = schema.get("enum").and_then(Json::as_array) {
            let value = node.to_json();
            if !allowed.contains(&value) {
                let list = allowed.iter().map(show).collect::<Vec<_>>().join(", ");
                let shown = show(&value);
                self.error(node, format!("{shown} is not a valid value for `{path}`"))
                    .help = Some(format!("use one of: {list}"));
            }
        }
        if let Some(format) = schema.get("format").and_then(Json::as_str) {
            self.check_format(node, format, path);
        }
        match &node.value {
            Value::Map(entries) => self.check_object(node, entries, schema, path),
            Value::Seq(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (index, item) in items.iter().enumerate() {
                        self.check(item, item_schema, &format!("{path}[{index}]"));
                    }
                }
            }
            Value::Int(_) | Value::Float(_) => self.check_range(node, schema, path),
            _ => {}
        }
    }

    /// `anyOf` comes from `Option<T>` (T or null) and from types with several spellings.
    fn check_any_of(&mut self, node: &Node, branches: &'a [Json], path: &str) {
        let mut first_failure = None;
        for branch in branches {
            let mut trial = Checker {
                defs: self.defs,
                file: self.file,
                diagnostics: Vec::new(),
            };
            trial.check(node, branch, path);
            if trial.diagnostics.is_empty() {
                return;
            }
            let is_null_branch = self.resolve(branch).get("type") == Some(&Json::from("null"));
            if first_failure.is_none() && !is_null_branch {
                first_failure = Some(trial.diagnostics);
            }
        }
        self.diagnostics.extend(first_failure.unwrap_or_default());
    }

    /// `oneOf` comes from enums: unit variants (a closed set of strings) or externally tagged
    /// variants (a mapping with exactly one key naming the kind, like `- text: ...`).
    fn check_one_of(&mut self, node: &Node, branches: &'a [Json], path: &str) {
        let branches: Vec<&'a Json> = branches.iter().map(|b| self.resolve(b)).collect();
        let mut words = Vec::new();
        let mut tagged = Vec::new();
        for branch in &branches {
            if let Some(word) = branch.get("const").and_then(Json::as_str) {
                words.push(word.to_owned());
            } else if let Some(list) = branch.get("enum").and_then(Json::as_array) {
                words.extend(list.iter().filter_map(Json::as_str).map(str::to_owned));
            } else if let Some(tag) = single_required(branch) {
                tagged.push((tag, *branch));
            }
        }
        match &node.value {
            Value::String(s) if words.contains(s) => {}
            Value::Map(entries) if !tagged.is_empty() => {
                let kinds: Vec<&str> = tagged.iter().map(|(t, _)| *t).collect();
                if entries.len() != 1 {
                    let found = entries
                        .iter()
                        .map(|(k, _)| format!("`{}`", key_text(k)))
                        .collect::<Vec<_>>()
                        .join(", ");
                    self.error(
                        node,
                        format!("`{path}` must have exactly one kind; found {found}"),
                    )
                    .help = Some(format!(
                        "write one kind per list entry, one of: {}",
                        kinds.join(", ")
                    ));
                    return;
                }
                let (key, _) = &entries[0];
                let name = key_text(key);
                match tagged.iter().find(|(t, _)| *t == name) {
                    Some((_, branch)) => self.check(node, branch, path),
                    None => {
                        let mut help = format!("use one of: {}", kinds.join(", "));
                        if let Some(close) = closest(&name, kinds.iter().copied()) {
                            help = format!("did you mean `{close}`? ({help})");
                        }
                        self.error(key, format!("unknown kind `{name}` in `{path}`"))
                            .help = Some(help);
                    }
                }
            }
            _ => {
                let mut expected: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
                if !tagged.is_empty() {
                    let kinds: Vec<&str> = tagged.iter().map(|(t, _)| *t).collect();
                    expected.push(format!("a mapping with one of {}", kinds.join(", ")));
                }
                let found = match &node.value {
                    Value::String(s) => format!("`{s}`"),
                    other => other.kind().to_owned(),
                };
                let help = match tagged.first() {
                    Some((tag, _)) => format!(
                        "expected {}; for example `{tag}: ...`",
                        expected.join(" or ")
                    ),
                    None => format!("use one of: {}", expected.join(", ")),
                };
                let mut message = format!("{found} is not a valid value for `{path}`");
                if let (Value::String(s), false) = (&node.value, words.is_empty())
                    && let Some(close) = closest(s, words.iter().map(String::as_str))
                {
                    message = format!("{message} (did you mean `{close}`?)");
                }
                self.error(node, message).help = Some(help);
            }
        }
    }

    /// Checks the node's kind against `type`; false when it does not fit (nothing more to check).
    fn check_type(&mut self, node: &Node, schema: &Json, path: &str) -> bool {
        let types: Vec<&str> = match schema.get("type") {
            Some(Json::String(t)) => vec![t.as_str()],
            Some(Json::Array(list)) => list.iter().filter_map(Json::as_str).collect(),
            _ => return true,
        };
        let fits = types.iter().any(|t| {
            matches!(
                (*t, &node.value),
                ("null", Value::Null)
                    | ("boolean", Value::Bool(_))
                    | ("integer", Value::Int(_))
                    | ("number", Value::Int(_) | Value::Float(_))
                    | ("string", Value::String(_))
                    | ("array", Value::Seq(_))
                    | ("object", Value::Map(_))
            )
        });
        if !fits {
            let expected = types
                .iter()
                .filter(|t| **t != "null")
                .map(|t| type_word(t))
                .collect::<Vec<_>>()
                .join(" or ");
            let name = if path.is_empty() { "the file" } else { path };
            let found = match &node.value {
                Value::String(s) if s.chars().count() <= 40 => format!("the text `{s}`"),
                other => other.kind().to_owned(),
            };
            let hint = match (&node.value, types.contains(&"string")) {
                (Value::Null, _) => "give it a value, or remove the key".to_owned(),
                (Value::Int(_) | Value::Float(_) | Value::Bool(_), true) => {
                    "put the value in quotes to make it text".to_owned()
                }
                _ => match schema.get("description").and_then(Json::as_str) {
                    Some(d) => d.to_owned(),
                    None => format!("write {expected}"),
                },
            };
            self.error(
                node,
                format!("`{name}` should be {expected}, but it is {found}"),
            )
            .help = Some(hint);
        }
        fits
    }

    fn check_object(
        &mut self,
        node: &Node,
        entries: &[(Node, Node)],
        schema: &'a Json,
        path: &str,
    ) {
        let properties = schema.get("properties").and_then(Json::as_object);
        let additional = schema.get("additionalProperties");
        for (key, value) in entries {
            let name = key_text(key);
            let child_path = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            if !matches!(key.value, Value::String(_)) {
                self.error(
                    key,
                    format!("keys must be text; `{name}` in `{path}` is not"),
                );
                continue;
            }
            match properties.and_then(|p| p.get(&name)) {
                Some(child) => self.check(value, child, &child_path),
                None => match additional {
                    Some(Json::Bool(false)) => {
                        let keys: Vec<&str> = properties
                            .map(|p| p.keys().map(String::as_str).collect())
                            .unwrap_or_default();
                        let within = if path.is_empty() {
                            "the campaign".to_owned()
                        } else {
                            format!("`{path}`")
                        };
                        let mut help = format!("valid keys here: {}", keys.join(", "));
                        if let Some(close) = closest(&name, keys.iter().copied()) {
                            help = format!("did you mean `{close}`? ({help})");
                        }
                        self.error(key, format!("unknown key `{name}` in {within}"))
                            .help = Some(help);
                    }
                    Some(child @ Json::Object(_)) => self.check(value, child, &child_path),
                    _ => {}
                },
            }
        }
        let required = schema
            .get("required")
            .and_then(Json::as_array)
            .map(|r| r.iter().filter_map(Json::as_str).collect::<Vec<_>>())
            .unwrap_or_default();
        for name in required {
            if node.get(name).is_none() {
                let within = if path.is_empty() {
                    "the campaign".to_owned()
                } else {
                    format!("`{path}`")
                };
                let description = properties
                    .and_then(|p| p.get(name))
                    .map(|s| self.resolve(s))
                    .and_then(|s| s.get("description"))
                    .and_then(Json::as_str)
                    .map(|d| format!("add `{name}:` ({d})"))
                    .unwrap_or_else(|| format!("add `{name}:`"));
                self.error(node, format!("missing key `{name}` in {within}"))
                    .help = Some(description);
            }
        }
    }

    fn check_range(&mut self, node: &Node, schema: &Json, path: &str) {
        let value = match node.value {
            Value::Int(i) => i as f64,
            Value::Float(f) => f,
            _ => return,
        };
        let (mut low, mut high) = (
            schema.get("minimum").and_then(Json::as_f64),
            schema.get("maximum").and_then(Json::as_f64),
        );
        // schemars states the integer width as a format; the typed model cannot hold more.
        let bounds = match schema.get("format").and_then(Json::as_str) {
            Some("uint8") => Some((0.0, f64::from(u8::MAX))),
            Some("uint16") => Some((0.0, f64::from(u16::MAX))),
            Some("uint32") => Some((0.0, f64::from(u32::MAX))),
            Some("uint64" | "uint") => Some((0.0, u64::MAX as f64)),
            Some("int32") => Some((f64::from(i32::MIN), f64::from(i32::MAX))),
            Some("int64" | "int") => Some((i64::MIN as f64, i64::MAX as f64)),
            _ => None,
        };
        if let Some((lo, hi)) = bounds {
            low = Some(low.map_or(lo, |l| l.max(lo)));
            high = Some(high.map_or(hi, |h| h.min(hi)));
        }
        if let Some(low) = low.filter(|l| value < *l) {
            self.error(
                node,
                format!("`{path}` must be at least {low}, but it is {value}"),
            );
        } else if let Some(high) = high.filter(|h| value > *h) {
            self.error(
                node,
                format!("`{path}` must be at most {high}, but it is {value}"),
            );
        }
    }

    fn check_format(&mut self, node: &Node, format: &str, path: &str) {
        let Value::String(text) = &node.value else {
            return;
        };
        let result = match format {
            "duration" => HumanDuration::parse(text).map(drop).map_err(|e| {
                (
                    e,
                    "write a number with a unit: 30s, 90m, 12h or 3d".to_owned(),
                )
            }),
            "date-time" => Timestamp::parse(text).map(drop).map_err(|e| {
                (
                    e,
                    "write the time with its offset, e.g. 2026-11-27T09:00:00+08:00".to_owned(),
                )
            }),
            "percent" => Percent::parse(text).map(drop).map_err(|e| {
                (
                    e,
                    "write a share of the audience such as 10% or 2.5%".to_owned(),
                )
            }),
            "time-of-day" => TimeOfDay::parse(text)
                .map(drop)
                .map_err(|e| (e, "write HH:MM on a 24-hour clock".to_owned())),
            _ => Ok(()),
        };
        if let Err((message, help)) = result {
            self.error(node, format!("{message} (in `{path}`)")).help = Some(help);
        }
    }
}

/// The one required key of an externally tagged enum variant's schema.
fn single_required(schema: &Json) -> Option<&str> {
    let required = schema.get("required")?.as_array()?;
    match required.as_slice() {
        [only] if schema.get("type") == Some(&Json::from("object")) => only.as_str(),
        _ => None,
    }
}

fn type_word(t: &str) -> &'static str {
    match t {
        "boolean" => "true or false",
        "integer" => "a whole number",
        "number" => "a number",
        "string" => "text",
        "array" => "a list",
        "object" => "a mapping",
        _ => "a value",
    }
}

fn show(value: &Json) -> String {
    match value {
        Json::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    }
}

/// The candidate closest to `word` when it is close enough to be a likely typo.
pub fn closest<'c>(word: &str, candidates: impl Iterator<Item = &'c str>) -> Option<&'c str> {
    candidates
        // Optimal string alignment distance: a swap of two neighbours (`raet`) counts as one edit.
        .map(|c| (strsim::osa_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_key() {
        let keys = ["rate", "recipients_per_minute", "concurrency", "batch"];
        assert_eq!(closest("raet", keys.iter().copied()), Some("rate"));
        assert_eq!(
            closest("concurency", keys.iter().copied()),
            Some("concurrency")
        );
        assert_eq!(closest("zzzzzz", keys.iter().copied()), None);
    }

    #[test]
    fn a_swap_of_neighbours_is_one_edit() {
        assert_eq!(strsim::osa_distance("raet", "rate"), 1);
        assert_eq!(
            closest("bacth", ["batch", "rate"].into_iter()),
            Some("batch")
        );
    }
}
