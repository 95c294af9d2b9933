//! Saved plans (`plan --out PLAN`): the full per-recipient plan, with fingerprints of every
//! input, so that `apply PLAN` sends exactly what was reviewed or refuses.
//!
//! The file is JSON lines: a header (campaign, inputs and their SHA-256, the journal's state)
//! then one line per recipient. A plan can be applied once: its ID is recorded in the journal.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{DiffState, Plan, PlannedSend, request};
use crate::campaign::LoadedCampaign;
use crate::campaign::model::MessageElement;
use crate::journal::{JournalError, State};

/// Version of the saved-plan format.
pub const FORMAT: u32 = 1;

/// One input file and its SHA-256 when the plan was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFingerprint {
    /// What the file is to the campaign: `campaign`, `audience.csv`, `exclude`, `suppress`,
    /// `template`, `partial`.
    pub role: String,
    pub path: PathBuf,
    pub sha256: String,
}

/// The first line of a saved plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlanHeader {
    pub timcast_plan: u32,
    pub plan_id: String,
    pub campaign: String,
    pub campaign_file: PathBuf,
    pub created_at: String,
    pub inputs: Vec<InputFingerprint>,
    pub journal: State,
    pub journal_fingerprint: String,
    pub resend_changed: bool,
    pub resend_uncertain: bool,
    /// Absent in plans saved before the flag existed.
    #[serde(default)]
    pub retry_unknown: bool,
    pub pending: u64,
    pub summary: String,
}

/// One recipient line of a saved plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedSend {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    pub user_id: String,
    pub state: DiffState,
    pub pending: bool,
    pub content_hash: String,
}

/// Why a saved plan cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error("cannot read the plan {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not a timcast plan (line {line}: {message}); make one with `timcast plan CAMPAIGN --out PLAN`"
    )]
    Format {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "the plan {path} is stale: {role} {input} changed since it was made; run `timcast plan` again and review the new plan"
    )]
    Stale {
        path: PathBuf,
        role: String,
        input: PathBuf,
    },
    #[error(
        "the plan {path} is stale: the journal {journal} changed since it was made (another run sent or recorded something); run `timcast plan` again"
    )]
    JournalChanged { path: PathBuf, journal: State },
    #[error(
        "the plan {path} (id {plan_id}) was already applied; a plan can be applied once: run `timcast plan` again for what is left"
    )]
    AlreadyApplied { path: PathBuf, plan_id: String },
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// SHA-256 of a file's bytes, read in blocks.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Every file the campaign reads, in a fixed order.
pub fn input_files(loaded: &LoadedCampaign) -> Vec<(String, PathBuf)> {
    let campaign = &loaded.campaign;
    let mut files = vec![("campaign".to_owned(), loaded.path.clone())];
    let mut add = |role: &str, relative: &str| {
        if let Ok(path) = loaded.resolve(relative) {
            files.push((role.to_owned(), path));
        }
    };
    if let Some(csv) = &campaign.audience.csv {
        add("audience.csv", csv);
    }
    for list in &campaign.audience.exclude {
        add("exclude", list);
    }
    for element in &campaign.message {
        if let MessageElement::TextFile(path) = element {
            add("template", path);
        }
    }
    // The project partials its templates include: editing one changes every message.
    for partial in &loaded.partials {
        files.push(("partial".to_owned(), partial.path.clone()));
    }
    // The project's lists: a user unsubscribing after the review must not get the message.
    for (list, _) in loaded.project_suppression() {
        if let Ok(path) = loaded.resolve_suppress(list) {
            files.push(("suppress".to_owned(), path));
        }
    }
    files
}

/// SHA-256 of every file the campaign reads (the project file too) and of `settling`, the
/// options that decide who is settled: a resumed run whose digest matches the one its journal
/// checked before has nothing to check again.
pub(crate) fn inputs_digest(loaded: &LoadedCampaign, settling: &[bool]) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let project = loaded.project.file().filter(|p| p.is_file());
    let project = project.map(|path| ("project".to_owned(), path));
    for (role, path) in input_files(loaded).into_iter().chain(project) {
        for part in [role.as_str(), &path.to_string_lossy(), &file_sha256(&path)?] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
    }
    hasher.update(settling.iter().map(|&b| u8::from(b)).collect::<Vec<u8>>());
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn fingerprints(loaded: &LoadedCampaign) -> std::io::Result<Vec<InputFingerprint>> {
    input_files(loaded)
        .into_iter()
        .map(|(role, path)| {
            Ok(InputFingerprint {
                sha256: file_sha256(&path)?,
                role,
                path,
            })
        })
        .collect()
}

/// Writes a saved plan as it is built: the header needs the plan's totals, so the recipients
/// go to a temporary file first and are appended after the header.
#[derive(Debug)]
pub struct PlanWriter {
    path: PathBuf,
    body_path: PathBuf,
    body: BufWriter<File>,
    error: Option<std::io::Error>,
}

impl PlanWriter {
    pub fn create(path: &Path) -> std::io::Result<PlanWriter> {
        let body_path = path.with_extension("plan.partial");
        let body = BufWriter::new(File::create(&body_path)?);
        Ok(PlanWriter {
            path: path.to_owned(),
            body_path,
            body,
            error: None,
        })
    }

    /// Records one recipient (keeps the first write error for `finish`).
    pub fn add(&mut self, send: &PlannedSend) {
        if self.error.is_some() {
            return;
        }
        let line = SavedSend {
            row: send.row,
            user_id: send.user_id.clone(),
            state: send.state,
            pending: send.pending,
            content_hash: request::hex(&send.content_hash),
        };
        let result = serde_json::to_writer(&mut self.body, &line)
            .map_err(std::io::Error::other)
            .and_then(|()| self.body.write_all(b"\n"));
        if let Err(e) = result {
            self.error = Some(e);
        }
    }

    /// Writes the header and the recipients to the plan file.
    pub fn finish(
        mut self,
        loaded: &LoadedCampaign,
        plan: &Plan,
        options: &super::PlanOptions,
    ) -> Result<SavedPlanHeader, SavedPlanError> {
        let journal = &options.state;
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| SavedPlanError::Io { path, source }
        };
        if let Some(e) = self.error.take() {
            return Err(io(&self.path)(e));
        }
        self.body.flush().map_err(io(&self.body_path))?;
        let created_at = jiff::Timestamp::now();
        let mut header = SavedPlanHeader {
            timcast_plan: FORMAT,
            plan_id: String::new(),
            campaign: plan.campaign.clone(),
            campaign_file: loaded.path.clone(),
            created_at: created_at.to_string(),
            inputs: fingerprints(loaded).map_err(io(&loaded.path))?,
            journal: journal.clone(),
            journal_fingerprint: journal.fingerprint(&plan.campaign)?,
            resend_changed: options.resend_changed,
            resend_uncertain: options.resend_uncertain,
            retry_unknown: options.retry_unknown,
            pending: plan.pending,
            summary: super::output::summary_line(plan),
        };
        let identity = serde_json::to_vec(&header).unwrap_or_default();
        let digest = Sha256::new()
            .chain_update(&identity)
            .chain_update(created_at.as_nanosecond().to_le_bytes())
            .finalize();
        header.plan_id = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        let mut out = BufWriter::new(File::create(&self.path).map_err(io(&self.path))?);
        let header_line = serde_json::to_string(&header).unwrap_or_default();
        writeln!(out, "{header_line}").map_err(io(&self.path))?;
        drop(self.body);
        let mut body = File::open(&self.body_path).map_err(io(&self.body_path))?;
        std::io::copy(&mut body, &mut out).map_err(io(&self.path))?;
        out.flush().map_err(io(&self.path))?;
        let _ = std::fs::remove_file(&self.body_path);
        Ok(header)
    }
}

/// Reads a saved plan's header.
pub fn read_header(path: &Path) -> Result<SavedPlanHeader, SavedPlanError> {
    let file = File::open(path).map_err(|source| SavedPlanError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut first = String::new();
    BufReader::new(file)
        .read_line(&mut first)
        .map_err(|source| SavedPlanError::Io {
            path: path.to_owned(),
            source,
        })?;
    let header: SavedPlanHeader =
        serde_json::from_str(&first).map_err(|e| SavedPlanError::Format {
            path: path.to_owned(),
            line: 1,
            message: e.to_string(),
        })?;
    if header.timcast_plan != FORMAT {
        return Err(SavedPlanError::Format {
            path: path.to_owned(),
            line: 1,
            message: format!("plan format {} is not {FORMAT}", header.timcast_plan),
        });
    }
    Ok(header)
}

/// Whether a file looks like a saved plan (its first line is a plan header).
pub fn is_saved_plan(path: &Path) -> bool {
    read_header(path).is_ok()
}

/// Checks that a saved plan can be applied now: every input and the journal unchanged, and
/// the plan not applied before. Returns its header.
pub fn check(path: &Path) -> Result<SavedPlanHeader, SavedPlanError> {
    let header = read_header(path)?;
    for input in &header.inputs {
        let now = file_sha256(&input.path).ok();
        if now.as_deref() != Some(input.sha256.as_str()) {
            return Err(SavedPlanError::Stale {
                path: path.to_owned(),
                role: input.role.clone(),
                input: PathBuf::from(crate::project::display_path(&input.path)),
            });
        }
    }
    if let Some(journal) = header.journal.open_existing()?
        && journal.plan_applied(&header.plan_id)?
    {
        return Err(SavedPlanError::AlreadyApplied {
            path: path.to_owned(),
            plan_id: header.plan_id.clone(),
        });
    }
    if header.journal.fingerprint(&header.campaign)? != header.journal_fingerprint {
        return Err(SavedPlanError::JournalChanged {
            path: path.to_owned(),
            journal: header.journal.clone(),
        });
    }
    Ok(header)
}

/// Records that the plan was applied (call once the run starts sending).
pub fn mark_applied(header: &SavedPlanHeader) -> Result<(), SavedPlanError> {
    let journal = header.journal.open()?;
    journal.mark_plan_applied(
        &header.plan_id,
        &header.campaign,
        jiff::Timestamp::now().as_millisecond(),
    )?;
    Ok(())
}
