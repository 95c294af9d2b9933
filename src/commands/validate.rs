//! `timcast validate` and `timcast schema`: the campaign file checked, and its JSON Schema.

use std::io::Write;
use std::path::PathBuf;

use crate::campaign;
use crate::error::{Error, Exit, Result, written};

/// `timcast validate FILE|DIR...`: every file checked, every problem printed; exit 1 if any
/// fails.
pub(crate) async fn run(args: &[PathBuf]) -> Result {
    let mut files = Vec::new();
    for path in args {
        if path.is_dir() {
            let found = super::run::campaign_files(path).map_err(|e| {
                Error::user(format!(
                    "cannot read the campaign directory {}: {e}",
                    path.display()
                ))
            })?;
            if found.is_empty() {
                return Err(Error::user(format!(
                    "no campaign files (*.yaml, *.yml) in {}",
                    path.display()
                )));
            }
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    let mut out = std::io::stdout().lock();
    let mut failed = 0;
    for path in &files {
        let validation = campaign::validate(path);
        if validation.has_errors() {
            failed += 1;
        }
        written(write!(out, "{}", validation.render()))?;
        written(writeln!(out, "{}", validation.summary(path)))?;
    }
    if failed > 0 {
        // The diagnostics above say everything; nothing more to print.
        return Err(Error::Invalid {
            report: String::new(),
        });
    }
    Ok(Exit::Ok)
}

/// `timcast schema`: the JSON Schema of the campaign file.
pub(crate) async fn schema() -> Result {
    let schema = campaign::schema_json();
    written(writeln!(std::io::stdout().lock(), "{schema}"))?;
    Ok(Exit::Ok)
}
