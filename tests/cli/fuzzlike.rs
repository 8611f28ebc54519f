//! The proptest twins of the `cargo fuzz` targets in `fuzz/`: the same
//! harnesses (`strata::fuzzing`), fed by proptest in every `cargo test`.
//! Arbitrary bytes, plus inputs shaped like the real thing (headers, CREATE
//! TABLE texts in every spelling SQLite accepts), so the deep checks run.
//! `STRATA_PROPTEST_CASES=N` raises the case count.

use proptest::prelude::*;

use strata::fuzzing;

fn cases() -> u32 {
    std::env::var("STRATA_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// A header-like text: directive lines with odd spacing, line endings,
/// BOMs and values.
fn header_text() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("revision"),
        Just("parent"),
        Just("parents"),
        Just("message"),
        Just("created"),
        Just("transaction"),
        Just("destructive"),
        Just("bogus"),
    ];
    let value = prop_oneof![
        "[0-9]{1,14}",
        Just("base".to_string()),
        "[0-9]{3}, ?[0-9]{3}",
        "[a-z \t]{0,20}",
        Just("off".to_string()),
        ".{0,12}",
    ];
    let line = (
        key,
        prop_oneof![Just(" "), Just("  "), Just("\t")],
        value,
        prop_oneof![Just("\n"), Just("\r\n")],
    )
        .prop_map(|(k, sep, v, end)| format!("-- strata:{k}{sep}{v}{end}"));
    (
        any::<bool>(),
        proptest::collection::vec(line, 0..6),
        ".{0,40}",
    )
        .prop_map(|(bom, lines, body)| {
            format!(
                "{}{}\n{body}",
                if bom { "\u{feff}" } else { "" },
                lines.concat()
            )
        })
}

/// CREATE TABLE texts SQLite accepts, spelled every which way.
fn create_table() -> impl Strategy<Value = String> {
    let ident = prop_oneof![
        "[a-z][a-z0-9_]{0,6}".prop_map(|s| s),
        "[a-z]{1,4}".prop_map(|s| format!("\"{s} x\"")),
        "[a-z]{1,4}".prop_map(|s| format!("[{s}]")),
        "[a-z]{1,4}".prop_map(|s| format!("`{s}`")),
        Just("\"we\"\"ird\"".to_string()),
        Just("größe".to_string()),
        Just("\"order\"".to_string()),
        // Keywords SQLite takes as names unquoted, in any case (issue 9.1).
        prop_oneof![
            Just("key"),
            Just("Left"),
            Just("ACTION"),
            Just("groups"),
            Just("Replace")
        ]
        .prop_map(str::to_string),
    ];
    let ty = prop_oneof![
        Just(""),
        Just("INTEGER"),
        Just("text"),
        Just("VARCHAR( 64 )"),
        Just("decimal(10, 2)"),
        Just("REAL"),
        Just("BLOB"),
    ];
    let constraint = prop_oneof![
        Just(""),
        Just(" NOT NULL"),
        Just(" DEFAULT 0"),
        Just(" DEFAULT 'x'"),
        Just(" DEFAULT (1 + 2)"),
        Just(" COLLATE NOCASE"),
        Just(" UNIQUE"),
        Just(" CHECK (1)"),
        Just(" /* note */"),
        Just(" -- note\n"),
        Just(" CONSTRAINT c1 NOT NULL"),
    ];
    let space = prop_oneof![Just(" "), Just("\n  "), Just("\t"), Just(" /* c */ ")];
    let column = (
        ident.clone(),
        ty,
        constraint.clone(),
        constraint,
        space.clone(),
    )
        .prop_map(|(name, ty, a, b, sp)| format!("{name}{sp}{ty}{a}{b}"));
    let option = prop_oneof![Just(""), Just(" WITHOUT ROWID"), Just(" STRICT")];
    (
        ident,
        proptest::collection::vec(column, 1..5),
        any::<bool>(),
        option,
        prop_oneof![
            Just("CREATE TABLE"),
            Just("create table"),
            Just("Create Table If Not Exists")
        ],
    )
        .prop_map(|(name, columns, check, option, create)| {
            let mut items = columns;
            if check {
                items.push("CHECK (length('x') > 0)".into());
            }
            if option.contains("WITHOUT") {
                items.push("PRIMARY KEY (rowid_pk)".into());
                items.push("rowid_pk INTEGER".into());
            }
            format!("{create} {name} ({}){option}", items.join(","))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn header_parser_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        fuzzing::header(&data);
    }

    #[test]
    fn header_parser_on_header_like_text(text in header_text()) {
        fuzzing::header(text.as_bytes());
    }

    #[test]
    fn create_text_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        fuzzing::create_text(&data);
    }

    #[test]
    fn create_text_on_create_tables(sql in create_table()) {
        fuzzing::create_text(sql.as_bytes());
    }

    #[test]
    fn graph_builder_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..120)) {
        fuzzing::graph(&data);
    }
}
