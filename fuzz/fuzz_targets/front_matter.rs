//! Any text after a front matter opening line: the YAML metadata block and the body behind it.
#![no_main]

use askdesk::knowledge::{parse_document, ChunkOptions, Format};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let document = format!("---\n{text}");
        let _ = parse_document("fuzz", "page", Format::Markdown, &document, ChunkOptions::default());
    }
});
