//! Any text as an eval suite file: loaded or refused with a message naming the line.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = askdesk::eval::parse_suite(std::path::Path::new("fuzz.yaml"), text);
    }
});
