//! The build-script half of [`embed!`](crate::embed!).
//!
//! ```no_run
//! // build.rs, in `fn main`:
//! strata::build::embed("migrations");
//! ```
//!
//! With `strata` under `[build-dependencies]` (default features off) as
//! well as `[dependencies]`. Checking happens here, with the same loader
//! the `strata` command uses, so a directory the CLI accepts is exactly a
//! directory that compiles.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::script::Migrations;

/// Reads and checks the revisions in `dir` (relative to the crate's
/// manifest) and writes the code `strata::embed!(dir)` includes. A problem
/// with the revisions becomes a compile error at the `embed!` call naming
/// the file; Cargo is told to run the build script again when anything in
/// `dir` changes.
///
/// # Panics
/// Outside a build script (no `OUT_DIR` or `CARGO_MANIFEST_DIR`), or when
/// `OUT_DIR` cannot be written: a build script's way to fail.
pub fn embed(dir: &str) {
    let manifest = env_path("CARGO_MANIFEST_DIR");
    let out = env_path("OUT_DIR");
    println!("cargo:rerun-if-changed={dir}");
    let code = generate(&manifest.join(dir), dir);
    let file = out.join("strata").join(format!("{dir}.rs"));
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent)
            .unwrap_or_else(|e| panic!("strata::build::embed: {}: {e}", parent.display()));
    }
    std::fs::write(&file, code)
        .unwrap_or_else(|e| panic!("strata::build::embed: {}: {e}", file.display()));
}

fn env_path(name: &str) -> PathBuf {
    match std::env::var_os(name) {
        Some(value) => PathBuf::from(value),
        None => panic!("strata::build::embed runs in a build script: {name} is not set"),
    }
}

/// The expression `embed!` expands to: an `Embedded` of every revision
/// file, or a `compile_error!` saying what is wrong with them.
fn generate(path: &Path, dir: &str) -> String {
    let migrations = match Migrations::load(path, dir) {
        Ok(m) => m,
        Err(e) => {
            let mut message = format!("strata::embed!({dir:?}): {e}");
            if let Some(hint) = e.hint().filter(|h| !h.contains("strata init")) {
                let _ = write!(message, " (hint: {hint})");
            }
            return format!("::core::compile_error!({message:?})\n");
        }
    };
    let mut code = format!(
        "// Written by strata::build::embed({dir:?}); strata::embed!({dir:?}) includes it.\n::strata::Embedded::__new({dir:?}, &[\n"
    );
    let own = migrations.in_order().map(|rev| ("", rev));
    let shelf = migrations
        .squashed()
        .map(|rev| (crate::script::SQUASHED_DIR, rev));
    for (folder, rev) in own.chain(shelf) {
        for file in [&rev.up, &rev.down] {
            let mut name = file
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !folder.is_empty() {
                name = format!("{folder}/{name}");
            }
            let absolute = file
                .path
                .canonicalize()
                .unwrap_or_else(|_| file.path.clone());
            let _ = writeln!(
                code,
                "    ({name:?}, include_str!({:?})),",
                absolute.to_string_lossy()
            );
        }
    }
    code.push_str("])\n");
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn a_good_directory_becomes_an_embedded_value() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            "1_a.up.sql",
            "-- strata:revision 1\n-- strata:parent base\n-- strata:message a\nCREATE TABLE a (x);\n",
        );
        write(
            tmp.path(),
            "1_a.down.sql",
            "-- strata:revision 1\nDROP TABLE a;\n",
        );
        write(tmp.path(), "README.md", "not a revision\n");
        let code = generate(tmp.path(), "migrations");
        assert!(
            code.contains("::strata::Embedded::__new(\"migrations\", &["),
            "{code}"
        );
        assert!(code.contains("(\"1_a.up.sql\", include_str!("), "{code}");
        assert!(code.contains("(\"1_a.down.sql\", include_str!("), "{code}");
        assert!(!code.contains("README"), "{code}");
    }

    #[test]
    fn a_missing_down_script_is_a_compile_error_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            "1_a.up.sql",
            "-- strata:revision 1\n-- strata:parent base\nCREATE TABLE a (x);\n",
        );
        let code = generate(tmp.path(), "migrations");
        assert!(code.starts_with("::core::compile_error!("), "{code}");
        assert!(code.contains("migrations/1_a.up.sql"), "{code}");
        assert!(code.contains("no down script"), "{code}");
    }

    #[test]
    fn squashed_revisions_are_embedded_under_their_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let shelf = tmp.path().join("squashed");
        std::fs::create_dir(&shelf).unwrap();
        write(
            &shelf,
            "1_a.up.sql",
            "-- strata:revision 1\n-- strata:parent base\nCREATE TABLE a (x);\n",
        );
        write(
            &shelf,
            "1_a.down.sql",
            "-- strata:revision 1\nDROP TABLE a;\n",
        );
        write(tmp.path(), "9_s.up.sql", "-- strata:revision 9\n-- strata:parent base\n-- strata:replaces 1\nCREATE TABLE a (x);\n");
        write(
            tmp.path(),
            "9_s.down.sql",
            "-- strata:revision 9\nDROP TABLE a;\n",
        );
        let code = generate(tmp.path(), "migrations");
        assert!(code.contains("(\"9_s.up.sql\", include_str!("), "{code}");
        assert!(
            code.contains("(\"squashed/1_a.up.sql\", include_str!("),
            "{code}"
        );
        assert!(
            code.contains("(\"squashed/1_a.down.sql\", include_str!("),
            "{code}"
        );
    }

    #[test]
    fn a_missing_directory_is_a_compile_error() {
        let tmp = tempfile::tempdir().unwrap();
        let code = generate(&tmp.path().join("nope"), "nope");
        assert!(code.starts_with("::core::compile_error!("), "{code}");
        assert!(
            code.contains("migrations directory nope does not exist"),
            "{code}"
        );
    }
}
