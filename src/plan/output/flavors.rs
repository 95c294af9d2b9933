//! The plan's variants (with the holdout) and locales, as rows for the text and markdown
//! tables; JSON has them as they are.

use super::super::{DiffState, Plan};

/// One line of a variants or locales table.
pub(super) struct FlavorRow {
    pub(super) name: String,
    pub(super) recipients: u64,
    pub(super) pending: u64,
    pub(super) note: String,
}

/// The variants (with the holdout as a line of its own) and the locales used, as tables.
pub(super) fn flavor_tables(plan: &Plan) -> Vec<(&'static str, Vec<FlavorRow>)> {
    let mut tables = Vec::new();
    let held_out = plan.count(DiffState::HeldOut);
    if !plan.variants.is_empty() || held_out > 0 {
        let total_weight: u64 = plan.variants.iter().map(|v| u64::from(v.weight)).sum();
        let mut rows: Vec<FlavorRow> = plan
            .variants
            .iter()
            .map(|v| {
                let share = match total_weight {
                    0 => 0.0,
                    w => f64::from(v.weight) * 100.0 / w as f64,
                };
                let example = match (&v.example_user_id, &v.preview) {
                    (Some(user), Some(text)) => {
                        let first = text.lines().next().unwrap_or_default();
                        format!(", e.g. {user}: {}", clip(first, 60))
                    }
                    _ => String::new(),
                };
                FlavorRow {
                    name: v.name.clone(),
                    recipients: v.recipients,
                    pending: v.pending,
                    note: format!(", weight {} ({share:.0}%){example}", v.weight),
                }
            })
            .collect();
        if held_out > 0 {
            rows.push(FlavorRow {
                name: "held out".to_owned(),
                recipients: held_out,
                pending: 0,
                note: ", the control group: never sent".to_owned(),
            });
        }
        tables.push(("Variants", rows));
    }
    if !plan.locales.is_empty() {
        let rows = plan
            .locales
            .iter()
            .map(|l| FlavorRow {
                name: l.locale.clone(),
                recipients: l.recipients,
                pending: l.pending,
                note: String::new(),
            })
            .collect();
        tables.push(("Locales", rows));
    }
    tables
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
