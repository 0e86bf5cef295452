//! The OpenID Connect sign-in (Core §3.1, authorization code flow): the OAuth 2 steps with
//! PKCE, plus a `nonce`, the issuer named in the answer (RFC 9207), an ID token checked
//! against the issuer's keys (see `id_token`), and the profile from the token and the
//! userinfo endpoint. Endpoints and keys come from the issuer's discovery (see `discovery`).

use oauth2::{AuthType, Scope, TokenResponse};
use openidconnect::core::{CoreClientAuthMethod, CoreIdToken, CoreTokenResponse};
use openidconnect::{ClientId, Nonce};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use url::Url;

use super::discovery::{IssuerMetadata, Unavailable};
use super::http_client::ProviderClient;
use super::id_token::{self, IdTokenError, VerifiedIdentity};
use super::oauth2_flow::{self, TokenEndpoints};
use super::profile::{self, EmailStatus, EmailTrust, Profile};
use super::protocol::ClientCheck;
use super::tenants;
use crate::backend::config::{OidcSettings, ProviderConfig};
use crate::backend::db::users::ProviderTokens;
use crate::backend::secret::Secret;
use crate::error::AppError;
use crate::models::CallbackParams;

/// What an OpenID Connect sign-in keeps in the browser's session meanwhile.
#[derive(Serialize, Deserialize)]
pub struct Pending {
    /// `state`, also what ties the callback to this browser, and the PKCE verifier.
    #[serde(flatten)]
    pub oauth2: oauth2_flow::Pending,
    /// Sent in the authorization request; the ID token must carry it back.
    pub nonce: String,
}

/// Starts a sign-in: where to send the browser, and what to keep for the way back.
pub async fn start(
    http: &ProviderClient,
    provider: &ProviderConfig,
    oidc: &OidcSettings,
    redirect_uri: &Url,
) -> Result<(Pending, Url), AppError> {
    let metadata = metadata(http, provider, oidc).await?;
    let endpoints = token_endpoints(provider, &metadata)?;
    let nonce = Nonce::new_random();
    let mut scopes: Vec<Scope> = std::iter::once("openid".to_owned())
        .chain(oidc.scopes.iter().cloned())
        .map(Scope::new)
        .collect();
    let mut extra = vec![("nonce", nonce.secret().as_str())];
    if oidc.form_post {
        // Apple requires it when name or email are asked for; the answer comes as a
        // cross-site POST, which `/callback` turns into this site's own GET.
        extra.push(("response_mode", "form_post"));
    }
    if provider.keeps_tokens() {
        let (scope, params) = offline_access(oidc, &metadata);
        scopes.extend(scope);
        extra.extend_from_slice(params);
    }
    let (oauth2, url) =
        oauth2_flow::authorization_request(provider, &endpoints, redirect_uri, scopes, &extra);
    let pending = Pending {
        oauth2,
        nonce: nonce.secret().clone(),
    };
    Ok((pending, url))
}

/// Finishes a sign-in whose answer has been matched to `pending` (its `state`).
pub async fn finish(
    http: &ProviderClient,
    provider: &ProviderConfig,
    oidc: &OidcSettings,
    redirect_uri: &Url,
    pending: &Pending,
    params: &CallbackParams,
) -> Result<(Profile, ProviderTokens), AppError> {
    let metadata = metadata(http, provider, oidc).await?;
    check_answering_issuer(provider, oidc, &metadata, params.iss.as_deref())?;
    let code = oauth2_flow::authorization_code(provider, redirect_uri, params)?;
    let endpoints = token_endpoints(provider, &metadata)?;
    let token: CoreTokenResponse = oauth2_flow::exchange_code(
        http,
        provider,
        &endpoints,
        redirect_uri,
        code,
        &pending.oauth2.pkce_verifier,
    )
    .await?;
    let Some(id_token) = token.extra_fields().id_token() else {
        tracing::warn!(provider = provider.name, "token answer without an ID token");
        return Err(AppError::provider_failed("The provider sent no ID token."));
    };
    let identity =
        verify_id_token(http, provider, oidc, &metadata, id_token, &pending.nonce).await?;
    let access_token = Secret::new(token.access_token().secret().clone());
    let userinfo = match metadata.userinfo_endpoint() {
        Some(endpoint) => userinfo(http, provider, endpoint.url(), &access_token).await?,
        None => None,
    };
    let mut profile = profile_of(&identity, userinfo, oidc.email_trust, oidc.public_pictures)
        .map_err(|err| {
            tracing::warn!(provider = provider.name, error = %err, "identity unusable");
            AppError::provider_failed(err.to_string())
        })?;
    if oidc.form_post && identity.name.is_none() {
        // Apple names the person only in its first answer's `user` field (unsigned: a
        // display name, nothing more); afterwards the name kept then stays.
        match params
            .user
            .as_deref()
            .and_then(super::apple::name_from_user_field)
        {
            Some(name) => profile.nickname = profile::nickname(Some(&name), "User"),
            None => profile.name_unsaid = true,
        }
    }
    Ok((profile, oauth2_flow::kept_tokens(provider, &token)))
}

/// How to ask for a refresh token: the issuer's own way (Google's `access_type`), else the
/// `offline_access` scope where the issuer lists it, with `prompt=consent`, which OpenID
/// Connect Core §11 requires of it; else nothing (the issuer may send one all the same).
fn offline_access(
    oidc: &OidcSettings,
    metadata: &IssuerMetadata,
) -> (Option<Scope>, &'static [(&'static str, &'static str)]) {
    if !oidc.offline_access.is_empty() {
        return (None, oidc.offline_access);
    }
    let listed = metadata.scopes_supported().is_some_and(|scopes| {
        scopes
            .iter()
            .any(|scope| scope.as_str() == "offline_access")
    });
    if listed {
        (
            Some(Scope::new("offline_access".into())),
            &[("prompt", "consent")],
        )
    } else {
        (None, &[])
    }
}

/// RFC 9207: an issuer that says it names itself in its answers must, and a named issuer
/// must be this one: otherwise the answer may come from another issuer (a mix-up attack).
fn check_answering_issuer(
    provider: &ProviderConfig,
    oidc: &OidcSettings,
    metadata: &IssuerMetadata,
    iss: Option<&str>,
) -> Result<(), AppError> {
    let promised = metadata
        .additional_metadata()
        .authorization_response_iss_parameter_supported
        == Some(true);
    let ours = |iss: &str| match oidc.tenancy {
        Some(_) => tenants::answer_issuer_fits(metadata.issuer().as_str(), iss),
        None => iss == metadata.issuer().as_str(),
    };
    match iss {
        Some(iss) if ours(iss) => Ok(()),
        None if !promised => Ok(()),
        _ => {
            tracing::warn!(
                provider = provider.name,
                "authorization answer names another issuer, or none though promised (RFC 9207)"
            );
            Err(AppError::bad_request(
                "The sign-in answer did not come from the expected provider. Please start again.",
            ))
        }
    }
}

/// The ID token checked against the issuer's keys; once more with its keys fetched again
/// when it names a key the cached set lacks (the issuer rotated them).
async fn verify_id_token(
    http: &ProviderClient,
    provider: &ProviderConfig,
    oidc: &OidcSettings,
    metadata: &std::sync::Arc<IssuerMetadata>,
    token: &CoreIdToken,
    nonce: &str,
) -> Result<VerifiedIdentity, AppError> {
    let client_id = ClientId::new(provider.client_id.clone());
    let nonce = Nonce::new(nonce.to_owned());
    let expected = || id_token::Expected {
        issuer: metadata.issuer(),
        client_id: &client_id,
        nonce: &nonce,
        tenancy: oidc.tenancy.as_ref(),
    };
    let result = match id_token::verify(token, metadata.jwks(), expected()) {
        Err(IdTokenError::UnknownKey) => {
            let refreshed = oidc
                .issuer
                .refresh_keys(http, metadata)
                .await
                .map_err(|err| unavailable(provider, &err))?;
            id_token::verify(token, refreshed.jwks(), expected())
        }
        other => other,
    };
    result.map_err(|err| {
        tracing::warn!(provider = provider.name, error = %err, "ID token refused");
        AppError::provider_failed("The provider's answer could not be verified.")
    })
}

/// The issuer's userinfo answer, if it gives one as a JSON object. The ID token already
/// says who signed in, so a userinfo endpoint that refuses or answers something else (a
/// signed or encrypted userinfo, `application/jwt`) costs only the name and address; one
/// that cannot be reached fails the sign-in, as any provider call does.
async fn userinfo(
    http: &ProviderClient,
    provider: &ProviderConfig,
    endpoint: &Url,
    access_token: &Secret,
) -> Result<Option<Map<String, Value>>, AppError> {
    let name = provider.name.as_str();
    let json = oauth2_flow::optional_json(http, name, "userinfo", endpoint.clone(), access_token)
        .await
        .map_err(|err| oauth2_flow::transport_failure(name, "userinfo", &err))?;
    match json {
        Some(Value::Object(claims)) => Ok(Some(claims)),
        Some(_) => {
            tracing::warn!(provider = name, "userinfo answer is not a JSON object");
            Ok(None)
        }
        None => Ok(None),
    }
}

/// The profile from the verified ID token and the userinfo claims (Core §5.3.2: only when
/// they are about the same `sub`), userinfo first where both say something. An address
/// counts as the issuer's `email_trust` says; a picture only where anyone may load it.
fn profile_of(
    identity: &VerifiedIdentity,
    userinfo: Option<Map<String, Value>>,
    email_trust: EmailTrust,
    public_pictures: bool,
) -> Result<Profile, UserinfoMismatch> {
    let userinfo_given = userinfo.is_some();
    let mut claims = userinfo.unwrap_or_default();
    match claims.get("sub") {
        // Core §5.3.2: userinfo always names its subject.
        None if userinfo_given => return Err(UserinfoMismatch),
        None => {}
        Some(Value::String(sub)) if *sub == identity.subject => {}
        Some(_) => return Err(UserinfoMismatch),
    }
    claims.insert("sub".into(), json!(identity.subject));
    if !claims.contains_key("name") && !claims.contains_key("preferred_username") {
        if let Some(name) = &identity.name {
            claims.insert("name".into(), json!(name));
        }
    }
    let email_status = match email_trust {
        EmailTrust::IssuerVerified => {
            // Some issuers (AWS Cognito) send the boolean as a string, as openidconnect
            // reads it in ID tokens too.
            let userinfo_verified = matches!(claims.get("email_verified"), Some(Value::Bool(true)))
                || matches!(claims.get("email_verified"), Some(Value::String(s)) if s == "true");
            if !userinfo_verified {
                claims.remove("email");
                if let Some(email) = identity.email.as_ref().filter(|_| identity.email_verified) {
                    claims.insert("email".into(), json!(email));
                }
            }
            EmailStatus::Verified
        }
        EmailTrust::Unvouched | EmailTrust::SelfAsserted => {
            if !claims.contains_key("email") {
                if let Some(email) = &identity.email {
                    claims.insert("email".into(), json!(email));
                }
            }
            if email_trust == EmailTrust::Unvouched {
                EmailStatus::Unverified
            } else {
                EmailStatus::SelfAsserted
            }
        }
    };
    if !public_pictures {
        claims.remove("picture");
    } else if !claims.contains_key("picture") {
        if let Some(picture) = &identity.picture {
            claims.insert("picture".into(), json!(picture));
        }
    }
    let mut profile =
        profile::openid_userinfo(&Value::Object(claims)).map_err(|_| UserinfoMismatch)?;
    profile.email_status = email_status;
    Ok(profile)
}

#[derive(Debug, thiserror::Error)]
#[error("The provider's profile is about someone else, or has no usable id.")]
pub struct UserinfoMismatch;

/// The profile of the identity `subject` read again from the issuer's userinfo answer
/// (with a kept token): only if the answer is about that subject.
pub fn profile_from_userinfo(
    oidc: &OidcSettings,
    subject: &str,
    userinfo: Value,
) -> Result<Profile, UserinfoMismatch> {
    let Value::Object(claims) = userinfo else {
        return Err(UserinfoMismatch);
    };
    let known = VerifiedIdentity {
        subject: subject.to_owned(),
        name: None,
        email: None,
        email_verified: false,
        picture: None,
    };
    profile_of(&known, Some(claims), oidc.email_trust, oidc.public_pictures)
}

/// The issuer's endpoints, and the client authentication it takes: HTTP Basic (the
/// default of OIDC Discovery) unless it lists only `client_secret_post`.
pub fn token_endpoints<'a>(
    provider: &ProviderConfig,
    metadata: &'a IssuerMetadata,
) -> Result<TokenEndpoints<'a>, AppError> {
    let Some(token_url) = metadata.token_endpoint() else {
        tracing::error!(
            provider = provider.name,
            "the issuer publishes no token endpoint: it cannot do the authorization code flow"
        );
        return Err(AppError::provider_failed(
            "This provider does not support this kind of sign-in.",
        ));
    };
    let methods = metadata.token_endpoint_auth_methods_supported();
    let post_only = methods.is_some_and(|methods| {
        methods.contains(&CoreClientAuthMethod::ClientSecretPost)
            && !methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
    });
    Ok(TokenEndpoints {
        authorize_url: metadata.authorization_endpoint().url(),
        token_url: token_url.url(),
        token_auth: if post_only {
            AuthType::RequestBody
        } else {
            AuthType::BasicAuth
        },
    })
}

/// Checks the client's registration at the issuer's token endpoint (`server doctor`).
pub async fn check_client(
    http: &ProviderClient,
    provider: &ProviderConfig,
    oidc: &OidcSettings,
    redirect_uri: &Url,
) -> ClientCheck {
    let metadata = match oidc.issuer.metadata(http).await {
        Ok(metadata) => metadata,
        Err(err) => return ClientCheck::Undiscoverable(err.0),
    };
    match token_endpoints(provider, &metadata) {
        Ok(endpoints) => oauth2_flow::check_client(http, provider, &endpoints, redirect_uri).await,
        Err(_) => ClientCheck::Unclear("the issuer publishes no token endpoint".into()),
    }
}

/// The issuer's discovered metadata, or a readable "temporarily unavailable".
pub async fn metadata(
    http: &ProviderClient,
    provider: &ProviderConfig,
    oidc: &OidcSettings,
) -> Result<std::sync::Arc<IssuerMetadata>, AppError> {
    oidc.issuer
        .metadata(http)
        .await
        .map_err(|err| unavailable(provider, &err))
}

fn unavailable(provider: &ProviderConfig, err: &Unavailable) -> AppError {
    tracing::warn!(provider = provider.name, error = %err, "sign-in unavailable");
    AppError::provider_failed(format!(
        "Sign-in with {} is temporarily unavailable: its provider could not be reached. \
         Please try again later.",
        provider.label
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> VerifiedIdentity {
        VerifiedIdentity {
            subject: "248289761001".into(),
            name: Some("Jane Doe".into()),
            email: Some("jane@example.com".into()),
            email_verified: true,
            picture: None,
        }
    }

    const VERIFIED: EmailTrust = EmailTrust::IssuerVerified;

    fn claims(value: Value) -> Option<Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            _ => unreachable!(),
        }
    }

    #[test]
    fn the_id_token_alone_gives_the_profile() {
        let profile = profile_of(&identity(), None, VERIFIED, true).unwrap();
        assert_eq!(profile.provider_user_id, "248289761001");
        assert_eq!(profile.nickname, "Jane Doe");
        assert_eq!(profile.email.as_deref(), Some("jane@example.com"));
    }

    #[test]
    fn userinfo_fills_in_and_only_a_verified_email_counts() {
        let anonymous = VerifiedIdentity {
            name: None,
            email: None,
            ..identity()
        };
        let profile = profile_of(
            &anonymous,
            claims(json!({"sub": "248289761001", "name": "J. Doe",
                          "email": "j@example.com", "email_verified": true})),
            VERIFIED,
            true,
        )
        .unwrap();
        assert_eq!(profile.nickname, "J. Doe");
        assert_eq!(profile.email.as_deref(), Some("j@example.com"));
        let unverified = profile_of(
            &anonymous,
            claims(json!({"sub": "248289761001", "email": "j@example.com",
                          "email_verified": false})),
            VERIFIED,
            true,
        )
        .unwrap();
        assert_eq!(unverified.email, None);
        // A self-asserting provider's (the demo's) address is kept, as typed.
        let typed = profile_of(
            &anonymous,
            claims(json!({"sub": "248289761001", "email": "j@example.com",
                          "email_verified": false})),
            EmailTrust::SelfAsserted,
            true,
        )
        .unwrap();
        assert_eq!(typed.email.as_deref(), Some("j@example.com"));
        // "true" as a string is a verification (AWS Cognito); "yes" is not.
        let stringly = profile_of(
            &anonymous,
            claims(json!({"sub": "248289761001", "email": "j@example.com",
                          "email_verified": "true"})),
            VERIFIED,
            true,
        )
        .unwrap();
        assert_eq!(stringly.email.as_deref(), Some("j@example.com"));
        let vague = profile_of(
            &anonymous,
            claims(json!({"sub": "248289761001", "email": "j@example.com",
                          "email_verified": "yes"})),
            VERIFIED,
            true,
        )
        .unwrap();
        assert_eq!(vague.email, None);
        // The ID token's verified address stays when userinfo's is not verified.
        let kept = profile_of(
            &identity(),
            claims(json!({"sub": "248289761001", "email": "other@example.com"})),
            VERIFIED,
            true,
        )
        .unwrap();
        assert_eq!(kept.email.as_deref(), Some("jane@example.com"));
    }

    #[test]
    fn an_issuer_that_does_not_vouch_gives_unverified_addresses_and_no_private_pictures() {
        // Microsoft's: "verified" by nobody who checked, and a photo that needs a token.
        let graph_photo = "https://graph.microsoft.com/v1.0/me/photo/$value";
        let unvouched = VerifiedIdentity {
            email_verified: true,
            picture: Some(graph_photo.into()),
            ..identity()
        };
        let profile = profile_of(
            &unvouched,
            claims(json!({"sub": "248289761001", "email_verified": true, "picture": graph_photo})),
            EmailTrust::Unvouched,
            false,
        )
        .unwrap();
        assert_eq!(profile.email.as_deref(), Some("jane@example.com"));
        assert_eq!(profile.email_status, EmailStatus::Unverified);
        assert_eq!(profile.avatar_url, None);
    }

    #[test]
    fn userinfo_about_someone_else_is_refused() {
        for other in [
            json!({"sub": "someone-else"}),
            json!({"sub": 248289761001u64}),
            json!({"name": "No Subject"}),
        ] {
            assert!(profile_of(&identity(), claims(other), VERIFIED, true).is_err());
        }
    }
}
