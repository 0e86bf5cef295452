//! The GitLab, LinkedIn and Discord presets against local stand-ins, their addresses pointed
//! there as a self-managed GitLab's would be: each signs people in through the path it
//! shares with the configurable providers, with its own name, label and profile reading.

mod support;

use serde_json::json;
use support::{
    fake_issuer::{FakeIssuer, SUBJECT},
    fake_provider::{FakeProvider, UserinfoMode},
    issuer_flow::answer_of,
    location, query_param, TestApp,
};

async fn sign_in_with_preset(name: &str, label: &str) {
    let issuer = FakeIssuer::start().await;
    let env: Vec<(String, String)> = issuer.env_named(name);
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app = TestApp::start(&vars).await;
    let mut browser = app.browser();
    let home = browser.get(&app.url("/")).await.text().await.unwrap();
    assert!(home.contains(&format!("Sign in with {label}")), "{home}");

    let callback = answer_of(&app, &issuer, &mut browser, name).await;
    assert_eq!(browser.get(&callback).await.status(), 302);
    let me = app.me(&mut browser).await.expect("signed in");
    let identity = &me["identities"][0];
    assert_eq!(identity["provider"], name);
    assert_eq!(identity["subject"], SUBJECT);
    assert_eq!(identity["issuer"], issuer.base_url.as_str());
    assert_eq!(identity["email_status"], "verified");
}

#[tokio::test(flavor = "multi_thread")]
async fn gitlab_is_an_openid_connect_preset_with_a_self_managed_issuer() {
    sign_in_with_preset("gitlab", "GitLab").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn linkedin_is_an_openid_connect_preset() {
    sign_in_with_preset("linkedin", "LinkedIn").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn discord_signs_in_with_its_user_object_and_verified_flag() {
    let fake = FakeProvider::start().await;
    fake.set_userinfo(UserinfoMode::Profile(json!({
        "id": "80351110224678912", "username": "nelly", "global_name": "Nelly",
        "avatar": "8342729096ea3675442027381ff50dfe", "verified": true,
        "email": "nelly@discord.com"
    })));
    let base = &fake.base_url;
    let env = [
        ("OAUTH_DISCORD_CLIENT_ID", "discord-client".to_owned()),
        ("OAUTH_DISCORD_CLIENT_SECRET", "discord-s3cr3t".to_owned()),
        (
            "OAUTH_DISCORD_AUTHORIZE_URL",
            format!("{base}/oauth2/authorize"),
        ),
        (
            "OAUTH_DISCORD_TOKEN_URL",
            format!("{base}/oauth/access_token"),
        ),
        ("OAUTH_DISCORD_USERINFO_URL", format!("{base}/me")),
    ];
    let app = TestApp::start_owned(&env).await;
    let mut browser = app.browser();
    let start = browser.get(&app.url("/authorize/discord")).await;
    let authorize = location(&start);
    assert_eq!(
        query_param(&authorize, "scope").as_deref(),
        Some("identify email")
    );
    let state = query_param(&authorize, "state").unwrap();
    let done = browser
        .get(&app.url(&format!("/callback/discord?code=c&state={state}")))
        .await;
    assert_eq!(done.status(), 302);
    let me = app.me(&mut browser).await.expect("signed in");
    assert_eq!(me["nickname"], "Nelly");
    let identity = &me["identities"][0];
    assert_eq!(identity["subject"], "80351110224678912");
    assert_eq!(identity["email_status"], "verified");
    assert_eq!(
        identity["avatar_url"],
        "https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png"
    );
    // HTTP Basic at the token endpoint, as Discord documents.
    let auth = fake
        .seen
        .lock()
        .unwrap()
        .token_auth_headers
        .last()
        .cloned()
        .flatten();
    assert!(auth.is_some_and(|header| header.starts_with("Basic ")));
}
