//! `cargo +nightly fuzz run graph`: see docs/reliability.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    strata::fuzzing::graph(data);
});
