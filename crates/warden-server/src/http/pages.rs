//! The server-rendered pages of the browser flows: login, the second factor (and its
//! enrolment and recovery codes), consent, logout, errors.
//!
//! Plain HTML forms that work without JavaScript: labelled fields, a visible focus ring,
//! text at WCAG AA contrast. Every page is `no-store` and may not be framed (RFC 9700
//! §4.16, clickjacking); its Content-Security-Policy allows no script at all, except on a
//! page that offers a passkey: that one loads our one static script (`/assets/webauthn.js`)
//! by `<script src>`, and its policy allows scripts and requests of this origin only
//! (`script-src 'self'; connect-src 'self'`), nothing inline. The passkey forms are
//! `hidden` until that script shows them, so without JavaScript the page is the plain one.
//! Everything interpolated is escaped.

use axum::response::{Html, IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode, header};

use crate::domain::TotpEnrolment;

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f4f4f5;color:#18181b;margin:0}\
main{max-width:24rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:.5rem;box-shadow:0 1px 3px #0003}\
h1{font-size:1.5rem;margin:0 0 .5rem}\
label{display:block;font-weight:600;margin:1rem 0 .25rem}\
input[type=text],input[type=password]{box-sizing:border-box;width:100%;padding:.6rem;font-size:1rem;border:1px solid #52525b;border-radius:.25rem}\
button{margin-top:1.25rem;padding:.6rem 1.2rem;font-size:1rem;border-radius:.25rem;border:1px solid #1d4ed8;background:#1d4ed8;color:#fff;cursor:pointer}\
button.secondary{background:#fff;color:#1d4ed8;margin-left:.5rem}\
:focus-visible{outline:3px solid #b45309;outline-offset:2px}\
.error{color:#b91c1c;font-weight:600}\
.hint{color:#3f3f46;margin:.25rem 0}\
figure{margin:1rem 0}figure svg{width:12rem;height:12rem}\
code{font-size:1.05rem;word-break:break-all}\
ul{padding-left:1.25rem}";

/// The policy of a page without script.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";
/// The policy of a page that loads `/assets/webauthn.js`: that script and its requests, of
/// this origin only.
const CSP_WITH_SCRIPT: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
     style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

/// The path of the passkey script.
pub const WEBAUTHN_SCRIPT: &str = "/assets/webauthn.js";

/// A complete page with the pages' security headers.
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    page_with_script(status, title, body, None)
}

/// A complete page, loading the script at `script` (a URL of this origin) when given.
fn page_with_script(status: StatusCode, title: &str, body: &str, script: Option<&str>) -> Response {
    let script_tag = script.map_or_else(String::new, |src| {
        format!("<script src=\"{}\" defer></script>", escape(src))
    });
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{} · Warden</title><style>{STYLE}</style>{script_tag}</head>\
         <body><main>{body}</main></body></html>",
        escape(title)
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
    // No `form-action`: browsers apply it to the redirect that follows a form post, which
    // goes to the client's redirect URI.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if script.is_some() {
            CSP_WITH_SCRIPT
        } else {
            CSP
        }),
    );
    response
}

/// Where the passkey form of a page posts: the issuer's `/authorize/passkey` routes, and
/// the script that drives them.
#[derive(Debug, Clone)]
pub struct PasskeyUrls {
    /// `POST`: starts a ceremony (JSON options, the ceremony cookie).
    pub start: String,
    /// `POST`: the form with the credential.
    pub finish: String,
    /// The script.
    pub script: String,
}

/// A passkey form, hidden until the script shows it: the request in hidden fields, the
/// `purpose` (`second-factor` or `login`), the credential the script fills in.
fn passkey_form(urls: &PasskeyUrls, fields: &[(&str, &str)], purpose: &str, label: &str) -> String {
    let username = if purpose == "login" {
        "<input type=\"hidden\" name=\"username\" value=\"\">"
    } else {
        ""
    };
    format!(
        "<form method=\"post\" action=\"{finish}\" id=\"passkey-form\" data-start=\"{start}\" \
          data-purpose=\"{purpose}\" hidden>{hidden}\
         <input type=\"hidden\" name=\"purpose\" value=\"{purpose}\">{username}\
         <input type=\"hidden\" name=\"credential\" value=\"\">\
         <p class=\"error\" role=\"alert\" id=\"passkey-error\" hidden></p>\
         <button type=\"button\" id=\"passkey-button\" class=\"secondary\">{label}</button>\
         </form>",
        finish = escape(&urls.finish),
        start = escape(&urls.start),
        hidden = hidden(fields),
    )
}

/// Hidden inputs carrying `pairs`.
fn hidden(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(name),
                escape(value)
            )
        })
        .collect()
}

/// The login form, posting to `action` with the authorization request in hidden fields;
/// with `passkey`, also "Sign in with a passkey" (the typed username first, or any passkey
/// of this site the browser offers, also as autofill of the username field).
pub fn login(
    action: &str,
    client_name: &str,
    fields: &[(&str, &str)],
    username: &str,
    error: Option<&str>,
    passkey: Option<&PasskeyUrls>,
    upstream: &[UpstreamButton<'_>],
) -> Response {
    let (error_html, described) = match error {
        Some(message) => (
            format!(
                "<p class=\"error\" role=\"alert\" id=\"login-error\">{}</p>",
                escape(message)
            ),
            " aria-describedby=\"login-error\" aria-invalid=\"true\"",
        ),
        None => (String::new(), ""),
    };
    let body = format!(
        "<h1>Sign in</h1><p>to continue to <strong>{client}</strong></p>{error_html}\
         <form method=\"post\" action=\"{action}\">{hidden}\
         <label for=\"username\">Username</label>\
         <input type=\"text\" id=\"username\" name=\"username\" autocomplete=\"{autocomplete}\" \
          autocapitalize=\"none\" spellcheck=\"false\" maxlength=\"256\" required autofocus \
          value=\"{username}\"{described}>\
         <label for=\"password\">Password</label>\
         <input type=\"password\" id=\"password\" name=\"password\" \
          autocomplete=\"current-password\" maxlength=\"1024\" required{described}>\
         <button type=\"submit\">Sign in</button></form>{passkey_form}{upstream_forms}",
        client = escape(client_name),
        action = escape(action),
        hidden = hidden(fields),
        username = escape(username),
        autocomplete = if passkey.is_some() {
            "username webauthn"
        } else {
            "username"
        },
        passkey_form = passkey.map_or_else(String::new, |urls| {
            passkey_form(urls, fields, "login", "Sign in with a passkey")
        }),
        upstream_forms = upstream_forms(upstream, fields),
    );
    // 200 either way, as other providers do: a 401 would need a `WWW-Authenticate`
    // challenge (RFC 9110 §15.5.2), and a form is not an HTTP authentication scheme.
    page_with_script(
        StatusCode::OK,
        "Sign in",
        &body,
        passkey.map(|urls| urls.script.as_str()),
    )
}

/// A button per upstream provider: a form posting the authorization request (and the
/// anti-CSRF token) to the provider's start route, so the request survives the round trip.
fn upstream_forms(upstream: &[UpstreamButton<'_>], fields: &[(&str, &str)]) -> String {
    upstream
        .iter()
        .map(|button| {
            format!(
                "<form method=\"post\" action=\"{action}\" id=\"upstream-{id}\" class=\"upstream\">\
                 {hidden}<button type=\"submit\">Sign in with {name}</button></form>",
                action = escape(&button.action),
                id = escape(button.id),
                hidden = hidden(fields),
                name = escape(button.name),
            )
        })
        .collect()
}

/// A provider's button on the login page.
pub struct UpstreamButton<'a> {
    /// The provider's id (the form's `id` is `upstream-{id}`).
    pub id: &'a str,
    /// Its start route.
    pub action: String,
    /// Its display name.
    pub name: &'a str,
}

/// The error paragraph of a form and the attributes tying a field to it.
fn form_error(error: Option<&str>) -> (String, &'static str) {
    match error {
        Some(message) => (
            format!(
                "<p class=\"error\" role=\"alert\" id=\"form-error\">{}</p>",
                escape(message)
            ),
            " aria-describedby=\"form-error\" aria-invalid=\"true\"",
        ),
        None => (String::new(), ""),
    }
}

/// The code field of the second-factor and enrolment forms.
fn code_field(hint: &str, described: &str) -> String {
    format!(
        "<label for=\"code\">Code</label><p id=\"code-hint\" class=\"hint\">{hint}</p>\
         <input type=\"text\" id=\"code\" name=\"code\" autocomplete=\"one-time-code\" \
          autocapitalize=\"none\" spellcheck=\"false\" maxlength=\"64\" required autofocus \
          aria-describedby=\"code-hint\"{described}>"
    )
}

/// The second step of a login: a code from the authenticator app or a recovery code (when
/// `code`), and "Use a passkey" (with `passkey`).
pub fn second_factor(
    action: &str,
    client_name: &str,
    fields: &[(&str, &str)],
    error: Option<&str>,
    code: bool,
    passkey: Option<&PasskeyUrls>,
) -> Response {
    let (error_html, described) = form_error(error);
    let code_form = if code {
        format!(
            "<form method=\"post\" action=\"{action}\">{hidden}{field}\
             <button type=\"submit\">Verify</button></form>",
            action = escape(action),
            hidden = hidden(fields),
            field = code_field(
                "Enter the 6-digit code from your authenticator app, or one of your recovery codes.",
                described
            ),
        )
    } else {
        "<p>This sign-in needs one of your passkeys.</p>\
         <noscript><p class=\"error\">Signing in with a passkey needs JavaScript.</p></noscript>"
            .to_owned()
    };
    let passkey_form = passkey.map_or_else(String::new, |urls| {
        passkey_form(urls, fields, "second-factor", "Use a passkey")
    });
    let body = format!(
        "<h1>Two-step verification</h1><p>to continue to <strong>{client}</strong></p>\
         {error_html}{code_form}{passkey_form}",
        client = escape(client_name),
    );
    page_with_script(
        StatusCode::OK,
        "Two-step verification",
        &body,
        passkey.map(|urls| urls.script.as_str()),
    )
}

/// Setting up an authenticator app when a second factor is required: the QR code, the
/// secret to type by hand, and the first code that confirms it.
/// With `passkey`, setting up a passkey is offered too.
pub fn enrol_totp(
    action: &str,
    client_name: &str,
    enrolment: &TotpEnrolment,
    fields: &[(&str, &str)],
    error: Option<&str>,
    passkey: Option<&PasskeyUrls>,
) -> Response {
    let (error_html, described) = form_error(error);
    // The SVG is ours (one path, no script, no reference): inlined as is.
    let body = format!(
        "<h1>Set up two-step verification</h1><p><strong>{client}</strong> requires a second \
         factor. Scan this code with an authenticator app, then enter the code it shows.</p>\
         <figure id=\"qr\" aria-label=\"QR code of the authenticator setup\">{svg}</figure>\
         <p>On this device: <a id=\"otpauth\" href=\"{uri}\">open it in your authenticator app</a>. \
         Or enter this key by hand: <code id=\"secret\">{secret}</code></p>\
         {error_html}<form method=\"post\" action=\"{action}\">{hidden}{field}\
         <button type=\"submit\">Turn on</button></form>{passkey_form}",
        client = escape(client_name),
        svg = enrolment.qr_svg,
        secret = escape(&enrolment.secret),
        uri = escape(&enrolment.uri),
        action = escape(action),
        hidden = hidden(fields),
        field = code_field("The 6-digit code from your authenticator app.", described),
        passkey_form = passkey.map_or_else(String::new, |urls| {
            passkey_form(urls, fields, "register", "Set up a passkey instead")
        }),
    );
    page_with_script(
        StatusCode::OK,
        "Set up two-step verification",
        &body,
        passkey.map(|urls| urls.script.as_str()),
    )
}

/// The recovery codes of a new second factor, shown once.
pub fn recovery_codes(action: &str, codes: &[String], fields: &[(&str, &str)]) -> Response {
    let list = if codes.is_empty() {
        "<p>Your earlier recovery codes still work.</p>".to_owned()
    } else {
        let items: String = codes
            .iter()
            .map(|c| format!("<li><code>{}</code></li>", escape(c)))
            .collect();
        format!(
            "<p>Keep these recovery codes somewhere safe. Each one signs you in once if you \
             lose your authenticator app. They are shown only now.</p>\
             <ol id=\"recovery-codes\">{items}</ol>"
        )
    };
    let body = format!(
        "<h1>Two-step verification is on</h1>{list}\
         <form method=\"post\" action=\"{action}\">{hidden}\
         <button type=\"submit\">Continue</button></form>",
        action = escape(action),
        hidden = hidden(fields),
    );
    page(StatusCode::OK, "Two-step verification is on", &body)
}

/// After signing in with a recovery code: how many are left.
pub fn recovery_code_used(action: &str, left: u64, fields: &[(&str, &str)]) -> Response {
    let advice = if left <= 3 {
        " Create a new set from your account soon."
    } else {
        ""
    };
    let body = format!(
        "<h1>Recovery code used</h1><p role=\"status\" id=\"codes-left\">You have \
         <strong>{left}</strong> recovery code{plural} left.{advice}</p>\
         <form method=\"post\" action=\"{action}\">{hidden}\
         <button type=\"submit\">Continue</button></form>",
        plural = if left == 1 { "" } else { "s" },
        action = escape(action),
        hidden = hidden(fields),
    );
    page(StatusCode::OK, "Recovery code used", &body)
}

/// What a scope lets the client do, in words.
fn describe_scope(scope: &str) -> String {
    match scope {
        "openid" => "Know who you are (your account identifier)".into(),
        "profile" => "See your username".into(),
        "email" => "See your email address".into(),
        "offline_access" => "Stay connected while you are away".into(),
        other => format!("Use the “{}” permission on your behalf", escape(other)),
    }
}

/// The consent form: may `client_name` have `scopes`?
pub fn consent(
    action: &str,
    client_name: &str,
    username: &str,
    scopes: &[String],
    fields: &[(&str, &str)],
) -> Response {
    let items: String = if scopes.is_empty() {
        "<li>Nothing beyond knowing that you signed in</li>".into()
    } else {
        scopes
            .iter()
            .map(|s| format!("<li>{}</li>", describe_scope(s)))
            .collect()
    };
    let body = format!(
        "<h1>Allow access?</h1><p><strong>{client}</strong> asks to act for \
         <strong>{user}</strong>. It will be able to:</p><ul id=\"scopes\">{items}</ul>\
         <form method=\"post\" action=\"{action}\">{hidden}\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button>\
         </form>",
        client = escape(client_name),
        user = escape(username),
        action = escape(action),
        hidden = hidden(fields),
    );
    page(StatusCode::OK, "Allow access", &body)
}

/// The logout confirmation: a form, so a cross-site link cannot log anyone out.
pub fn confirm_logout(action: &str, fields: &[(&str, &str)]) -> Response {
    let body = format!(
        "<h1>Sign out?</h1><p>You will be signed out of Warden.</p>\
         <form method=\"post\" action=\"{action}\">{hidden}\
         <button type=\"submit\" name=\"confirm\" value=\"yes\">Sign out</button></form>",
        action = escape(action),
        hidden = hidden(fields),
    );
    page(StatusCode::OK, "Sign out", &body)
}

/// After logout without a registered place to return to.
pub fn signed_out() -> Response {
    page(
        StatusCode::OK,
        "Signed out",
        "<h1>Signed out</h1><p>You are signed out. You may close this window.</p>",
    )
}

/// An error shown to the user (never a redirect): what went wrong, in words, and nothing
/// of the request.
pub fn error(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<h1>Something is wrong</h1><p class=\"error\" role=\"alert\">{}</p>",
        escape(message)
    );
    page(status, "Error", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
