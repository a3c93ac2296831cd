//! Site files compressed once at brotli's best quality, off the request path.
//!
//! The response compression layer works per request, so it uses a fast, weaker setting. Site
//! files never change while the server runs, so each is worth compressing once as well as
//! brotli can: quality 11 makes the NUTS outlines and Leaflet about a third smaller than
//! the per-request setting, for a few seconds of one core after start-up.

use std::io::Write;

/// Media types that are already compressed: sending them through brotli again gains nothing.
const COMPRESSED_TYPES: &[&str] = &["image/png", "image/x-icon", "font/woff2"];

/// Below this, the coding's headers and a round trip's worth of bytes weigh more than the gain.
const MIN_SIZE: usize = 1024;

/// brotli's best quality and its largest standard window (4 MiB).
const QUALITY: u32 = 11;
const WINDOW_BITS: u32 = 22;

/// `body` compressed with brotli, or `None` when it is not worth it (already compressed,
/// small, or no smaller).
pub fn brotli(body: &[u8], media_type: &str) -> Option<Vec<u8>> {
    if body.len() < MIN_SIZE || COMPRESSED_TYPES.contains(&media_type) {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() / 4);
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, QUALITY, WINDOW_BITS);
        // Writing into a Vec cannot fail.
        writer.write_all(body).ok()?;
        writer.flush().ok()?;
    }
    (out.len() < body.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn text_round_trips_and_images_are_left_alone() {
        let body = "{\"type\":\"Feature\",\"geometry\":[12.3456,45.6789]}".repeat(100);
        let packed = brotli(body.as_bytes(), "application/geo+json").unwrap();
        assert!(packed.len() < body.len() / 10, "{} bytes", packed.len());
        let mut unpacked = String::new();
        brotli::Decompressor::new(packed.as_slice(), 4096)
            .read_to_string(&mut unpacked)
            .unwrap();
        assert_eq!(unpacked, body);
        assert_eq!(brotli(body.as_bytes(), "image/png"), None);
        assert_eq!(brotli(b"tiny", "text/css; charset=utf-8"), None);
    }
}
