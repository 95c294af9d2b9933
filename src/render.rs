//! The Handlebars registry and helpers: recipient -> rendered message.
