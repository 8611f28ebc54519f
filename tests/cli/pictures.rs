//! Pictures (issue 17): the revision graph and the schema as DOT, Mermaid
//! and text. DOT output is rendered by Graphviz's `dot -Tsvg` (skipped
//! visibly where it is not installed; `.ci/run` installs it); Mermaid and
//! text are pinned by snapshots. The fixtures: a branchy history (two
//! heads, then a merge) and `fixtures/pictures/schema.sql` (a
//! self-referencing and a composite foreign key, a view, hostile names).

use std::io::Write as _;
use std::path::Path;

use crate::common::TestProject;

/// Renders DOT with Graphviz; None where `dot` is missing.
fn render(dot: &str, test: &str) -> Option<String> {
    crate::common::installed_or_skip(
        test,
        "Graphviz",
        "apt-get install graphviz",
        None,
        "dot",
        &|c| {
            c.arg("-V");
        },
    )?;
    let mut child = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(dot.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "dot refused:\n{dot}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

/// A history with a branch point, two heads joined by a merge, a revision
/// after it, and a message that is hostile to every picture language.
fn branchy() -> TestProject {
    let p = TestProject::new();
    p.write_revision(
        "20260101000000",
        "base",
        "root",
        "CREATE TABLE a (x);",
        "DROP TABLE a;",
    );
    p.write_revision(
        "20260102000000",
        "20260101000000",
        "left \"side\" <b>",
        "CREATE TABLE b (x);",
        "DROP TABLE b;",
    );
    p.write_revision(
        "20260103000000",
        "20260101000000",
        "right # side `x`",
        "CREATE TABLE c (x);",
        "DROP TABLE c;",
    );
    p.write_revision(
        "20260104000000",
        "20260102000000,20260103000000",
        "merge heads",
        "SELECT 1;",
        "SELECT 1;",
    );
    p.write_revision(
        "20260105000000",
        "20260104000000",
        "größe",
        "CREATE TABLE d (x);",
        "DROP TABLE d;",
    );
    p
}

#[test]
fn revision_graph_in_every_format() {
    let p = branchy();
    p.run(&["upgrade", "20260104000000"]).ok();
    // An edited applied revision shows as MODIFIED.
    let up = p.up_file("20260102000000");
    let text = std::fs::read_to_string(&up).unwrap();
    std::fs::write(&up, format!("{text}\n-- edited\n")).unwrap();

    let text = p.run(&["graph"]).ok().stdout;
    assert_eq!(text, p.run(&["history", "--graph"]).ok().stdout);
    let mermaid = p.run(&["graph", "--format", "mermaid"]).ok().stdout;
    let dot = p.run(&["graph", "--format", "dot"]).ok().stdout;
    insta::assert_snapshot!("graph_text", text);
    insta::assert_snapshot!("graph_mermaid", mermaid);
    insta::assert_snapshot!("graph_dot", dot);
    for id in [
        "20260101000000",
        "20260102000000",
        "20260103000000",
        "20260104000000",
        "20260105000000",
    ] {
        assert!(text.contains(id) && mermaid.contains(id), "{id}");
    }
    assert!(text.contains("MODIFIED") && text.contains("merge") && text.contains("branch point"));
    if let Some(svg) = render(&dot, "revision_graph_in_every_format") {
        for id in ["20260101000000", "20260103000000", "20260105000000"] {
            assert!(svg.contains(id), "{id} in the SVG");
        }
        assert!(
            svg.contains("left &quot;side&quot; &lt;b&gt;"),
            "the hostile message, escaped once"
        );
    }
    let json = p.run(&["--format", "json", "graph"]).ok().stdout;
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["edges"].as_array().unwrap().len(), 5);
    // Other commands do not draw.
    p.run(&["--format", "dot", "history"]).fails(2);
}

#[test]
fn schema_diagram_in_every_format() {
    let p = TestProject::new();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pictures/schema.sql"),
        p.path("schema.sql"),
    )
    .unwrap();
    let mermaid = p.run(&["erd", "--format", "mermaid"]).ok().stdout;
    let dot = p.run(&["erd", "--format", "dot"]).ok().stdout;
    let text = p.run(&["erd"]).ok().stdout;
    insta::assert_snapshot!("erd_mermaid", mermaid);
    insta::assert_snapshot!("erd_dot", dot);
    insta::assert_snapshot!("erd_text", text);
    assert!(text.contains("→ order (parent order → id)"), "{text}");
    assert!(
        text.contains("→ we\"ird <table> (region, code → region, code)"),
        "{text}"
    );
    if let Some(svg) = render(&dot, "schema_diagram_in_every_format") {
        for name in [
            "order",
            "we&quot;ird &lt;table&gt;",
            "line",
            "open orders",
            "größe",
        ] {
            assert!(svg.contains(name), "{name} in the SVG");
        }
    }
    // The live database draws the same once it is built from schema.sql.
    p.run(&["migrate", "-m", "all"]).ok();
    p.run(&["upgrade"]).ok();
    assert_eq!(
        p.run(&["erd", "--live", "--format", "dot"]).ok().stdout,
        dot
    );
}
