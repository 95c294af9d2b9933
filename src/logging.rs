//! Where timcast's messages to people and log shippers go: one tracing subscriber, set up
//! once from `--log-format`, `-v` and `-q`, writing to stderr.
//!
//! `text` prints each message as the commands always printed it (so a terminal reads the same
//! and scripts that grep stderr keep working); debug and trace lines name their level and
//! fields. `json` prints exactly one JSON object per line — `timestamp`, `level`, `message`,
//! the fields of the spans it happened in (`campaign`, `command`, …) and its own — for CI and
//! log shippers. tracing-subscriber's own JSON formatter nests span fields under `span` and
//! `spans`; the shape asked for puts `campaign` at the top, hence this small layer.
//!
//! Lines go through tracing-indicatif's writer, which hides the progress bar while a line is
//! written, so a log line never clobbers the bar and the bar never cuts a line.

use std::io::Write;
use std::sync::OnceLock;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_indicatif::IndicatifLayer;
use tracing_indicatif::filter::IndicatifFilter;
use tracing_indicatif::writer::{IndicatifWriter, Stderr};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// The messages as a person reads them.
    #[default]
    Text,
    /// One JSON object per line: `level`, `message`, `campaign` and the fields.
    Json,
}

/// The logging settings of one invocation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LogSettings {
    pub format: LogFormat,
    /// `-v` count minus `-q` count: 0 info, 1 debug, 2 trace; -1 warnings, -2 errors only.
    pub verbosity: i8,
}

impl LogSettings {
    pub(crate) fn new(format: LogFormat, verbose: u8, quiet: u8) -> LogSettings {
        let verbosity = i8::try_from(i16::from(verbose) - i16::from(quiet)).unwrap_or(0);
        LogSettings { format, verbosity }
    }

    /// The most verbose level written.
    pub(crate) fn level(self) -> Level {
        match self.verbosity {
            i8::MIN..=-2 => Level::ERROR,
            -1 => Level::WARN,
            0 => Level::INFO,
            1 => Level::DEBUG,
            _ => Level::TRACE,
        }
    }

    pub(crate) fn json(self) -> bool {
        self.format == LogFormat::Json
    }
}

static SETTINGS: OnceLock<LogSettings> = OnceLock::new();

/// Installs the process's subscriber. A second call (the library run twice in one process)
/// keeps the first one.
pub(crate) fn init(settings: LogSettings) {
    if SETTINGS.set(settings).is_err() {
        return;
    }
    let indicatif: IndicatifLayer<_> = IndicatifLayer::new();
    let lines = Lines {
        format: settings.format,
        writer: indicatif.get_stderr_writer(),
    };
    let max = settings.level();
    // Spans up to info are always kept, so a warning under -q still names its campaign.
    let filter = filter_fn(move |meta| {
        meta.level() <= &max || (meta.is_span() && *meta.level() <= Level::INFO)
    });
    let subscriber = tracing_subscriber::registry()
        .with(lines.with_filter(filter))
        // Bars only for the spans that ask for one (the run's progress), not for every call.
        .with(indicatif.with_filter(IndicatifFilter::new(false)));
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// The fields of a span, kept in its extensions for the events inside it.
struct SpanFields(Map<String, Value>);

/// The layer that writes each event as one line.
struct Lines {
    format: LogFormat,
    writer: IndicatifWriter<Stderr>,
}

impl<S> Layer<S> for Lines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields.map));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        values.record(&mut fields);
        let mut extensions = span.extensions_mut();
        match extensions.get_mut::<SpanFields>() {
            Some(SpanFields(map)) => map.extend(fields.map),
            None => extensions.insert(SpanFields(fields.map)),
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let level = *event.metadata().level();
        let line = match self.format {
            LogFormat::Text => text_line(level, fields),
            LogFormat::Json => {
                let mut spans = Map::new();
                let mut innermost = None;
                if let Some(scope) = ctx.event_scope(event) {
                    for span in scope.from_root() {
                        if let Some(SpanFields(map)) = span.extensions().get::<SpanFields>() {
                            spans.extend(map.clone());
                        }
                        innermost = Some(span.name());
                    }
                }
                json_line(level, innermost, spans, fields)
            }
        };
        let mut out = self.writer.make_writer();
        let _ = out.write_all(line.as_bytes());
        let _ = out.flush();
    }
}

/// A text line: info, warnings and errors exactly as their message says (it carries its own
/// `warning:` or `error:` where the commands always printed one); debug and trace name their
/// level and show their fields.
fn text_line(level: Level, fields: Fields) -> String {
    let mut line = if level <= Level::INFO {
        fields.message
    } else {
        let mut line = format!("{}: {}", level.as_str().to_lowercase(), fields.message);
        for (key, value) in &fields.map {
            match value {
                Value::String(s) => line.push_str(&format!(" {key}={s}")),
                other => line.push_str(&format!(" {key}={other}")),
            }
        }
        line
    };
    // A message that is a whole block (rendered diagnostics) ends with its own newline.
    if !line.ends_with('\n') {
        line.push('\n');
    }
    line
}

/// A JSON line: the time, the level, the message, the spans' fields and then the event's (an
/// event's field wins over a span's of the same name).
fn json_line(
    level: Level,
    span: Option<&str>,
    spans: Map<String, Value>,
    fields: Fields,
) -> String {
    let mut object = Map::new();
    object.insert(
        "timestamp".into(),
        Value::String(jiff::Timestamp::now().to_string()),
    );
    object.insert("level".into(), Value::String(level.as_str().to_lowercase()));
    object.insert(
        "message".into(),
        Value::String(fields.message.trim_end_matches('\n').to_owned()),
    );
    if let Some(span) = span {
        object.insert("span".into(), Value::String(span.to_owned()));
    }
    for (key, value) in spans.into_iter().chain(fields.map) {
        if key != "timestamp" && key != "level" && key != "message" {
            object.insert(key, value);
        }
    }
    let mut line = Value::Object(object).to_string();
    line.push('\n');
    line
}

/// Collects an event's or a span's fields as JSON values; `message` apart.
#[derive(Default)]
struct Fields {
    message: String,
    map: Map<String, Value>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        // tracing-indicatif's own markers are for the bars, not for the log.
        if field.name().starts_with("indicatif.") {
            return;
        }
        if field.name() == "message" {
            self.message = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
        } else {
            self.map.insert(field.name().to_owned(), value);
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }
}

/// Writes a block of text meant for the user's terminal (rendered diagnostics, a plan): as
/// it is in text mode, as one info or warning object in JSON mode.
pub(crate) fn block(level: Level, text: &str) {
    if text.trim().is_empty() {
        return;
    }
    match level {
        Level::ERROR => tracing::error!("{text}"),
        Level::WARN => tracing::warn!("{text}"),
        _ => tracing::info!("{text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(message: &str, extra: &[(&str, Value)]) -> Fields {
        Fields {
            message: message.to_owned(),
            map: extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        }
    }

    #[test]
    fn text_lines_print_info_and_warnings_as_the_message_says() {
        assert_eq!(
            text_line(Level::WARN, fields("warning: careful", &[("n", 3.into())])),
            "warning: careful\n"
        );
        assert_eq!(text_line(Level::INFO, fields("block\n", &[])), "block\n");
        assert_eq!(
            text_line(
                Level::DEBUG,
                fields("call", &[("endpoint", "sendmsg".into())])
            ),
            "debug: call endpoint=sendmsg\n"
        );
    }

    #[test]
    fn a_json_line_is_one_object_with_level_message_and_the_campaign_on_top() {
        let mut spans = Map::new();
        spans.insert("campaign".into(), "spring".into());
        let line = json_line(
            Level::WARN,
            Some("campaign"),
            spans,
            fields("two\nlines\n", &[("sent", 3.into())]),
        );
        assert!(line.ends_with('\n'));
        assert_eq!(line.trim_end().lines().count(), 1);
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["level"], "warn");
        assert_eq!(value["message"], "two\nlines");
        assert_eq!(value["campaign"], "spring");
        assert_eq!(value["sent"], 3);
    }

    #[test]
    fn verbosity_counts_from_info() {
        assert_eq!(LogSettings::new(LogFormat::Text, 0, 0).level(), Level::INFO);
        assert_eq!(
            LogSettings::new(LogFormat::Text, 1, 0).level(),
            Level::DEBUG
        );
        assert_eq!(
            LogSettings::new(LogFormat::Text, 5, 0).level(),
            Level::TRACE
        );
        assert_eq!(LogSettings::new(LogFormat::Text, 0, 1).level(), Level::WARN);
        assert_eq!(
            LogSettings::new(LogFormat::Json, 0, 3).level(),
            Level::ERROR
        );
    }
}
