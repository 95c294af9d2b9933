//! A YAML document as a tree of nodes that remember where they stand in the file.
//!
//! serde-saphyr parses (and rejects syntax errors and duplicate keys with their location); the
//! tree keeps every node's span so that later checks can point at the exact text. The typed
//! model is deserialized from this tree only after the structural checks have passed.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

/// Where a node stands in its source: byte offset and length, 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub offset: usize,
    pub len: usize,
    pub line: usize,
    pub column: usize,
}

impl Span {
    fn from_location(location: &Location, source: &str) -> Span {
        let span = location.span();
        let offset = span.byte_offset().map_or_else(
            || offset_of(source, location.line() as usize, location.column() as usize),
            |o| o as usize,
        );
        let len = span.byte_len().unwrap_or(0) as usize;
        Span {
            offset: offset.min(source.len()),
            len,
            line: location.line() as usize,
            column: location.column() as usize,
        }
    }

    /// The span of `len` bytes starting `delta` characters after this one's start (same
    /// line) in `source`: columns count characters, offsets count bytes.
    pub fn shifted(self, source: &str, delta: usize, len: usize) -> Span {
        let bytes: usize = source
            .get(self.offset..)
            .unwrap_or_default()
            .chars()
            .take(delta)
            .map(char::len_utf8)
            .sum();
        Span {
            offset: self.offset + bytes,
            len,
            line: self.line,
            column: self.column + delta,
        }
    }
}

/// Byte offset of a 1-based line and column (counted in characters).
pub fn offset_of(source: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (index, text) in source.split_inclusive('\n').enumerate() {
        if index + 1 == line {
            let within: usize = text
                .chars()
                .take(column.saturating_sub(1))
                .map(char::len_utf8)
                .sum();
            return offset + within;
        }
        offset += text.len();
    }
    source.len()
}

/// A YAML value with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

/// The kinds of YAML value a campaign file may hold, with child nodes of type `N` (the
/// parser's own nodes while reading, then [`Node`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Value<N = Node> {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    String(String),
    Seq(Vec<N>),
    /// Keys in file order; duplicates were already refused by the parser.
    Map(Vec<(N, N)>),
}

impl<N> Value<N> {
    /// The word a diagnostic uses for this kind of value.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::String(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl Node {
    /// The value under `key` when this node is a mapping with a string key of that name.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(&k.value, Value::String(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The node at a JSON-pointer-like path (`/audience/csv`, `/message/0/text`).
    pub fn at(&self, pointer: &str) -> Option<&Node> {
        let mut node = self;
        for part in pointer.split('/').filter(|p| !p.is_empty()) {
            node = match &node.value {
                Value::Map(_) => node.get(part)?,
                Value::Seq(items) => items.get(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// This tree without the nodes that start at one of `offsets` (a mapping entry goes when
    /// its key or its value does), so that the rest of a file whose structure has errors can
    /// still be checked.
    pub fn without(&self, offsets: &[usize]) -> Node {
        let gone = |n: &Node| offsets.contains(&n.span.offset);
        let value = match &self.value {
            Value::Seq(items) => Value::Seq(
                items
                    .iter()
                    .filter(|n| !gone(n))
                    .map(|n| n.without(offsets))
                    .collect(),
            ),
            Value::Map(entries) => Value::Map(
                entries
                    .iter()
                    .filter(|(k, v)| !gone(k) && !gone(v))
                    .map(|(k, v)| (k.clone(), v.without(offsets)))
                    .collect(),
            ),
            other => other.clone(),
        };
        Node {
            value,
            span: self.span,
        }
    }

    /// Whether a node starting at `at` holds, below it, a node starting at one of `offsets`.
    pub fn encloses(&self, at: usize, offsets: &[usize]) -> bool {
        let children: Vec<&Node> = match &self.value {
            Value::Seq(items) => items.iter().collect(),
            Value::Map(entries) => entries.iter().flat_map(|(k, v)| [k, v]).collect(),
            _ => return false,
        };
        if self.span.offset == at && children.iter().any(|c| c.holds_one_of(offsets)) {
            return true;
        }
        children.iter().any(|c| c.encloses(at, offsets))
    }

    fn holds_one_of(&self, offsets: &[usize]) -> bool {
        offsets.contains(&self.span.offset)
            || match &self.value {
                Value::Seq(items) => items.iter().any(|n| n.holds_one_of(offsets)),
                Value::Map(entries) => entries
                    .iter()
                    .any(|(k, v)| k.holds_one_of(offsets) || v.holds_one_of(offsets)),
                _ => false,
            }
    }

    /// The plain JSON value of this tree, for deserializing the typed model.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => {
                if let Ok(v) = i64::try_from(*i) {
                    J::from(v)
                } else if let Ok(v) = u64::try_from(*i) {
                    J::from(v)
                } else {
                    J::from(*i as f64)
                }
            }
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::String(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (key_text(k), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// A mapping key as text (YAML allows non-string keys; the campaign format does not use them).
pub fn key_text(key: &Node) -> String {
    match &key.value {
        Value::String(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_owned(),
        Value::Seq(_) | Value::Map(_) => "<complex key>".to_owned(),
    }
}

/// A YAML syntax error (including duplicate keys), with its location when the parser gave one.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub message: String,
    pub span: Option<Span>,
}

/// Parses one YAML document into a spanned tree.
pub fn parse(source: &str) -> Result<Node, SyntaxError> {
    if source.trim().is_empty() {
        return Err(SyntaxError {
            message: "the file is empty".to_owned(),
            span: Some(Span {
                offset: 0,
                len: 0,
                line: 1,
                column: 1,
            }),
        });
    }
    // YAML 1.2 core: only true/false are booleans (so `batch: off` stays the word `off`), and
    // `007` stays text rather than becoming 7.
    let options = serde_saphyr::options! {
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
    };
    let raw: RawNode =
        serde_saphyr::from_str_with_options(source, options).map_err(|err| SyntaxError {
            message: syntax_message(&err),
            span: err
                .location()
                .filter(|l| l.line() > 0)
                .map(|l| Span::from_location(&l, source)),
        })?;
    Ok(raw.into_node(source))
}

/// serde-saphyr's message without its own location suffix or snippet: we draw our own.
fn syntax_message(err: &serde_saphyr::Error) -> String {
    let text = err.without_snippet().to_string();
    let mut first = text.lines().next().unwrap_or_default();
    if let Some(cut) = first.rfind(" at line ") {
        first = &first[..cut];
    }
    // The parser's advice about its own options means nothing to a campaign author.
    if let Some(cut) = first.find(", set DuplicateKeyPolicy") {
        first = &first[..cut];
    }
    first.to_owned()
}

/// The tree as serde-saphyr hands it over: spans still as its own `Location`s.
struct RawNode(Spanned<RawValue>);

type RawValue = Value<RawNode>;

impl RawNode {
    fn into_node(self, source: &str) -> Node {
        let span = Span::from_location(&self.0.referenced, source);
        let value = match self.0.value {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(b),
            Value::Int(i) => Value::Int(i),
            Value::Float(f) => Value::Float(f),
            Value::String(s) => Value::String(s),
            Value::Seq(items) => {
                Value::Seq(items.into_iter().map(|n| n.into_node(source)).collect())
            }
            Value::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.into_node(source), v.into_node(source)))
                    .collect(),
            ),
        };
        Node { value, span }
    }
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Spanned::<RawValue>::deserialize(deserializer).map(RawNode)
    }
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawValueVisitor)
    }
}

struct RawValueVisitor;

impl<'de> Visitor<'de> for RawValueVisitor {
    type Value = RawValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawValue, D::Error> {
        RawValue::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawValue, E> {
        Ok(RawValue::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawValue, E> {
        Ok(RawValue::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<RawValue, E> {
        Ok(RawValue::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawValue, E> {
        Ok(RawValue::Int(v.into()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<RawValue, E> {
        Ok(i128::try_from(v).map_or(RawValue::Float(v as f64), RawValue::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawValue, E> {
        Ok(RawValue::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawValue, E> {
        Ok(RawValue::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<RawValue, E> {
        Ok(RawValue::String(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<RawValue, E> {
        Ok(RawValue::String(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<RawNode>()? {
            items.push(item);
        }
        Ok(RawValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<RawNode>()? {
            let value = map.next_value::<RawNode>()?;
            entries.push((key, value));
        }
        Ok(RawValue::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shift_counts_characters_in_columns_and_bytes_in_offsets() {
        let src = "text: \"你好，{{first_nmae}}\"\n";
        let node = parse(src).unwrap();
        let text = node.at("/text").unwrap().span;
        // Inside the quotes, the template's column 6 is `first_nmae` (after 你好，{{).
        let name = text.shifted(src, 6, "first_nmae".len());
        assert_eq!(&src[name.offset..name.offset + name.len], "first_nmae");
        assert_eq!(name.column, text.column + 6);
    }

    #[test]
    fn spans_point_at_values_and_keys() {
        let src = "name: hello\naudience:\n  csv: data/x.csv\nlist: [1, 2.5, true]\n";
        let root = parse(src).unwrap();
        let csv = root.at("/audience/csv").unwrap();
        assert_eq!(csv.as_str(), Some("data/x.csv"));
        assert_eq!((csv.span.line, csv.span.column), (3, 8));
        assert_eq!(&src[csv.span.offset..csv.span.offset + 10], "data/x.csv");
        let item = root.at("/list/1").unwrap();
        assert_eq!(item.value, Value::Float(2.5));
        assert_eq!(item.span.line, 4);
    }

    #[test]
    fn duplicate_keys_are_syntax_errors_with_a_location() {
        let err = parse("name: a\nname: b\n").unwrap_err();
        assert!(err.message.contains("duplicate"), "{}", err.message);
        assert_eq!(err.span.map(|s| s.line), Some(2));
    }

    #[test]
    fn syntax_errors_carry_a_location() {
        let err = parse("name: [unclosed\nversion: 1\n").unwrap_err();
        assert!(err.span.is_some(), "{err:?}");
    }

    #[test]
    fn yaml_1_1_booleans_and_leading_zeros_stay_text() {
        let root = parse(
            "batch: off
flag: true
id: 007
",
        )
        .unwrap();
        assert_eq!(root.at("/batch").unwrap().as_str(), Some("off"));
        assert_eq!(root.at("/flag").unwrap().value, Value::Bool(true));
        assert_eq!(root.at("/id").unwrap().as_str(), Some("007"));
    }
}
