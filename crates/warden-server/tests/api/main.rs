//! The server's HTTP API over real HTTP on 127.0.0.1, the same tests on SQLite (a fresh file)
//! and on PostgreSQL (a fresh database on 127.0.0.1:5432; under `CI=true` an unreachable
//! PostgreSQL fails the run instead of skipping).

mod backend;
mod flows;
mod refresh;
mod requests;

/// Instantiates each scenario for both backends.
macro_rules! both_backends {
    ($($scenario:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let server = crate::backend::Server::sqlite(Default::default()).await;
                    crate::$scenario(&server).await;
                    server.finish().await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let Some(server) = crate::backend::Server::postgres(Default::default()).await else { return };
                    crate::$scenario(&server).await;
                    server.finish().await;
                }
            )+
        }
    };
}

use flows::*;
use refresh::*;
use requests::*;

both_backends!(
    password_flow_and_current_user,
    failed_logins_look_alike,
    disabled_user_is_refused_everywhere,
    scopes_are_what_roles_and_clients_allow,
    client_credentials_with_both_auth_methods,
    password_change_revokes_refresh_tokens,
    refresh_rotates_and_reuse_revokes_the_family,
    concurrent_refreshes_never_fail_the_server,
    malformed_token_requests_are_4xx,
    discovery_and_docs,
);
