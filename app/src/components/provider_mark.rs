use leptos::prelude::*;

/// Providers with a brand mark of their own in `public/marks/` (drawn in the colours and
/// proportions their guidelines ask for, on the button colours in `style/main.css`).
const BRANDED: &[&str] = &[
    "apple",
    "demo",
    "discord",
    "facebook",
    "github",
    "gitlab",
    "google",
    "linkedin",
    "microsoft",
    "twitter",
];

/// Where a provider's mark is: its brand's, or the neutral one for a provider configured
/// by its variables alone (an issuer's own name says nothing of its look).
pub fn mark_src(provider: &str) -> String {
    let name = if BRANDED.contains(&provider) {
        provider
    } else {
        "generic"
    };
    format!("/marks/{name}.svg")
}

/// A provider's mark, beside its name on a button or a sign-in method: decoration only,
/// the text says which provider it is.
#[component]
pub fn ProviderMark(#[prop(into)] provider: String) -> impl IntoView {
    view! {
        <img
            class=format!("provider-mark mark-{provider}")
            src=mark_src(&provider)
            alt=""
            aria-hidden="true"
            width="20"
            height="20"
        />
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_branded_mark_is_a_file_and_others_get_the_neutral_one() {
        let marks = concat!(env!("CARGO_MANIFEST_DIR"), "/../public");
        for provider in BRANDED.iter().copied().chain(["corp"]) {
            let path = format!("{marks}{}", mark_src(provider));
            let svg = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{path}"));
            assert!(svg.contains("<svg") && svg.contains("viewBox"), "{path}");
            assert!(!svg.contains("<script") && !svg.contains("href"), "{path}");
        }
        assert_eq!(mark_src("corp"), "/marks/generic.svg");
        assert_eq!(mark_src("github"), "/marks/github.svg");
    }
}
