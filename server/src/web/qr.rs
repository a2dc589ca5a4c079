//! QR codes drawn as inline SVG on the server: no image, no script. The
//! symbol comes from the `qrcode` crate (without its image features); the
//! drawing is ours: one path, each run of dark modules in a row one
//! rectangle, with the 4-module quiet zone the standard asks for.

use std::fmt::Write as _;

use qrcode::{Color, EcLevel, QrCode};

use super::html::escape;

/// The quiet zone around the symbol, in modules (ISO/IEC 18004).
const QUIET: usize = 4;

/// A QR code of `data` (error correction level M) as an SVG element `size`
/// CSS pixels wide, labelled `label` for screen readers; `None` if `data` is
/// too long for any QR version.
#[must_use]
pub(crate) fn svg(data: &str, label: &str, size: u32) -> Option<String> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    Some(draw(&colors, width, label, size))
}

fn draw(colors: &[Color], width: usize, label: &str, size: u32) -> String {
    let full = width + 2 * QUIET;
    let mut d = String::new();
    for (y, row) in colors.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if row[x] == Color::Dark {
                let start = x;
                while x < width && row[x] == Color::Dark {
                    x += 1;
                }
                let _ = write!(
                    d,
                    "M{} {}h{}v1h-{}z",
                    start + QUIET,
                    y + QUIET,
                    x - start,
                    x - start
                );
            } else {
                x += 1;
            }
        }
    }
    format!(
        "<svg class=\"qr\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"{size}\" \
         height=\"{size}\" viewBox=\"0 0 {full} {full}\" shape-rendering=\"crispEdges\">\
         <title>{}</title><rect width=\"{full}\" height=\"{full}\" fill=\"#fff\"/>\
         <path fill=\"#000\" d=\"{d}\"/></svg>",
        escape(label)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the dark modules back from the path's `M x y h n` runs.
    fn modules(svg: &str) -> Vec<(usize, usize)> {
        let d = svg
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let mut out = Vec::new();
        for run in d.split('M').filter(|r| !r.is_empty()) {
            let (xy, rest) = run.split_once('h').unwrap();
            let (x, y) = xy.split_once(' ').unwrap();
            let n: usize = rest.split('v').next().unwrap().parse().unwrap();
            let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
            out.extend((x..x + n).map(|x| (x, y)));
        }
        out
    }

    #[test]
    fn the_path_draws_exactly_the_dark_modules() {
        let data = "00020101021138570010A0000007270127000697043601130011001932418";
        let code = QrCode::with_error_correction_level(data, EcLevel::M).unwrap();
        let w = code.width();
        let colors = code.to_colors();
        let svg = svg(data, "a <label>", 200).unwrap();
        let drawn = modules(&svg);
        let expected: Vec<(usize, usize)> = colors
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == Color::Dark)
            .map(|(i, _)| (i % w + QUIET, i / w + QUIET))
            .collect();
        assert_eq!(drawn, expected);
        // The three finder patterns: a 7-module dark square border at the
        // top-left corner, inside the quiet zone.
        for i in 0..7 {
            assert!(drawn.contains(&(QUIET + i, QUIET)));
            assert!(drawn.contains(&(QUIET, QUIET + i)));
        }
        assert!(svg.contains(&format!("viewBox=\"0 0 {0} {0}\"", w + 8)));
        assert!(svg.contains("<title>a &lt;label&gt;</title>"));
    }

    #[test]
    fn too_long_data_is_none() {
        assert!(svg(&"x".repeat(4000), "", 100).is_none());
    }
}
