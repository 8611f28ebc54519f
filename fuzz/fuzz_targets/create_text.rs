//! `cargo +nightly fuzz run create_text`: see docs/reliability.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    strata::fuzzing::create_text(data);
});
