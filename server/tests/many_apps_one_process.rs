//! Apps built while others in the same process serve pages (as these tests do): no page
//! render may stall. Building an app generates the Leptos route list, which sets a
//! process-wide "suppress resource loads" flag in leptos_server; a resource starting
//! meanwhile in another app waited forever (`server::page_routes` now generates the list
//! once per process). Before the fix this stalled within a few rounds.

mod support;

use std::time::Duration;

use support::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn pages_render_while_other_apps_are_being_built() {
    let workers: Vec<_> = (0..7)
        .map(|worker| {
            tokio::spawn(async move {
                for round in 0..20 {
                    let app = TestApp::start(&[]).await;
                    let mut browser = app.browser();
                    let signed_in = app.sign_in_with_demo(&mut browser, "Busy", true).await;
                    assert_eq!(
                        signed_in.status(),
                        302,
                        "worker {worker} round {round}: {}",
                        signed_in.text().await.unwrap_or_default()
                    );
                    for _ in 0..3 {
                        let page = tokio::time::timeout(
                            Duration::from_secs(10),
                            browser.get(&app.url("/")),
                        )
                        .await
                        .unwrap_or_else(|_| panic!("worker {worker} round {round}: stalled"));
                        assert_eq!(page.status(), 200);
                        assert!(page.text().await.unwrap().contains("Hi, Busy!"));
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
}
