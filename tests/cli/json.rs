//! The JSON contract (issue 10.15, docs/json.md): every command prints one
//! object whose first key is `format_version`, with keys in a stable order.
//! The snapshot pins each command's shape: keys in order and value types,
//! arrays by their first element.

use serde_json::Value;

use crate::common::TestProject;

/// `value` with every leaf replaced by its type, arrays by their first
/// element's shape.
fn shape(value: &Value, indent: usize, out: &mut String) {
    let pad = "  ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match v {
                    Value::Object(_) => {
                        out.push_str(&format!("{pad}{key}: object\n"));
                        shape(v, indent + 1, out);
                    }
                    Value::Array(items) => match items.first() {
                        Some(first @ Value::Object(_)) => {
                            out.push_str(&format!("{pad}{key}: [object]\n"));
                            shape(first, indent + 1, out);
                        }
                        Some(first) => out.push_str(&format!("{pad}{key}: [{}]\n", leaf(first))),
                        None => out.push_str(&format!("{pad}{key}: []\n")),
                    },
                    other => out.push_str(&format!("{pad}{key}: {}\n", leaf(other))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", leaf(other))),
    }
}

fn leaf(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[test]
fn every_command_prints_one_versioned_object() {
    let p = TestProject::microblog();
    let sessions: &[&[&str]] = &[
        &["upgrade", "+1"],
        &["current"],
        &["heads"],
        &["branches"],
        &["history"],
        &["show"],
        &["upgrade"],
        &["downgrade"],
        &["stamp", "head"],
        &["rehash", "head"],
        &["check"],
        &["diff"],
        &["dump"],
        &["verify"],
        &["lint"],
        &["lint", "--rules"],
        &["squash", "--to", "head", "--dry-run"],
        &["migrate", "-m", "nothing"],
        &["revision", "-m", "data", "--rev-id", "20300101000000"],
        &["upgrade", "head"],
        &["upgarde"],
        &["show", "nope"],
    ];
    let mut all = String::new();
    for args in sessions {
        let mut full = vec!["--format", "json"];
        full.extend_from_slice(args);
        let run = p.run(&full);
        let doc: Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not one JSON document ({e}):\n{}", run.stdout));
        let Value::Object(map) = &doc else {
            panic!("{args:?}: not an object: {doc}");
        };
        assert_eq!(
            map.keys().next().map(String::as_str),
            Some("format_version"),
            "{args:?}"
        );
        all.push_str(&format!(
            "== strata {} (exit {})\n",
            args.join(" "),
            run.code
        ));
        shape(&doc, 1, &mut all);
        // A run's wall time holds every step's script time, and more.
        if let (Some(total), Some(Value::Array(steps))) = (map.get("duration_ms"), map.get("steps"))
        {
            let scripts: u64 = steps.iter().filter_map(|s| s["duration_ms"].as_u64()).sum();
            assert!(total.as_u64().unwrap() >= scripts, "{args:?}: {doc}");
        }
    }
    // Output that is not a document is refused, never printed as JSON.
    for args in [
        &["upgrade", "--sql"][..],
        &["completions", "bash"],
        &["man"],
    ] {
        let mut full = vec!["--format", "json"];
        full.extend_from_slice(args);
        let run = p.run(&full);
        assert_eq!(run.code, 2, "{args:?}");
        let doc: Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(doc["exit_code"], 2);
    }
    insta::assert_snapshot!(all);
}
