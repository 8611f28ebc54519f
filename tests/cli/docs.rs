//! What a stranger reads first (issue 10.7, 10.10): the README's set-up
//! commands, the install step before any `strata …` command, the licences
//! Cargo.toml claims, a changelog, and docs that cite the repository's own
//! design document.

use std::path::Path;

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn readme_gives_the_two_commands_then_the_install_step() {
    let readme = read("README.md");
    let head: Vec<&str> = readme.lines().take(6).collect();
    assert!(
        head.iter()
            .any(|l| l.starts_with("cargo run --release -- upgrade")),
        "{head:?}"
    );
    assert!(head.iter().any(|l| l.starts_with("cargo test")), "{head:?}");
    let install = readme
        .find("cargo install --path .")
        .expect("an install step");
    let first_use = readme
        .lines()
        .filter(|l| l.starts_with("strata "))
        .map(|l| readme.find(l).unwrap())
        .min()
        .expect("a strata command");
    assert!(
        install < first_use,
        "the install step comes before any `strata …` command"
    );
}

#[test]
fn licences_and_changelog_exist() {
    let cargo = read("Cargo.toml");
    assert!(cargo.contains("license = \"MIT OR Apache-2.0\""));
    assert!(read("LICENSE-MIT").contains("Permission is hereby granted"));
    assert!(read("LICENSE-APACHE").contains("Apache License"));
    assert!(read("CHANGELOG.md").contains("## [Unreleased]"));
}

/// Citations point at docs/design.md, which exists, never at a file the
/// repository does not have.
#[test]
fn citations_name_the_repository_design() {
    assert!(read("docs/design.md").contains("## §5 Applying revisions"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stack = vec![
        root.join("src"),
        root.join("docs"),
        root.join("tests"),
        root.join("benches"),
    ];
    stack.push(root.join("README.md"));
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
        } else if path.extension().is_some_and(|e| e == "rs" || e == "md") {
            let text = std::fs::read_to_string(&path).unwrap();
            let needle = ["DESIGN", " §"].concat();
            assert!(
                !text.contains(&needle),
                "{} cites a missing DESIGN file",
                path.display()
            );
        }
    }
}
