//! Renames the diff cannot see: a drop and an add that look like one
//! rename. The diff reports what changed; these are the pairs worth asking
//! the user about (`migrate` asks, or names the flag that says so).

use std::collections::BTreeSet;

use serde::Serialize;

use super::{Change, Detail};
use crate::schema::affinity;

/// A drop and an add that look like a rename.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenameSuggestion {
    /// The table (for a column rename), or the old table name.
    pub table: String,
    /// Old and new column names; `None` for a table rename.
    pub column: Option<(String, String)>,
    /// The new table name, for a table rename.
    pub new_table: Option<String>,
}

/// Drop + add pairs that look like renames: in one table, a removed column
/// and an added one of the same type affinity; or a removed table and an
/// added one with the same column names.
pub fn suggest_renames(changes: &[Change]) -> Vec<RenameSuggestion> {
    let mut out = Vec::new();
    for change in changes {
        if let Change::AlterTable { from, to, details } = change {
            let added: Vec<&String> = details
                .iter()
                .filter_map(|d| match d {
                    Detail::AddColumn(c) => Some(c),
                    _ => None,
                })
                .collect();
            let mut taken = BTreeSet::new();
            for d in details {
                let Detail::DropColumn(old) = d else { continue };
                let Some(old_col) = from.column(old) else {
                    continue;
                };
                let partner = added.iter().find(|new| {
                    !taken.contains(*new)
                        && to
                            .column(new)
                            .is_some_and(|c| affinity(&c.decl_type) == affinity(&old_col.decl_type))
                });
                if let Some(new) = partner {
                    taken.insert(*new);
                    out.push(RenameSuggestion {
                        table: to.name.clone(),
                        column: Some((old_col.name.clone(), (*new).clone())),
                        new_table: None,
                    });
                }
            }
        }
    }
    let columns_of = |t: &crate::schema::Table| -> BTreeSet<String> {
        t.columns.iter().map(|c| c.name.to_lowercase()).collect()
    };
    // A removed table and an added one sharing at least half their columns:
    // the added table most like it.
    for change in changes {
        let Change::DropTable(old) = change else {
            continue;
        };
        let old_cols = columns_of(old);
        let best = changes
            .iter()
            .filter_map(|c| match c {
                Change::AddTable(new) => {
                    let new_cols = columns_of(new);
                    // At least half the columns of the larger of the two:
                    // one shared `id` of six is not a rename.
                    let shared = old_cols.intersection(&new_cols).count();
                    let needed = old_cols.len().max(new_cols.len()).div_ceil(2).max(1);
                    (shared >= needed).then_some((shared, new))
                }
                _ => None,
            })
            .max_by_key(|(shared, _)| *shared);
        if let Some((_, new)) = best {
            out.push(RenameSuggestion {
                table: old.name.clone(),
                column: None,
                new_table: Some(new.name.clone()),
            });
        }
    }
    out
}
