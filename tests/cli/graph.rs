//! History ranges and heads through the binary.

use crate::common::*;

#[test]
fn history_range_and_no_database() {
    let p = TestProject::microblog();
    p.write_revision("20261126130000", "20261126120000", "third", "", "");
    let listed = |range: &str| -> Vec<String> {
        let run = p.run(&["history", "-r", range]).ok();
        run.stdout
            .lines()
            .skip(2)
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        listed("20261126120000:"),
        ["20261126130000", "20261126120000"]
    );
    assert_eq!(
        listed(":20261126120000"),
        ["20261126120000", "20261126110405"]
    );
    assert_eq!(listed("20261126120000:20261126120000"), ["20261126120000"]);
    assert!(p.run(&["history"]).ok().stdout.contains("pending"));
    let history = p.run(&["history"]).ok().stdout;
    let lines: Vec<&str> = history.lines().skip(2).collect();
    assert!(
        lines[0].starts_with(" 20261126130000 (head)"),
        "newest first: {lines:?}"
    );
    assert!(lines[2].starts_with(" 20261126110405"), "{lines:?}");
}
