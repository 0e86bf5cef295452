//! The demo provider's consent page, rendered with Leptos so every value is escaped.

use leptos::prelude::*;

/// What the consent form posts back, besides the person's answers.
pub struct ConsentForm<'a> {
    /// Who is asking, shown to the person.
    pub client_id: &'a str,
    /// Where the form posts, e.g. `/demo-provider/authorize`.
    pub action: &'a str,
    pub hidden: Vec<(&'static str, String)>,
    /// The provider runs where others can reach it (`DEMO_PROVIDER_EXPOSED`): say so.
    pub exposed: bool,
}

/// A full HTML document asking who you are and whether to let the app sign you in.
pub fn render(form: &ConsentForm, name: &str, email: &str, problem: Option<&str>) -> String {
    let client_id = form.client_id.to_owned();
    let action = form.action.to_owned();
    let hidden = form.hidden.clone();
    let exposed = form.exposed;
    let (name, email) = (name.to_owned(), email.to_owned());
    let problem = problem.map(str::to_owned);
    let body = Owner::new().with(move || {
        view! {
            <main class="page">
                <section class="card consent-card" aria-labelledby="consent-title">
                    <p class="muted">"Demo identity provider"</p>
                    <h1 id="consent-title">"Sign in to Social Sign-in?"</h1>
                    {exposed.then(|| view! {
                        <p class="flash flash-error" role="alert">
                            "Warning: this demo provider is running on a public site. Anyone can sign in here as anyone, with any email; nothing is verified."
                        </p>
                    })}
                    <p>
                        "The application " <code>{client_id}</code>
                        " asks to know your name and email."
                    </p>
                    {problem.map(|problem| view! { <p class="flash flash-error" role="alert">{problem}</p> })}
                    <form method="post" action=action class="consent-form">
                        {hidden
                            .into_iter()
                            .map(|(name, value)| view! { <input type="hidden" name=name value=value/> })
                            .collect_view()}
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
    let css = app::backend::bundle::stylesheet_href();
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\
         <title>Demo provider: consent</title>\
         <link rel=\"stylesheet\" href=\"{css}\"/><link rel=\"icon\" href=\"data:,\"/>\
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
    let css = app::backend::bundle::stylesheet_href();
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <title>Demo provider: bad request</title>\
         <link rel=\"stylesheet\" href=\"{css}\"/></head><body>{body}</body></html>"
    )
}
