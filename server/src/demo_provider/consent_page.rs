//! The demo provider's consent page, rendered with Leptos so every value is escaped.

use leptos::prelude::*;

use super::oauth2_endpoints::ValidAuthorizeRequest;

/// A full HTML document asking who you are and whether to let the app sign you in.
pub fn render(
    request: &ValidAuthorizeRequest,
    name: &str,
    email: &str,
    problem: Option<&str>,
) -> String {
    let request = request.clone();
    let (name, email) = (name.to_owned(), email.to_owned());
    let problem = problem.map(str::to_owned);
    let body = Owner::new().with(move || {
        view! {
            <main class="page">
                <section class="card consent-card" aria-labelledby="consent-title">
                    <p class="muted">"Demo identity provider"</p>
                    <h1 id="consent-title">"Sign in to Social Sign-in?"</h1>
                    <p>
                        "The application " <code>{request.client_id.clone()}</code>
                        " asks to know your name and email."
                    </p>
                    {problem.map(|problem| view! { <p class="flash flash-error" role="alert">{problem}</p> })}
                    <form method="post" action="/demo-provider/authorize" class="consent-form">
                        <input type="hidden" name="response_type" value="code"/>
                        <input type="hidden" name="client_id" value=request.client_id.clone()/>
                        <input type="hidden" name="redirect_uri" value=request.redirect_uri.clone()/>
                        <input type="hidden" name="state" value=request.state.clone().unwrap_or_default()/>
                        <input type="hidden" name="code_challenge" value=request.code_challenge.clone()/>
                        <input type="hidden" name="code_challenge_method" value="S256"/>
                        <label>
                            "Your name"
                            <input type="text" name="name" value=name required maxlength="100" autocomplete="name"/>
                        </label>
                        <label>
                            "Email (optional)"
                            <input type="email" name="email" value=email autocomplete="email"/>
                        </label>
                        <div class="consent-actions">
                            <button type="submit" name="decision" value="allow" class="btn btn-primary">"Allow"</button>
                            <button type="submit" name="decision" value="deny" class="btn btn-secondary" formnovalidate>"Deny"</button>
                        </div>
                    </form>
                </section>
            </main>
        }
        .to_html()
    });
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\
         <title>Demo provider: consent</title>\
         <link rel=\"stylesheet\" href=\"/pkg/social-signin.css\"/><link rel=\"icon\" href=\"data:,\"/>\
         </head><body>{body}</body></html>"
    )
}

/// A page for requests too broken to send back to the client.
pub fn render_error(message: &str) -> String {
    let message = message.to_owned();
    let body = Owner::new().with(move || {
        view! {
            <main class="page">
                <section class="card">
                    <h1>"Demo provider: bad request"</h1>
                    <p class="flash flash-error" role="alert">{message}</p>
                </section>
            </main>
        }
        .to_html()
    });
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <title>Demo provider: bad request</title>\
         <link rel=\"stylesheet\" href=\"/pkg/social-signin.css\"/></head><body>{body}</body></html>"
    )
}
