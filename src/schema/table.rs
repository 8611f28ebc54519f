//! Reads a stored `CREATE TABLE` text into its parts: the table's name, each
//! column definition (with the source span, so `ADD COLUMN` can copy it
//! verbatim), each table constraint, and the table options.

use crate::sql::{key_of, matching_paren, span, split_commas, tokenize, Kind, Token};

/// A column definition as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnText {
    pub name: String,
    /// The whole definition, name included, as written.
    pub definition: String,
    /// Comparison key of everything after the name.
    pub key: String,
    /// Comparison key of the declared type (`varchar ( 64 )`).
    pub type_key: String,
    pub collation: Option<String>,
    /// Comparison key of the generating expression, and whether STORED.
    pub generated: Option<(String, bool)>,
    pub autoincrement: bool,
    pub primary_key: bool,
    pub unique: bool,
    pub not_null: bool,
    /// How the DEFAULT is written, for ALTER TABLE ADD COLUMN's rules.
    pub default: Option<DefaultKind>,
    /// Expression texts of the column's CHECK constraints.
    pub checks: Vec<String>,
    /// Comparison key of the REFERENCES clause.
    pub references: Option<String>,
    /// The REFERENCES clause as written.
    pub references_text: Option<String>,
}

/// The shape of a DEFAULT clause, which decides whether `ADD COLUMN` may
/// carry it (sqlite.org/lang_altertable.html#altertabaddcol).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultKind {
    Null,
    /// A literal or signed number.
    Constant,
    /// CURRENT_TIME / CURRENT_DATE / CURRENT_TIMESTAMP.
    Time,
    /// `( expression )`.
    Expression,
}

/// A table constraint as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstraintText {
    pub kind: ConstraintKind,
    pub name: Option<String>,
    /// The constraint as written.
    pub text: String,
    /// Comparison key of the whole constraint.
    pub key: String,
    /// Columns named by PRIMARY KEY / UNIQUE / FOREIGN KEY (lower-case).
    pub columns: Vec<String>,
    /// A CHECK's expression as written.
    pub expr: Option<String>,
}

/// Kinds of table constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConstraintKind {
    PrimaryKey,
    Unique,
    Check,
    ForeignKey,
}

impl ConstraintKind {
    pub fn label(self) -> &'static str {
        match self {
            ConstraintKind::PrimaryKey => "primary key",
            ConstraintKind::Unique => "unique constraint",
            ConstraintKind::Check => "CHECK constraint",
            ConstraintKind::ForeignKey => "foreign key",
        }
    }
}

/// A parsed `CREATE TABLE`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableText {
    /// Byte range of the table's name in the text.
    pub name_span: (usize, usize),
    pub columns: Vec<ColumnText>,
    pub constraints: Vec<ConstraintText>,
    pub strict: bool,
    pub without_rowid: bool,
}

const COLUMN_CONSTRAINT_START: &[&str] = &[
    "constraint",
    "primary",
    "not",
    "null",
    "unique",
    "check",
    "default",
    "collate",
    "references",
    "generated",
    "as",
];

/// Parses a CREATE TABLE text that SQLite has accepted.
pub fn parse_table(sql: &str) -> TableText {
    let tokens = tokenize(sql);
    let mut out = TableText::default();
    let mut i = 0;
    // CREATE [TEMP] TABLE [IF NOT EXISTS] [schema.]name
    while i < tokens.len() && !tokens[i].is("table") {
        i += 1;
    }
    i += 1;
    if tokens.get(i).is_some_and(|t| t.is("if")) {
        i += 3;
    }
    if tokens.get(i + 1).is_some_and(|t| t.is_punct(".")) {
        i += 2;
    }
    let Some(name) = tokens.get(i) else {
        return out;
    };
    out.name_span = (name.start, name.end());
    let Some(open) = tokens.iter().skip(i).position(|t| t.is_punct("(")) else {
        return out;
    };
    let open = open + i;
    let close = matching_paren(&tokens, open);
    for item in split_commas(&tokens[open + 1..close]) {
        if item.is_empty() {
            continue;
        }
        let first = &item[0];
        let is_constraint = ["constraint", "primary", "unique", "check", "foreign"]
            .iter()
            .any(|kw| first.is(kw));
        if is_constraint {
            out.constraints.push(parse_constraint(sql, item));
        } else {
            out.columns.push(parse_column(sql, item));
        }
    }
    for option in split_commas(&tokens[(close + 1).min(tokens.len())..]) {
        if option.first().is_some_and(|t| t.is("strict")) {
            out.strict = true;
        }
        if option.first().is_some_and(|t| t.is("without")) {
            out.without_rowid = true;
        }
    }
    out
}

fn parse_constraint(sql: &str, item: &[Token<'_>]) -> ConstraintText {
    let mut i = 0;
    let mut name = None;
    if item[0].is("constraint") {
        name = item.get(1).map(Token::value);
        i = 2;
    }
    let body = &item[i.min(item.len())..];
    let kind = match body.first() {
        Some(t) if t.is("primary") => ConstraintKind::PrimaryKey,
        Some(t) if t.is("unique") => ConstraintKind::Unique,
        Some(t) if t.is("check") => ConstraintKind::Check,
        _ => ConstraintKind::ForeignKey,
    };
    let mut columns = Vec::new();
    let mut expr = None;
    if let Some(open) = body.iter().position(|t| t.is_punct("(")) {
        let close = matching_paren(body, open);
        let inner = &body[open + 1..close];
        if kind == ConstraintKind::Check {
            expr = Some(span(sql, inner).to_string());
        } else {
            columns = split_commas(inner)
                .iter()
                .filter_map(|part| part.first())
                .filter(|t| t.kind == Kind::Word)
                .map(|t| t.value().to_lowercase())
                .collect();
        }
    }
    ConstraintText {
        kind,
        name,
        text: span(sql, item).to_string(),
        key: key_of(item),
        columns,
        expr,
    }
}

fn parse_column(sql: &str, item: &[Token<'_>]) -> ColumnText {
    let mut col = ColumnText {
        name: item[0].value(),
        definition: span(sql, item).to_string(),
        key: key_of(&item[1..]),
        ..ColumnText::default()
    };
    let mut i = 1;
    let type_start = i;
    while i < item.len() && !COLUMN_CONSTRAINT_START.iter().any(|kw| item[i].is(kw)) {
        if item[i].is_punct("(") {
            i = matching_paren(item, i);
        }
        i += 1;
    }
    col.type_key = key_of(&item[type_start..i.min(item.len())]);
    // Column constraints, one after another.
    let paren_group = |at: usize| -> Option<(usize, usize)> {
        let open = at + item[at..].iter().position(|t| t.is_punct("("))?;
        Some((open, matching_paren(item, open)))
    };
    while i < item.len() {
        let t = &item[i];
        if t.is("constraint") {
            i += 2;
        } else if t.is("primary") {
            col.primary_key = true;
            i += 2;
        } else if t.is("autoincrement") {
            col.autoincrement = true;
            i += 1;
        } else if t.is("not") && item.get(i + 1).is_some_and(|n| n.is("null")) {
            col.not_null = true;
            i += 2;
        } else if t.is("unique") {
            col.unique = true;
            i += 1;
        } else if t.is("check") {
            let Some((open, close)) = paren_group(i) else {
                break;
            };
            col.checks
                .push(span(sql, &item[open + 1..close]).to_string());
            i = close + 1;
        } else if t.is("default") {
            let next = item.get(i + 1);
            col.default = Some(match next {
                Some(n) if n.is_punct("(") => DefaultKind::Expression,
                Some(n) if n.is("null") => DefaultKind::Null,
                Some(n)
                    if n.is("current_time")
                        || n.is("current_date")
                        || n.is("current_timestamp") =>
                {
                    DefaultKind::Time
                }
                _ => DefaultKind::Constant,
            });
            i += 2;
            if next.is_some_and(|n| n.is_punct("(")) {
                i = matching_paren(item, i - 1) + 1;
            } else if next.is_some_and(|n| n.is_punct("-") || n.is_punct("+")) {
                i += 1;
            }
        } else if t.is("collate") {
            col.collation = item.get(i + 1).map(|n| n.value().to_lowercase());
            i += 2;
        } else if t.is("references") {
            let start = i;
            i += 1;
            while i < item.len() {
                let n = &item[i];
                // `ON DELETE SET NULL` / `SET DEFAULT` are actions here, not
                // the NULL and DEFAULT column constraints.
                if n.is("set") {
                    i += 2;
                    continue;
                }
                let fk_word = n.is("not") && item.get(i + 1).is_some_and(|d| d.is("deferrable"));
                if !fk_word && COLUMN_CONSTRAINT_START.iter().any(|kw| n.is(kw)) {
                    break;
                }
                if n.is_punct("(") {
                    i = matching_paren(item, i);
                }
                i += 1;
            }
            col.references = Some(key_of(&item[start..i.min(item.len())]));
            col.references_text = Some(span(sql, &item[start..i.min(item.len())]).to_string());
        } else if t.is("generated") || t.is("as") {
            let Some((open, close)) = paren_group(i) else {
                break;
            };
            let stored = item.get(close + 1).is_some_and(|s| s.is("stored"));
            col.generated = Some((key_of(&item[open + 1..close]), stored));
            i = close + 1;
        } else {
            // ASC/DESC, ON CONFLICT clauses, NULL: nothing to record.
            if t.is_punct("(") {
                i = matching_paren(item, i);
            }
            i += 1;
        }
    }
    col
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_constraints_and_options() {
        let sql = "CREATE TABLE IF NOT EXISTS \"my table\" (\n  id INTEGER PRIMARY KEY AUTOINCREMENT,\n  name varchar(64) NOT NULL COLLATE NOCASE DEFAULT 'x',\n  qty INT CHECK (qty >= 0) DEFAULT -1,\n  total REAL GENERATED ALWAYS AS (qty * 2) STORED,\n  owner INT REFERENCES person(id) ON DELETE CASCADE NOT DEFERRABLE UNIQUE,\n  CONSTRAINT pair UNIQUE (name, \"owner\"),\n  CHECK (length(name) > 0)\n) STRICT, WITHOUT ROWID";
        let t = parse_table(sql);
        assert_eq!(&sql[t.name_span.0..t.name_span.1], "\"my table\"");
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "name", "qty", "total", "owner"]);
        assert!(t.columns[0].primary_key && t.columns[0].autoincrement);
        assert_eq!(t.columns[1].type_key, "varchar ( 64 )");
        assert_eq!(t.columns[1].collation.as_deref(), Some("nocase"));
        assert!(t.columns[1].not_null);
        assert_eq!(t.columns[1].default, Some(DefaultKind::Constant));
        assert_eq!(t.columns[2].checks, ["qty >= 0"]);
        assert_eq!(t.columns[2].default, Some(DefaultKind::Constant));
        assert_eq!(t.columns[3].generated, Some(("qty * 2".into(), true)));
        assert_eq!(
            t.columns[4].references.as_deref(),
            Some("references person ( id ) on delete cascade not deferrable")
        );
        assert!(t.columns[4].unique);
        assert_eq!(t.constraints.len(), 2);
        assert_eq!(t.constraints[0].kind, ConstraintKind::Unique);
        assert_eq!(t.constraints[0].name.as_deref(), Some("pair"));
        assert_eq!(t.constraints[0].columns, ["name", "owner"]);
        assert_eq!(t.constraints[1].expr.as_deref(), Some("length(name) > 0"));
        assert!(t.strict && t.without_rowid);
        assert_eq!(
            t.columns[1].definition,
            "name varchar(64) NOT NULL COLLATE NOCASE DEFAULT 'x'"
        );
    }

    #[test]
    fn foreign_key_actions_are_not_column_constraints() {
        let t = parse_table(
            "CREATE TABLE t (a INT REFERENCES p (id) ON DELETE SET NULL ON UPDATE SET DEFAULT NOT NULL)",
        );
        let a = &t.columns[0];
        assert_eq!(
            a.references_text.as_deref(),
            Some("REFERENCES p (id) ON DELETE SET NULL ON UPDATE SET DEFAULT")
        );
        assert_eq!(a.default, None);
        assert!(a.not_null);
    }

    /// Found by `cargo fuzz run create_text`: an unclosed parenthesis.
    #[test]
    fn unclosed_parentheses_do_not_panic() {
        for sql in [
            "table\x08\0ble\x08\0~<~(",
            "CREATE TABLE t (",
            "CREATE TABLE t (a CHECK (",
            "CREATE TABLE t (a DEFAULT (",
            "CREATE TABLE t (a REFERENCES p (",
            "CREATE TABLE t (a AS (",
            "CREATE TABLE t (CONSTRAINT c CHECK (",
            "CREATE TABLE t (a varchar(",
        ] {
            let _ = parse_table(sql);
        }
    }

    #[test]
    fn keys_ignore_spelling() {
        let a = parse_table("CREATE TABLE t (a VARCHAR( 64 )  not null)");
        let b = parse_table("create table t (\"A\" varchar(64) NOT NULL)");
        assert_eq!(a.columns[0].key, b.columns[0].key);
    }
}
