//! What `ALTER TABLE` can do, with SQLite's exact conditions
//! (sqlite.org/lang_altertable.html). A table change that these cannot
//! express is planned as a rebuild.

use crate::diff::Detail;
use crate::schema::{mentions, Column, DefaultKind, Schema, Table};

/// Whether `ALTER TABLE … ADD COLUMN` can add `col`
/// (sqlite.org/lang_altertable.html#altertabaddcol):
/// - no PRIMARY KEY or UNIQUE constraint;
/// - no default of CURRENT_TIME/DATE/TIMESTAMP or a parenthesized
///   expression;
/// - NOT NULL needs a non-NULL default;
/// - with a REFERENCES clause the default must be NULL (foreign keys may be
///   on when the script is run by hand);
/// - a generated column must be VIRTUAL, not STORED.
pub fn can_add(col: &Column) -> bool {
    let t = &col.text;
    let default = t.default;
    let constant_default = matches!(
        default,
        None | Some(DefaultKind::Null | DefaultKind::Constant)
    );
    let non_null_default = matches!(default, Some(DefaultKind::Constant));
    !(t.primary_key || col.pk > 0 || t.unique)
        && constant_default
        && (!col.not_null || non_null_default || t.generated.is_some())
        && !(t.references.is_some() && non_null_default)
        && !t.generated.as_ref().is_some_and(|(_, stored)| *stored)
}

/// Whether `ALTER TABLE … DROP COLUMN` can drop `name` from `table`
/// (sqlite.org/lang_altertable.html#altertabdropcol). SQLite refuses a
/// column that is (part of) the PRIMARY KEY, UNIQUE, indexed, named in a
/// partial index or another column's CHECK, used in a foreign key or a
/// generated column, or named by a trigger or view. strata checks the same
/// by name, erring towards a rebuild.
pub fn can_drop(state: &Schema, table: &Table, name: &str) -> bool {
    let Some(col) = table.column(name) else {
        return false;
    };
    let named_elsewhere = table
        .columns
        .iter()
        .filter(|c| !c.name.eq_ignore_ascii_case(name))
        .any(|c| mentions(&c.text.definition, name))
        || table.constraints.iter().any(|c| mentions(&c.text, name))
        || table
            .foreign_keys
            .iter()
            .any(|fk| fk.columns.iter().any(|c| c.eq_ignore_ascii_case(name)));
    let referenced_by_children = state.tables.iter().any(|t| {
        t.foreign_keys.iter().any(|fk| {
            fk.table.eq_ignore_ascii_case(&table.name)
                && (fk.to.is_empty() || fk.to.iter().any(|c| c.eq_ignore_ascii_case(name)))
        })
    });
    let used_by_objects = state
        .objects
        .iter()
        .any(|o| mentions(&o.sql, &table.name) && mentions(&o.sql, name));
    col.pk == 0
        && !col.text.primary_key
        && !col.text.unique
        && col.text.references.is_none()
        && !named_elsewhere
        && !referenced_by_children
        && !used_by_objects
}

/// Whether ALTER TABLE alone can take `from` to `to`: only added and
/// dropped columns, each within SQLite's rules, and — when the order must
/// be exact — added columns that belong at the end, where `ADD COLUMN`
/// puts them.
pub fn alterable(
    state: &Schema,
    from: &Table,
    to: &Table,
    details: &[Detail],
    order: ColumnOrder,
) -> bool {
    let each = details.iter().all(|d| match d {
        Detail::AddColumn(name) => to.column(name).is_some_and(can_add),
        Detail::DropColumn(name) => can_drop(state, from, name),
        _ => false,
    });
    each && (order == ColumnOrder::Append || appended_order(from, to))
}

/// Whether dropping `from`'s columns that `to` lacks and appending the
/// rest of `to`'s gives exactly `to`'s column order.
fn appended_order(from: &Table, to: &Table) -> bool {
    let kept = from.columns.iter().filter(|c| to.column(&c.name).is_some());
    let added = to.columns.iter().filter(|c| from.column(&c.name).is_none());
    kept.chain(added)
        .map(|c| c.name.to_lowercase())
        .eq(to.columns.iter().map(|c| c.name.to_lowercase()))
}

/// How a plan treats the order of a table's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnOrder {
    /// New columns are appended by `ALTER TABLE … ADD COLUMN`, wherever
    /// schema.sql lists them: the upgrade from schema.sql, which never
    /// rebuilds a table only to move a column.
    Append,
    /// Every table ends with exactly the target's column order, rebuilt
    /// where `ADD COLUMN` would put a column elsewhere: a downgrade restores
    /// a table as it was, so an old application's `INSERT … VALUES` without
    /// a column list still fills the right columns.
    Exact,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::load::load;

    fn table(sql: &str) -> (Schema, Table) {
        let schema = load(sql, "schema.sql").unwrap().1;
        let t = schema.tables[0].clone();
        (schema, t)
    }

    #[test]
    fn add_column_rules() {
        let (_, t) = table(
            "CREATE TABLE t (id INTEGER PRIMARY KEY,
                a TEXT, b TEXT NOT NULL DEFAULT 'x', c TEXT NOT NULL,
                d TEXT UNIQUE, e TEXT DEFAULT CURRENT_TIMESTAMP, f TEXT DEFAULT (lower('X')),
                g INT REFERENCES t(id), h INT REFERENCES t(id) DEFAULT 1,
                i INT AS (id * 2), j INT AS (id * 2) STORED, k INT CHECK (k > 0), l INT DEFAULT -1)",
        );
        let ok: Vec<&str> = t
            .columns
            .iter()
            .filter(|c| can_add(c))
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(ok, ["a", "b", "g", "i", "k", "l"]);
    }

    #[test]
    fn exact_order_rebuilds_a_column_that_was_not_last() {
        let (schema, with) =
            table("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT DEFAULT '', b TEXT)");
        let (_, without) = table("CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT)");
        let add = [Detail::AddColumn("a".into())];
        assert!(alterable(
            &schema,
            &without,
            &with,
            &add,
            ColumnOrder::Append
        ));
        assert!(!alterable(
            &schema,
            &without,
            &with,
            &add,
            ColumnOrder::Exact
        ));
        let (_, last) = table("CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT, a TEXT DEFAULT '')");
        assert!(alterable(
            &schema,
            &without,
            &last,
            &add,
            ColumnOrder::Exact
        ));
    }

    #[test]
    fn drop_column_rules() {
        let (schema, t) = table(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT UNIQUE, c TEXT, d TEXT, e TEXT, f INT CHECK (f > length(e)));
             CREATE INDEX t_c ON t (c);
             CREATE VIEW v AS SELECT d FROM t;",
        );
        let ok: Vec<&str> = t
            .columns
            .iter()
            .filter(|c| can_drop(&schema, &t, &c.name))
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(ok, ["a", "f"]);
    }
}
