//! API keys in a query parameter or a cookie: refused and undocumented unless the deployment
//! switches them on (`api_key_in_query`, `api_key_in_cookie`), as the seeds' combination shows.

use warden_server::domain::NewApiKey;
use warden_server::storage::Storage;

use crate::backend::{Options, Server};

async fn key(s: &Server) -> String {
    s.user("keyholder", &[]).await;
    let user = s
        .warden
        .storage()
        .user_by_username("keyholder")
        .await
        .unwrap()
        .unwrap();
    let created = s
        .warden
        .create_api_key(
            &user,
            NewApiKey {
                name: "k".into(),
                scopes: vec![],
                expires_in: None,
            },
            None,
        )
        .await
        .unwrap();
    created.key.as_str().to_owned()
}

async fn statuses(s: &Server, key: &str) -> (u16, u16, u16) {
    let get = || s.client.get(s.url("/users/me"));
    let header = get()
        .header("x-api-key", key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    let query = get()
        .query(&[("api_key", key)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    let cookie = get()
        .header("cookie", format!("api_key={key}"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    (header, query, cookie)
}

async fn documented_schemes(s: &Server) -> serde_json::Value {
    let doc: serde_json::Value = s
        .client
        .get(s.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    doc["paths"]["/users/me"]["get"]["security"].clone()
}

#[tokio::test]
async fn query_and_cookie_keys_are_off_by_default() {
    let s = Server::sqlite(Options::default()).await;
    let key = key(&s).await;
    assert_eq!(statuses(&s, &key).await, (200, 401, 401));
    assert_eq!(
        documented_schemes(&s).await,
        serde_json::json!([{"DPoP": []}, {"OAuth2PasswordBearer": []}, {"APIKeyHeader": []}])
    );
    s.finish().await;
}

#[tokio::test]
async fn query_and_cookie_keys_where_configured() {
    let s = Server::sqlite(Options {
        api_key_in_query: true,
        api_key_in_cookie: true,
        ..Options::default()
    })
    .await;
    let key = key(&s).await;
    assert_eq!(statuses(&s, &key).await, (200, 200, 200));
    assert_eq!(
        documented_schemes(&s).await,
        serde_json::json!([{"DPoP": []}, {"OAuth2PasswordBearer": []}, {"APIKeyHeader": []}, {"APIKeyQuery": []}, {"APIKeyCookie": []}])
    );
    s.finish().await;
}
