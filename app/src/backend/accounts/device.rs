//! A session's browser and system in words, from its User-Agent.

/// "Chrome 120 on Linux"; "Unknown browser" when the User-Agent says nothing useful.
pub fn describe(user_agent: Option<&str>) -> String {
    let Some(parsed) = user_agent.and_then(|ua| woothee::parser::Parser::new().parse(ua)) else {
        return "Unknown browser".to_owned();
    };
    let known = |text: &str| !text.is_empty() && text != woothee::woothee::VALUE_UNKNOWN;
    let major = parsed.version.split('.').next().unwrap_or_default();
    let browser = match (known(parsed.name), known(major)) {
        (true, true) => format!("{} {major}", parsed.name),
        (true, false) => parsed.name.to_owned(),
        _ => "Unknown browser".to_owned(),
    };
    if known(parsed.os) {
        format!("{browser} on {}", parsed.os)
    } else {
        browser
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_browsers_are_named_with_their_system() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                      Chrome/120.0.0.0 Safari/537.36";
        assert_eq!(describe(Some(chrome)), "Chrome 120 on Linux");
        let firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 \
                       Firefox/121.0";
        assert_eq!(describe(Some(firefox)), "Firefox 121 on Windows 10");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 \
                      (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
        assert!(
            describe(Some(iphone)).starts_with("Safari 17 on iPhone"),
            "{}",
            describe(Some(iphone))
        );
    }

    #[test]
    fn nothing_useful_is_an_unknown_browser() {
        assert_eq!(describe(None), "Unknown browser");
        assert_eq!(describe(Some("")), "Unknown browser");
        assert_eq!(describe(Some("nonsense")), "Unknown browser");
    }
}
