//! The table rebuild of sqlite.org/lang_altertable.html#otheralter, for
//! every change ALTER TABLE cannot make:
//!
//! 1. foreign keys off (the runner does it, outside the transaction);
//! 2. the revision's transaction is open;
//! 3. prechecks count rows that would break a new rule, and stop the
//!    script before anything changes;
//! 4. `CREATE TABLE` under a temporary name, with the new definition;
//! 5. `INSERT … SELECT` of every column both sides share, with the rowids;
//! 6. the AUTOINCREMENT counter carried over;
//! 7. `DROP TABLE` of the old table (foreign keys are off, so nothing
//!    cascades to child rows);
//! 8. `ALTER TABLE … RENAME TO` the old name, with `legacy_alter_table` on so
//!    views and triggers elsewhere are left exactly as written (they name the
//!    table by the name it has again after the rename);
//! 9. the table's indexes and triggers re-created;
//! 10. views need nothing: they name the table, which exists again;
//! 11. `PRAGMA foreign_key_check` (the runner, before COMMIT).

use crate::diff::Detail;
use crate::schema::{mentions, ConstraintKind, Table};
use crate::sql::{quote_ident, quote_string};

use super::{Planner, StepKind};

pub(super) fn rebuild(p: &mut Planner, from: &Table, to: &Table, details: &[Detail]) {
    let name = &from.name;
    let table = quote_ident(name);
    let temp_name = temp_name(p, name);
    let temp = quote_ident(&temp_name);
    let summary: Vec<String> = details.iter().map(|d| d.describe(name)).collect();

    prechecks(p, from, to, details);

    let body = format!(
        "{}{}{}",
        &to.sql[..to.name_span.0],
        temp,
        &to.sql[to.name_span.1..]
    );
    p.push(
        format!(
            "rebuild table '{}' (sqlite.org/lang_altertable.html#otheralter):\n  {}",
            crate::sql::one_line(name),
            summary.join("\n  ")
        ),
        body,
        StepKind::Normal,
    );

    // Columns both sides share; generated columns are computed, not copied.
    let shared: Vec<(&str, &str)> = to
        .columns
        .iter()
        .filter(|c| !c.is_generated())
        .filter_map(|c| {
            from.column(&c.name)
                .map(|old| (old.name.as_str(), c.name.as_str()))
        })
        .collect();
    let mut targets: Vec<String> = shared.iter().map(|(_, n)| quote_ident(n)).collect();
    let mut sources: Vec<String> = shared.iter().map(|(o, _)| quote_ident(o)).collect();
    // Added columns the user gave a value for (`migrate --fill`).
    for col in to.columns.iter().filter(|c| !c.is_generated()) {
        if from.column(&col.name).is_none() {
            if let Some(expr) = p.fill(&to.name, &col.name) {
                targets.push(quote_ident(&col.name));
                sources.push(format!("({expr})"));
            }
        }
    }
    // Rowids survive: copy them unless the new rowid alias is copied anyway.
    let alias_copied = to.rowid_alias().is_some_and(|alias| {
        shared
            .iter()
            .any(|(_, n)| n.eq_ignore_ascii_case(&alias.name))
    });
    if from.has_rowid() && to.has_rowid() && !alias_copied {
        targets.insert(0, "rowid".into());
        sources.insert(0, "rowid".into());
    }
    let lossy = details.iter().any(Detail::is_destructive);
    if !targets.is_empty() {
        p.push(
            Some(if lossy {
                let lost: Vec<String> = details
                    .iter()
                    .filter(|d| d.is_destructive())
                    .map(|d| d.describe(name))
                    .collect();
                format!("copy the rows; loses or converts data: {}", lost.join("; "))
            } else {
                "copy every row, rowids included".into()
            }),
            format!(
                "INSERT INTO {temp} ({})\nSELECT {} FROM {table}",
                targets.join(", "),
                sources.join(", ")
            ),
            if lossy {
                StepKind::Destructive
            } else {
                StepKind::Normal
            },
        );
    }
    if from.autoincrement() && to.autoincrement() {
        p.push(
            Some("keep the AUTOINCREMENT counter".into()),
            format!(
                "DELETE FROM sqlite_sequence WHERE name = {}",
                quote_string(&temp_name)
            ),
            StepKind::Normal,
        );
        p.push(
            None,
            format!(
                "INSERT INTO sqlite_sequence (name, seq) SELECT {}, seq FROM sqlite_sequence WHERE name = {}",
                quote_string(&temp_name),
                quote_string(name)
            ),
            StepKind::Normal,
        );
    }
    p.push(
        Some("swap the new table in".into()),
        format!("DROP TABLE {table}"),
        StepKind::Normal,
    );
    // legacy_alter_table: leave views and triggers that name the table as
    // written; modern RENAME would refuse them while the table is missing
    // (sqlite.org/pragma.html#pragma_legacy_alter_table).
    p.push(
        None,
        "PRAGMA legacy_alter_table = ON".into(),
        StepKind::Normal,
    );
    p.push(
        None,
        format!("ALTER TABLE {temp} RENAME TO {table}"),
        StepKind::Normal,
    );
    p.push(
        None,
        "PRAGMA legacy_alter_table = OFF".into(),
        StepKind::Normal,
    );
    if to.autoincrement() {
        p.push(
            None,
            format!(
                "UPDATE sqlite_sequence SET name = {} WHERE name = {}",
                quote_string(name),
                quote_string(&temp_name)
            ),
            StepKind::Normal,
        );
    }
    let mut attached: Vec<_> = p.state.attached_to(name).cloned().collect();
    attached.sort_by_key(|o| (o.kind, o.seq));
    let mut first = true;
    for o in attached {
        p.push(
            first.then(|| "re-create its indexes and triggers".to_string()),
            o.sql.clone(),
            StepKind::Normal,
        );
        first = false;
    }
}

/// A name no table in the schema has.
fn temp_name(p: &Planner, name: &str) -> String {
    let mut candidate = format!("_strata_new_{name}");
    while p.state.table(&candidate).is_some() {
        candidate.push('_');
    }
    candidate
}

/// Data-dependent rules the new definition adds to rows that exist:
/// counted first, so the script stops with a clear message.
fn prechecks(p: &mut Planner, from: &Table, to: &Table, details: &[Detail]) {
    let name = &from.name;
    let table = quote_ident(name);
    let has = |c: &str| from.column(c).is_some();
    for d in details {
        match d {
            Detail::NotNull { column, now: true } if has(column) => p.precheck(
                format!("FROM {table} WHERE {} IS NULL", quote_ident(column)),
                format!("of '{name}' hold NULL in '{column}', which becomes NOT NULL"),
            ),
            Detail::AddColumn(column) => {
                let Some(col) = to.column(column) else {
                    continue;
                };
                let shared_default = col
                    .default
                    .as_deref()
                    .is_some_and(|d| !d.eq_ignore_ascii_case("null"));
                if col.text.unique
                    && shared_default
                    && !col.is_generated()
                    && p.fill(&to.name, column).is_none()
                {
                    p.precheck(
                        format!("FROM (SELECT 1 FROM {table} LIMIT -1 OFFSET 1)"),
                        format!(
                            "of '{name}' beyond the first would all get the default of new UNIQUE column '{column}'"
                        ),
                    );
                }
                let filled = p.fill(&to.name, column).is_some();
                if col.not_null && col.default.is_none() && !col.is_generated() && !filled {
                    p.precheck(
                        format!("FROM {table}"),
                        format!(
                            "of '{name}' exist, and column '{column}' is NOT NULL with no default to fill it"
                        ),
                    );
                }
            }
            Detail::ColumnCheck {
                column, to: checks, ..
            } => {
                for expr in checks {
                    check(
                        p,
                        from,
                        to,
                        expr,
                        &format!("CHECK ({expr}) on '{name}.{column}'"),
                    );
                }
            }
            Detail::AddConstraint(c) if c.kind == ConstraintKind::Check => {
                if let Some(expr) = &c.expr {
                    check(p, from, to, expr, &format!("CHECK ({expr})"));
                }
            }
            Detail::AddConstraint(c)
                if matches!(c.kind, ConstraintKind::Unique | ConstraintKind::PrimaryKey) =>
            {
                unique(p, from, &c.columns);
            }
            Detail::Unique { column, now: true } if has(column) => {
                unique(p, from, std::slice::from_ref(column));
            }
            Detail::PrimaryKey { to: cols, .. } if !cols.is_empty() => unique(p, from, cols),
            _ => {}
        }
    }
    // New foreign keys: child values with no parent row.
    for fk in to
        .foreign_keys
        .iter()
        .filter(|fk| !from.foreign_keys.contains(fk))
    {
        if !fk.columns.iter().all(|c| has(c)) {
            continue;
        }
        let Some(parent) = p.state.table(&fk.table) else {
            continue;
        };
        let parent_cols = if fk.to.is_empty() {
            parent.primary_key()
        } else {
            fk.to.clone()
        };
        if parent_cols.len() != fk.columns.len()
            || !parent_cols.iter().all(|c| parent.column(c).is_some())
        {
            continue;
        }
        let present: Vec<String> = fk
            .columns
            .iter()
            .map(|c| format!("{table}.{} IS NOT NULL", quote_ident(c)))
            .collect();
        let matches: Vec<String> = fk
            .columns
            .iter()
            .zip(&parent_cols)
            .map(|(c, pc)| {
                format!(
                    "strata_parent.{} = {table}.{}",
                    quote_ident(pc),
                    quote_ident(c)
                )
            })
            .collect();
        p.precheck(
            format!(
                "FROM {table}\nWHERE {} AND NOT EXISTS (SELECT 1 FROM {} AS strata_parent WHERE {})",
                present.join(" AND "),
                quote_ident(&parent.name),
                matches.join(" AND ")
            ),
            format!(
                "of '{name}' have ({}) values with no matching row in '{}'",
                fk.columns.join(", "),
                parent.name
            ),
        );
    }
}

fn check(p: &mut Planner, from: &Table, to: &Table, expr: &str, rule: &str) {
    // Only when every column the expression names exists already.
    let new_column = to
        .columns
        .iter()
        .any(|c| from.column(&c.name).is_none() && mentions(expr, &c.name));
    if new_column {
        return;
    }
    p.precheck(
        format!("FROM {} WHERE NOT ({expr})", quote_ident(&from.name)),
        format!("of '{}' fail the new {rule}", from.name),
    );
}

fn unique(p: &mut Planner, from: &Table, columns: &[String]) {
    if columns.is_empty() || !columns.iter().all(|c| from.column(c).is_some()) {
        return;
    }
    let quoted: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
    let present: Vec<String> = quoted.iter().map(|c| format!("{c} IS NOT NULL")).collect();
    p.precheck(
        format!(
            "FROM (SELECT 1 FROM {} WHERE {} GROUP BY {} HAVING count(*) > 1)",
            quote_ident(&from.name),
            present.join(" AND "),
            quoted.join(", ")
        ),
        format!(
            "of '{}' repeat a value of ({}), which becomes unique (counted once per repeated value)",
            from.name,
            columns.join(", ")
        ),
    );
}
