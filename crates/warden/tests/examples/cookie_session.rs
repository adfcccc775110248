use std::time::Duration;

use reqwest::Response;
use serde_json::{Value, json};

use crate::support::{Answer, Example, answer, secret, security};

/// A client that shows redirects instead of following them (the login answers 303).
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

/// The `Set-Cookie` values of a response.
fn set_cookies(response: &Answer) -> Vec<String> {
    response
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The value cookie `name` is set to.
fn cookie_value(response: &Answer, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    set_cookies(response).iter().find_map(|c| {
        c.strip_prefix(&prefix)
            .and_then(|rest| rest.split(';').next())
            .map(str::to_owned)
    })
}

struct Browser {
    ex: Example,
    client: reqwest::Client,
}

impl Browser {
    fn start(password: &str) -> Self {
        Self {
            ex: Example::start("cookie_session", &[("DEMO_PASSWORD", password)]),
            client: client(),
        }
    }

    /// A request as a current browser sends it from the example's own page.
    fn same_origin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.ex.url(path))
            .header("sec-fetch-site", "same-origin")
            .header("origin", &self.ex.base)
    }

    async fn form_login(&self, username: &str, password: &str, cookie: Option<&str>) -> Answer {
        let mut request = self
            .same_origin(reqwest::Method::POST, "/login")
            .form(&[("username", username), ("password", password)]);
        if let Some(id) = cookie {
            request = request.header("cookie", format!("session={id}"));
        }
        answer(request.send().await).await
    }

    async fn get(&self, path: &str, session: Option<&str>) -> Answer {
        let mut request = self.same_origin(reqwest::Method::GET, path);
        if let Some(id) = session {
            request = request.header("cookie", format!("session={id}"));
        }
        answer(request.send().await).await
    }
}

async fn text(response: Result<Response, reqwest::Error>) -> (u16, String) {
    let response = response.expect("request sent");
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn form_login_protected_page_logout() {
    let password = secret();
    let b = Browser::start(&password);

    // Anonymous: the login form, and 401 on the protected page.
    let (status, page) = text(b.client.get(b.ex.url("/")).send().await).await;
    assert_eq!(status, 200);
    assert!(page.contains("action=\"/login\""));
    let anonymous = b.get("/me", None).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.challenges, ["APIKey"]);
    assert_eq!(anonymous.body, json!({"detail": "Not authenticated"}));

    // Wrong password and unknown user: the same answer, no cookie.
    for (username, pw) in [("johndoe", "wrong"), ("nobody", password.as_str())] {
        let refused = b.form_login(username, pw, None).await;
        assert_eq!(refused.status, 401, "{username}");
        assert_eq!(
            refused.body,
            json!({"detail": "Incorrect username or password"})
        );
        assert!(set_cookies(&refused).is_empty());
    }

    // Right password: 303 to /me and the cookies (plain HTTP: no `Secure`, no `__Host-`).
    let login = b.form_login("johndoe", &password, None).await;
    assert_eq!(login.status, 303);
    assert_eq!(login.headers["location"], "/me");
    assert_eq!(login.headers["cache-control"], "no-store");
    let id = cookie_value(&login, "session").expect("session cookie");
    let cookies = set_cookies(&login);
    assert_eq!(
        cookies[0],
        format!("session={id}; HttpOnly; SameSite=Lax; Path=/")
    );
    assert!(cookies[1].starts_with("csrf=") && !cookies[1].contains("HttpOnly"));

    let me = b.get("/me", Some(&id)).await;
    assert_eq!(me.status, 200);
    assert_eq!(
        me.body,
        json!({"username": "johndoe", "full_name": "John Doe"})
    );
    let (_, page) = text(
        b.client
            .get(b.ex.url("/"))
            .header("cookie", format!("session={id}"))
            .send()
            .await,
    )
    .await;
    assert!(page.contains("Hello John Doe.") && page.contains("action=\"/logout\""));

    // Logout: 303 home, cookies cleared, the old cookie refused from now on.
    let logout = answer(
        b.same_origin(reqwest::Method::POST, "/logout")
            .header("cookie", format!("session={id}"))
            .send()
            .await,
    )
    .await;
    assert_eq!(logout.status, 303);
    assert_eq!(logout.headers["location"], "/");
    assert!(set_cookies(&logout).iter().all(|c| c.contains("Max-Age=0")));
    assert_eq!(
        b.get("/me", Some(&id)).await.status,
        401,
        "replayed after logout"
    );
}

#[tokio::test]
async fn login_rotates_the_session_id() {
    let password = secret();
    let b = Browser::start(&password);
    let first = b.form_login("johndoe", &password, None).await;
    let first = cookie_value(&first, "session").unwrap();
    // Logging in with a session (or a planted id) never keeps it.
    let second = b.form_login("johndoe", &password, Some(&first)).await;
    let second = cookie_value(&second, "session").unwrap();
    assert_ne!(first, second);
    assert_eq!(b.get("/me", Some(&first)).await.status, 401);
    assert_eq!(b.get("/me", Some(&second)).await.status, 200);
    let planted = "A".repeat(43);
    let third = b.form_login("johndoe", &password, Some(&planted)).await;
    assert_ne!(cookie_value(&third, "session").unwrap(), planted);
}

#[tokio::test]
async fn csrf_is_checked_without_handler_code() {
    let password = secret();
    let b = Browser::start(&password);
    let login = b.form_login("johndoe", &password, None).await;
    let id = cookie_value(&login, "session").unwrap();
    let csrf = cookie_value(&login, "csrf").unwrap();
    let logout = || {
        b.client
            .post(b.ex.url("/logout"))
            .header("cookie", format!("session={id}; csrf={csrf}"))
    };

    // A page elsewhere posting the logout form, or a forged login.
    let forged = answer(
        logout()
            .header("sec-fetch-site", "cross-site")
            .header("origin", "https://evil.example")
            .send()
            .await,
    )
    .await;
    assert_eq!(forged.status, 403);
    assert_eq!(forged.body, json!({"detail": "CSRF check failed"}));
    let forged_login = answer(
        b.client
            .post(b.ex.url("/login"))
            .header("origin", "https://evil.example")
            .form(&[("username", "johndoe"), ("password", password.as_str())])
            .send()
            .await,
    )
    .await;
    assert_eq!(forged_login.status, 403);
    assert!(set_cookies(&forged_login).is_empty());

    // A client sending neither Sec-Fetch-Site nor Origin needs the token.
    assert_eq!(answer(logout().send().await).await.status, 403);
    assert_eq!(
        answer(logout().header("x-csrf-token", "forged").send().await)
            .await
            .status,
        403
    );
    assert_eq!(b.get("/me", Some(&id)).await.status, 200, "still logged in");
    let done = answer(logout().header("x-csrf-token", &csrf).send().await).await;
    assert_eq!(done.status, 303);
    assert_eq!(b.get("/me", Some(&id)).await.status, 401);
}

#[tokio::test]
async fn json_login_returns_the_csrf_token() {
    let password = secret();
    let b = Browser::start(&password);
    let login = answer(
        b.same_origin(reqwest::Method::POST, "/api/login")
            .json(&json!({"username": "johndoe", "password": password}))
            .send()
            .await,
    )
    .await;
    assert_eq!(login.status, 200);
    let csrf = cookie_value(&login, "csrf").unwrap();
    assert_eq!(
        login.body,
        json!({"username": "johndoe", "csrf_token": csrf})
    );
    let wrong = answer(
        b.same_origin(reqwest::Method::POST, "/api/login")
            .json(&json!({"username": "johndoe", "password": "nope"}))
            .send()
            .await,
    )
    .await;
    assert_eq!(wrong.status, 401);
}

#[tokio::test]
async fn bad_cookies_are_401() {
    let b = Browser::start(&secret());
    for value in [
        "x",
        &"A".repeat(43),
        &"A".repeat(5000),
        "%00%01",
        "\"quoted\"",
    ] {
        let a = b.get("/me", Some(value)).await;
        assert_eq!(a.status, 401, "{value:.10}");
        assert_eq!(a.challenges, ["APIKey"]);
    }
}

#[tokio::test]
async fn openapi_declares_the_session_cookie() {
    let b = Browser::start(&secret());
    let doc: Value = b.ex.openapi().await;
    let scheme = &doc["components"]["securitySchemes"]["SessionCookie"];
    assert_eq!(scheme["type"], "apiKey");
    assert_eq!(scheme["in"], "cookie");
    assert_eq!(scheme["name"], "__Host-session");
    assert_eq!(security(&doc, "/me", "get"), json!([{"SessionCookie": []}]));
    assert_eq!(
        security(&doc, "/", "get"),
        json!([{"SessionCookie": []}, {}])
    );
    assert_eq!(security(&doc, "/login", "post"), Value::Null);
    assert_eq!(security(&doc, "/logout", "post"), Value::Null);
}
