//! No request holds a pooled connection while it waits for another: with a single
//! connection per pool such a request would wait for itself until the 3 s acquire limit
//! and answer 503. Many people signing in and loading pages at once must all succeed.

mod support;

use support::{consent_at, Consent, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn everything_works_with_one_connection_per_pool_under_concurrency() {
    let app = TestApp::start(&[("DATABASE_POOL_SIZE", "1")]).await;
    let people: Vec<_> = (0..12)
        .map(|i| {
            let app_url = app.base_url.clone();
            let mut browser = app.browser();
            async move {
                let name = format!("Person {i}");
                let choice = Consent {
                    name: &name,
                    email: "",
                    decision: "allow",
                };
                let callback =
                    consent_at(&app_url, &mut browser, "demo", "?remember=on", choice).await;
                assert_eq!(
                    browser.get(&callback).await.status(),
                    302,
                    "person {i} signed in"
                );
                for _ in 0..3 {
                    let page = browser.get(&format!("{app_url}/")).await;
                    assert_eq!(page.status(), 200);
                    assert!(page
                        .text()
                        .await
                        .unwrap()
                        .contains(&format!("Hi, Person {i}!")));
                    let me = browser.get(&format!("{app_url}/api/me")).await;
                    assert_eq!(me.status(), 200);
                }
            }
        })
        .map(tokio::spawn)
        .collect();
    for person in people {
        person.await.unwrap();
    }
    assert_eq!(app.count("users").await, 12);
}
