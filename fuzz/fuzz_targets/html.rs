//! Any bytes as a Html document: parsed into passages or refused with a message, never a panic.
#![no_main]

use askdesk::knowledge::{parse_document, ChunkOptions, Format};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_document("fuzz", "docs/page", Format::Html, text, ChunkOptions::default());
    }
});
