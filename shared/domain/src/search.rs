//! Search folding: "José Ñúñez" and "jose nunez" must find each other.

/// Lower-cases and strips diacritics (transliterating to ASCII), collapsing runs of whitespace.
pub fn fold(text: &str) -> String {
    let ascii = deunicode::deunicode(text).to_lowercase();
    ascii.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn folds_case_and_accents() {
        assert_eq!(fold("José  ÑÚÑEZ"), "jose nunez");
        assert_eq!(fold("Zoë.Brontë@Example.COM"), "zoe.bronte@example.com");
        assert_eq!(fold("Łukasz Żółć"), "lukasz zolc");
    }
}
