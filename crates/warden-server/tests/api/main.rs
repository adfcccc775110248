//! The server's HTTP API over real HTTP on 127.0.0.1, the same tests on SQLite (a fresh file)
//! and on PostgreSQL (a fresh database on 127.0.0.1:5432; under `CI=true` an unreachable
//! PostgreSQL fails the run instead of skipping).

mod admin;
mod api_key_places;
mod api_keys;
mod backend;
mod cli;
mod flows;
mod oauth;
mod operations;
mod proxies;
mod refresh;
mod requests;
mod rotation;

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

use admin::*;
use api_keys::*;
use flows::*;
use oauth::*;
use operations::*;
use refresh::*;
use requests::*;
use rotation::*;

both_backends!(
    api_key_authenticates_and_is_listed_without_secret,
    api_key_scopes_stay_within_roles_and_the_caller,
    revoked_and_expired_keys_are_refused,
    malformed_and_unknown_keys_are_refused,
    disabled_users_keys_are_refused,
    admin_routes_need_the_admin_scope,
    admins_manage_users_and_roles,
    admins_register_and_delete_clients,
    cors_is_open_on_the_oauth_endpoints_only,
    audit_log_has_logins_and_keys_but_no_secrets,
    openapi_documents_both_schemes_and_the_admin_scope,
    revoking_a_refresh_token_kills_its_family,
    revoking_an_access_token_denylists_it,
    revoking_another_clients_token_does_nothing,
    revoking_unknown_tokens_succeeds,
    revocation_and_introspection_require_client_auth,
    introspection_describes_active_tokens,
    introspection_of_inactive_tokens_says_only_that,
    malformed_revocation_and_introspection_requests_are_400,
    discovery_lists_revocation_and_introspection,
    password_flow_and_current_user,
    current_user_changes_their_email_only,
    failed_logins_look_alike,
    disabled_user_is_refused_everywhere,
    scopes_are_what_roles_and_clients_allow,
    client_credentials_with_both_auth_methods,
    password_change_revokes_refresh_tokens,
    refresh_rotates_and_reuse_revokes_the_family,
    concurrent_refreshes_never_fail_the_server,
    malformed_token_requests_are_4xx,
    discovery_and_docs,
    logins_are_throttled_per_account,
    imported_bcrypt_users_log_in_and_are_rehashed,
    rotation_reaches_a_running_server,
    metrics_count_requests_by_route_and_logins_by_outcome,
);
