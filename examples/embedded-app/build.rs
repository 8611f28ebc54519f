fn main() {
    // Reads and checks migrations/ now; `strata::embed!("migrations")` in
    // src/main.rs includes the result. Cargo reruns this when a file changes.
    strata::build::embed("migrations");
}
