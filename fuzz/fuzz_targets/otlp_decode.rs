//! OTLP/HTTP bodies through the ingest's decode and mapping: any bytes in,
//! never a panic, consistent counts and valid events out (see the body).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "otlp_decode_body.rs"]
mod body;

fuzz_target!(|data: &[u8]| {
    body::run(data);
});
