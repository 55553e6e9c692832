//! QR codes of approval links as SVG, drawn the same way by the gateway (`/p/{code}/qr.svg`) and
//! by the web SDK (in the browser, from `next_action.url`).

use qrcode::render::svg;
use qrcode::QrCode;

/// An SVG QR code of `text` (at least 256 px, with its quiet zone), or `None` when the text is
/// too long for any QR code.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    Some(code.render::<svg::Color<'_>>().min_dimensions(256, 256).quiet_zone(true).build())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_link_becomes_an_svg_without_style_attributes() {
        let image = super::svg("https://pay.example.com/p/3W5Wcksvral2T3oL1n1X88UyebMEELmE").unwrap();
        assert!(image.contains("<svg") && image.contains("</svg>"));
        assert!(!image.contains("style"), "a strict CSP refuses inline styles");
    }

    #[test]
    fn text_too_long_for_a_qr_code_is_none() {
        assert!(super::svg(&"x".repeat(8000)).is_none());
    }
}
