//! The diff: `Schema × Schema -> Vec<Change>`, pure. Each change knows its
//! inverse ([`Change::reverse`]), so a down script is the up change list
//! reversed and planned again, never a second diff.
//!
//! Comparison is structural: keys ignore case, quoting and spacing, so
//! `varchar(64)` and `VARCHAR( 64 )` are one type, and column order is not a
//! change (ADD COLUMN always appends).
//!
//! Renames are not guessed here. The caller applies the renames the user
//! named to the old schema first (SQLite rewrites every reference), diffs
//! the result, and puts the renames in front of the list.
//!
//! The list comes in an order any planner can follow, and whose reverse is
//! also such an order: dropped indexes, views and triggers; dropped tables
//! (children first); altered tables; added tables (parents first); added
//! indexes, views and triggers.

mod change;
mod rename;

use std::collections::{BTreeSet, HashMap};

pub use change::{is_narrowing, Change, Detail};
pub use rename::{suggest_renames, RenameSuggestion};

use crate::schema::{Column, ConstraintKind, ConstraintText, Object, ObjectKind, Schema, Table};
use crate::sql::{key_of, tokenize};

/// Every difference between `from` and `to`, in an order that can be
/// applied.
pub fn diff(from: &Schema, to: &Schema) -> Vec<Change> {
    let mut changes = Vec::new();
    // Matching is by name, through maps: linear in the schema.
    let (from_names, to_names) = (Names::of(from), Names::of(to));

    // Objects that are gone or different: triggers, then views (dependents
    // first), then indexes.
    for kind in [
        ObjectKind::Trigger,
        ObjectKind::View,
        ObjectKind::Index,
        ObjectKind::VirtualTable,
    ] {
        let mut gone: Vec<&Object> = from
            .objects
            .iter()
            .filter(|o| o.kind == kind && !to_names.same_object(o))
            .collect();
        gone.sort_by_key(|o| std::cmp::Reverse(o.seq));
        changes.extend(gone.into_iter().cloned().map(Change::DropObject));
    }

    let dropped: BTreeSet<String> = from
        .tables
        .iter()
        .filter(|t| to_names.table(&t.name).is_none())
        .map(|t| t.name.to_lowercase())
        .collect();
    for table in from.tables_parents_first().into_iter().rev() {
        if dropped.contains(&table.name.to_lowercase()) {
            changes.push(Change::DropTable(table.clone()));
        }
    }
    let ordered = to.tables_parents_first();
    for table in &ordered {
        if let Some(old) = from_names.table(&table.name) {
            let details = table_details(old, table);
            if !details.is_empty() {
                changes.push(Change::AlterTable {
                    from: old.clone(),
                    to: (*table).clone(),
                    details,
                });
            }
        }
    }
    for table in &ordered {
        if from_names.table(&table.name).is_none() {
            changes.push(Change::AddTable((*table).clone()));
        }
    }

    for kind in [
        ObjectKind::VirtualTable,
        ObjectKind::Index,
        ObjectKind::View,
        ObjectKind::Trigger,
    ] {
        let mut new: Vec<&Object> = to
            .objects
            .iter()
            .filter(|o| o.kind == kind && !from_names.same_object(o))
            .collect();
        new.sort_by_key(|o| o.seq);
        changes.extend(new.into_iter().cloned().map(Change::AddObject));
    }
    changes
}

/// Tables of `a` whose columns, the same set as in `b`'s table of that
/// name, stand in another order; one line each. [`diff`] does not count
/// order (schema.sql may list a column where `ADD COLUMN` cannot put it);
/// this is what `verify`, a tried downgrade and `diff --column-order` add.
pub fn column_order(a: &Schema, b: &Schema) -> Vec<String> {
    let names =
        |t: &Table| -> Vec<String> { t.columns.iter().map(|c| c.name.to_lowercase()).collect() };
    let mut out = Vec::new();
    let b_names = Names::of(b);
    for ta in &a.tables {
        let Some(tb) = b_names.table(&ta.name) else {
            continue;
        };
        let (na, nb) = (names(ta), names(tb));
        let mut sa = na.clone();
        let mut sb = nb.clone();
        sa.sort();
        sb.sort();
        if sa == sb && na != nb {
            let show = |t: &Table| -> String {
                t.columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out.push(crate::sql::one_line(&format!(
                "column order of '{}' is ({}), not ({})",
                ta.name,
                show(ta),
                show(tb)
            )));
        }
    }
    out
}

/// The lines that describe `changes`, as `migrate` and `diff` print them:
/// a virtual table dropped and created again is one change of definition.
pub fn describe_all(changes: &[Change]) -> Vec<String> {
    let recreated = |o: &Object| {
        o.kind == ObjectKind::VirtualTable
            && changes.iter().any(|c| {
                matches!(c, Change::DropObject(d) if d.kind == o.kind && d.name.eq_ignore_ascii_case(&o.name))
            })
            && changes.iter().any(|c| {
                matches!(c, Change::AddObject(a) if a.kind == o.kind && a.name.eq_ignore_ascii_case(&o.name))
            })
    };
    let mut out = Vec::new();
    for change in changes {
        match change {
            Change::DropObject(o) if recreated(o) => {}
            Change::AddObject(o) if recreated(o) => out.push(crate::sql::one_line(&format!(
                "changed virtual table '{}' (re-created, its content kept)",
                o.name
            ))),
            other => out.extend(other.describe()),
        }
    }
    out
}

/// The down change list for an up change list.
pub fn reverse(changes: &[Change]) -> Vec<Change> {
    changes.iter().rev().map(Change::reverse).collect()
}

/// A schema's tables and objects by case-folded name.
struct Names<'a> {
    tables: HashMap<String, &'a Table>,
    objects: HashMap<(ObjectKind, String), &'a Object>,
}

impl<'a> Names<'a> {
    fn of(schema: &'a Schema) -> Names<'a> {
        // The first of a name wins, as `Schema::table` finds it.
        let mut tables = HashMap::with_capacity(schema.tables.len());
        for t in &schema.tables {
            tables.entry(t.name.to_lowercase()).or_insert(t);
        }
        let mut objects = HashMap::with_capacity(schema.objects.len());
        for o in &schema.objects {
            objects.entry((o.kind, o.name.to_lowercase())).or_insert(o);
        }
        Names { tables, objects }
    }

    fn table(&self, name: &str) -> Option<&'a Table> {
        self.tables.get(&name.to_lowercase()).copied()
    }

    /// Whether this schema has `o` as it is: same kind, name, table and text.
    fn same_object(&self, o: &Object) -> bool {
        self.objects
            .get(&(o.kind, o.name.to_lowercase()))
            .is_some_and(|p| p.key == o.key && p.table.eq_ignore_ascii_case(&o.table))
    }
}

fn expr_key(expr: &Option<String>) -> Option<String> {
    expr.as_deref().map(|e| key_of(&tokenize(e)))
}

fn keys(exprs: &[String]) -> Vec<String> {
    exprs.iter().map(|e| key_of(&tokenize(e))).collect()
}

/// How table `a` became table `b`; empty when they are the same.
pub fn table_details(a: &Table, b: &Table) -> Vec<Detail> {
    let mut details = Vec::new();
    for col in &a.columns {
        if b.column(&col.name).is_none() {
            details.push(Detail::DropColumn(col.name.clone()));
        }
    }
    for col in &b.columns {
        match a.column(&col.name) {
            None => details.push(Detail::AddColumn(col.name.clone())),
            Some(old) => column_details(old, col, &mut details),
        }
    }
    let (pk_a, pk_b) = (a.primary_key(), b.primary_key());
    let pk_changed = pk_a != pk_b;
    if pk_changed {
        details.push(Detail::PrimaryKey {
            from: pk_a,
            to: pk_b,
        });
    }
    // A table-level PRIMARY KEY clause that changed with the key is the
    // change reported above, not a second one.
    let counted = |c: &&ConstraintText| !(pk_changed && c.kind == ConstraintKind::PrimaryKey);
    let keys_b: Vec<&str> = b.constraints.iter().map(|c| c.key.as_str()).collect();
    let keys_a: Vec<&str> = a.constraints.iter().map(|c| c.key.as_str()).collect();
    for c in a.constraints.iter().filter(counted) {
        if !keys_b.contains(&c.key.as_str()) {
            details.push(Detail::DropConstraint(c.clone()));
        }
    }
    for c in b.constraints.iter().filter(counted) {
        if !keys_a.contains(&c.key.as_str()) {
            details.push(Detail::AddConstraint(c.clone()));
        }
    }
    if a.strict != b.strict {
        details.push(Detail::Strict(b.strict));
    }
    if a.without_rowid != b.without_rowid {
        details.push(Detail::WithoutRowid(b.without_rowid));
    }
    details
}

fn column_details(a: &Column, b: &Column, out: &mut Vec<Detail>) {
    let column = b.name.clone();
    let before = out.len();
    if a.text.type_key != b.text.type_key {
        out.push(Detail::Type {
            column: column.clone(),
            from: a.decl_type.clone(),
            to: b.decl_type.clone(),
        });
    }
    if a.not_null != b.not_null {
        out.push(Detail::NotNull {
            column: column.clone(),
            now: b.not_null,
        });
    }
    if expr_key(&a.default) != expr_key(&b.default) {
        out.push(Detail::Default {
            column: column.clone(),
            from: a.default.clone(),
            to: b.default.clone(),
        });
    }
    if a.text.collation != b.text.collation {
        out.push(Detail::Collation {
            column: column.clone(),
            from: a.text.collation.clone(),
            to: b.text.collation.clone(),
        });
    }
    if a.text.generated != b.text.generated || a.hidden != b.hidden {
        let show = |c: &Column| {
            c.text
                .generated
                .as_ref()
                .map(|(e, stored)| format!("({e}) {}", if *stored { "STORED" } else { "VIRTUAL" }))
        };
        out.push(Detail::Generated {
            column: column.clone(),
            from: show(a),
            to: show(b),
        });
    }
    if a.text.unique != b.text.unique {
        out.push(Detail::Unique {
            column: column.clone(),
            now: b.text.unique,
        });
    }
    if keys(&a.text.checks) != keys(&b.text.checks) {
        out.push(Detail::ColumnCheck {
            column: column.clone(),
            from: a.text.checks.clone(),
            to: b.text.checks.clone(),
        });
    }
    if a.text.references != b.text.references {
        out.push(Detail::References {
            column: column.clone(),
            from: a.text.references_text.clone(),
            to: b.text.references_text.clone(),
        });
    }
    // Primary-key membership is reported once per table; anything else the
    // facts above do not explain is still a change.
    let explained = out.len() > before || (a.pk != b.pk);
    if !explained && a.text.key != b.text.key {
        out.push(Detail::Definition { column });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::load::load;

    fn schema(sql: &str) -> Schema {
        load(sql, "schema.sql").unwrap().1
    }

    fn lines(from: &str, to: &str) -> Vec<String> {
        diff(&schema(from), &schema(to))
            .iter()
            .flat_map(Change::describe)
            .collect()
    }

    #[test]
    fn spelling_is_not_a_change() {
        let a = "CREATE TABLE \"User\" (id INTEGER PRIMARY KEY, name VARCHAR( 64 ) not null, b INT);\nCREATE INDEX ix ON \"User\" (name);";
        let b = "create table user (b int, ID integer primary key, \"name\" varchar(64) NOT NULL);\ncreate index if not exists IX on user(NAME);";
        assert!(diff(&schema(a), &schema(b)).is_empty());
    }

    #[test]
    fn detects_each_kind() {
        let a = "CREATE TABLE t (id INTEGER PRIMARY KEY, price TEXT, legacy TEXT, qty INT);\nCREATE INDEX t_qty ON t (qty);";
        let b = "CREATE TABLE t (id INTEGER PRIMARY KEY, price REAL, qty INT NOT NULL DEFAULT 0, CHECK (qty >= 0));\nCREATE INDEX t_qty ON t (qty DESC);\nCREATE TABLE u (id INTEGER PRIMARY KEY);\nCREATE VIEW v AS SELECT id FROM u;";
        assert_eq!(
            lines(a, b),
            [
                "removed index 't_qty' on 't'",
                "removed column 't.legacy'",
                "type change from TEXT to REAL on 't.price'",
                "NOT NULL added on 't.qty'",
                "default change from none to 0 on 't.qty'",
                "added CHECK constraint on 't': qty >= 0",
                "added table 'u'",
                "added index 't_qty' on 't'",
                "added view 'v'",
            ]
        );
    }

    #[test]
    fn reverse_of_reverse_is_identity() {
        let a = "CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT);";
        let b = "CREATE TABLE t (id INTEGER PRIMARY KEY, y TEXT COLLATE NOCASE UNIQUE);\nCREATE TABLE c (t_id INT REFERENCES t(id));";
        let changes = diff(&schema(a), &schema(b));
        assert_eq!(reverse(&reverse(&changes)), changes);
        let back = diff(&schema(b), &schema(a));
        let desc = |c: &[Change]| {
            let mut v: Vec<String> = c.iter().flat_map(Change::describe).collect();
            v.sort();
            v
        };
        assert_eq!(desc(&reverse(&changes)), desc(&back));
    }
}
