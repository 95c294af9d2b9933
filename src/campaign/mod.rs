//! The campaign file format (version 1): loading, validation and JSON Schema.

use std::path::PathBuf;

/// Validates campaign files and prints their diagnostics; returns the exit code.
pub fn validate_command(files: &[PathBuf]) -> u8 {
    let _ = files;
    crate::exit::USER_ERROR
}

/// The JSON Schema of the campaign file.
pub fn schema_json() -> String {
    String::from("{}")
}
