//! Issuers that serve many tenants from one address (Microsoft's Entra ID: `common`,
//! `organizations`, `consumers`). Their discovery document names no single issuer but a
//! template, `https://login.microsoftonline.com/{tenantid}/v2.0`, and each ID token's `iss`
//! is that template filled in with the token's own `tid`. So:
//! - the document's `issuer` may differ from its address, but only on the same origin
//!   (an issuer cannot vouch for another site);
//! - a token's `iss` must be the template with its `tid` (a token from one tenant cannot
//!   pass for another's), or the document's issuer exactly when it has no placeholder
//!   (`consumers`, or a tenant named by its domain);
//! - the operator may accept only some tenants (`OAUTH_MICROSOFT_TENANTS`).

use url::Url;

/// What Microsoft's documents put where the tenant's id goes.
pub const PLACEHOLDER: &str = "{tenantid}";

/// The tenant of personal Microsoft accounts (outlook.com, xbox.com…): `consumers` in an
/// allow-list stands for it.
pub const CONSUMERS_TENANT_ID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// Which tenants' people may sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenancy {
    /// Lowercase tenant ids; `None`: any tenant the configured issuer serves.
    pub allowed: Option<Vec<String>>,
}

impl Tenancy {
    /// Reads an allow-list (`OAUTH_MICROSOFT_TENANTS`): tenant ids (GUIDs) or `consumers`,
    /// separated by commas or spaces. Returns what is wrong with it otherwise.
    pub fn parse_allowed(raw: &str) -> Result<Vec<String>, String> {
        let mut allowed = Vec::new();
        for entry in raw.split([',', ' ']).filter(|entry| !entry.is_empty()) {
            let id = if entry.eq_ignore_ascii_case("consumers") {
                CONSUMERS_TENANT_ID.to_owned()
            } else if is_tenant_id(entry) {
                entry.to_ascii_lowercase()
            } else {
                return Err(format!(
                    "holds {entry:?}: list tenant ids (GUIDs, as in the tokens' tid), or consumers"
                ));
            };
            if !allowed.contains(&id) {
                allowed.push(id);
            }
        }
        if allowed.is_empty() {
            return Err("lists no tenant".into());
        }
        Ok(allowed)
    }
}

/// A tenant as the sign-in address takes it: `common`, `organizations`, `consumers`, a
/// tenant id or one of the tenant's domains (`contoso.onmicrosoft.com`).
pub fn is_tenant_segment(tenant: &str) -> bool {
    !tenant.is_empty()
        && tenant.len() <= 255
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && !tenant.starts_with('.')
}

/// A GUID as Microsoft writes tenant ids: 8-4-4-4-12 hexadecimal digits.
fn is_tenant_id(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Whether a discovery document fetched from `configured` may name `documented` as its
/// issuer: the same one, or another on the same origin (the template, or the tenant's id
/// where the address named it by domain).
pub fn document_issuer_fits(configured: &Url, documented: &Url) -> bool {
    configured == documented || configured.origin() == documented.origin()
}

/// Checks a verified token's `iss` and `tid` against the document's issuer and the
/// operator's allow-list. Returns why the token is refused otherwise.
pub fn check_token(
    document_issuer: &str,
    iss: &str,
    tid: Option<&str>,
    tenancy: &Tenancy,
) -> Result<(), String> {
    let Some(tid) = tid.filter(|tid| is_tenant_id(tid)) else {
        return Err("no tenant id (tid)".into());
    };
    let tid = tid.to_ascii_lowercase();
    let expected = document_issuer.replace(PLACEHOLDER, &tid);
    // Microsoft writes tenant ids in lowercase; `iss` is compared as the template makes it.
    if iss != expected {
        return Err("its issuer (iss) is not its tenant's (tid)".into());
    }
    match &tenancy.allowed {
        Some(allowed) if !allowed.contains(&tid) => {
            Err(format!("its tenant {tid} is not among the accepted ones"))
        }
        _ => Ok(()),
    }
}

/// Whether an authorization answer's `iss` (RFC 9207) is one the template can make.
pub fn answer_issuer_fits(document_issuer: &str, iss: &str) -> bool {
    match document_issuer.split_once(PLACEHOLDER) {
        Some((before, after)) => iss
            .strip_prefix(before)
            .and_then(|rest| rest.strip_suffix(after))
            .is_some_and(is_tenant_id),
        None => iss == document_issuer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";
    const CONTOSO: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const FABRIKAM: &str = "b9419818-09af-49c2-b0c3-653adc1f376e";

    fn any_tenant() -> Tenancy {
        Tenancy { allowed: None }
    }

    fn issuer_of(tid: &str) -> String {
        format!("https://login.microsoftonline.com/{tid}/v2.0")
    }

    #[test]
    fn a_token_names_its_own_tenant_in_its_issuer() {
        let tenancy = any_tenant();
        assert_eq!(
            check_token(TEMPLATE, &issuer_of(CONTOSO), Some(CONTOSO), &tenancy),
            Ok(())
        );
        // Signed by Microsoft for one tenant, claiming another's issuer, or the template.
        for iss in [issuer_of(FABRIKAM), TEMPLATE.to_owned()] {
            assert!(check_token(TEMPLATE, &iss, Some(CONTOSO), &tenancy).is_err());
        }
        assert!(check_token(TEMPLATE, &issuer_of(CONTOSO), None, &tenancy).is_err());
        // A tid that is no id cannot smuggle in a path.
        assert!(check_token(
            TEMPLATE,
            "https://login.microsoftonline.com/x/v2.0",
            Some("x"),
            &tenancy
        )
        .is_err());
    }

    #[test]
    fn a_document_without_placeholder_takes_exactly_its_issuer() {
        let consumers = issuer_of(CONSUMERS_TENANT_ID);
        let tenancy = any_tenant();
        assert_eq!(
            check_token(&consumers, &consumers, Some(CONSUMERS_TENANT_ID), &tenancy),
            Ok(())
        );
        assert!(check_token(&consumers, &issuer_of(CONTOSO), Some(CONTOSO), &tenancy).is_err());
    }

    #[test]
    fn only_listed_tenants_are_accepted() {
        let tenancy = Tenancy {
            allowed: Some(
                Tenancy::parse_allowed(&format!("{}, consumers", CONTOSO.to_uppercase())).unwrap(),
            ),
        };
        assert_eq!(
            tenancy.allowed.as_deref().unwrap(),
            [CONTOSO, CONSUMERS_TENANT_ID]
        );
        assert_eq!(
            check_token(TEMPLATE, &issuer_of(CONTOSO), Some(CONTOSO), &tenancy),
            Ok(())
        );
        let refused = check_token(TEMPLATE, &issuer_of(FABRIKAM), Some(FABRIKAM), &tenancy);
        assert!(refused.unwrap_err().contains(FABRIKAM));
        for bad in ["", "contoso.com", "common", "72f988bf-86f1-41af-91ab"] {
            assert!(Tenancy::parse_allowed(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_document_may_name_another_issuer_on_its_own_site_only() {
        let configured = Url::parse("https://login.microsoftonline.com/common/v2.0").unwrap();
        let fits =
            |documented: &str| document_issuer_fits(&configured, &Url::parse(documented).unwrap());
        assert!(fits(TEMPLATE));
        assert!(fits(&issuer_of(CONTOSO)));
        assert!(!fits("https://evil.example/{tenantid}/v2.0"));
        assert!(!fits("http://login.microsoftonline.com/{tenantid}/v2.0"));
    }

    #[test]
    fn answers_name_an_issuer_the_template_makes() {
        assert!(answer_issuer_fits(TEMPLATE, &issuer_of(CONTOSO)));
        assert!(!answer_issuer_fits(
            TEMPLATE,
            "https://login.microsoftonline.com/a/b/v2.0"
        ));
        assert!(!answer_issuer_fits(TEMPLATE, "https://evil.example/v2.0"));
        let consumers = issuer_of(CONSUMERS_TENANT_ID);
        assert!(answer_issuer_fits(&consumers, &consumers));
    }

    #[test]
    fn tenants_in_addresses_are_names_or_ids() {
        for good in [
            "common",
            "organizations",
            "consumers",
            CONTOSO,
            "contoso.onmicrosoft.com",
        ] {
            assert!(is_tenant_segment(good), "{good}");
        }
        for bad in ["", "a/b", "..", "a?b", "a b", ".x"] {
            assert!(!is_tenant_segment(bad), "{bad:?}");
        }
    }
}
