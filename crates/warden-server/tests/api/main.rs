//! The server's HTTP API over real HTTP on 127.0.0.1, the same tests on SQLite (a fresh file)
//! and on PostgreSQL (a fresh database on 127.0.0.1:5432; under `CI=true` an unreachable
//! PostgreSQL fails the run instead of skipping).

mod admin;
mod api_key_places;
mod api_keys;
mod authorization;
mod backend;
mod cli;
mod client_assertions;
mod dpop;
mod flows;
mod mfa;
mod oauth;
mod operations;
mod par;
mod passkeys;
mod proxies;
mod refresh;
mod registration;
mod requests;
mod rotation;
mod throttling;
mod token_exchange;
mod upstream;
mod upstream_login;

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

/// Instantiates scenarios for both backends with the server `Options` `$options` gives.
macro_rules! both_backends_with {
    ($module:ident, $options:path; $($scenario:ident),+ $(,)?) => {
        mod $module {
            mod sqlite {
                $(
                    #[tokio::test]
                    async fn $scenario() {
                        let server = crate::backend::Server::sqlite($options()).await;
                        crate::$scenario(&server).await;
                        server.finish().await;
                    }
                )+
            }
            mod postgres {
                $(
                    #[tokio::test]
                    async fn $scenario() {
                        let Some(server) = crate::backend::Server::postgres($options()).await else { return };
                        crate::$scenario(&server).await;
                        server.finish().await;
                    }
                )+
            }
        }
    };
}

use admin::*;
use api_keys::*;
use authorization::*;
use client_assertions::*;
use dpop::*;
use flows::*;
use mfa::*;
use oauth::*;
use operations::*;
use par::*;
use passkeys::*;
use refresh::*;
use registration::*;
use requests::*;
use rotation::*;
use throttling::*;
use token_exchange::*;
use upstream::*;
use upstream_login::*;

both_backends_with!(open_registration, crate::registration::open_registration;
    open_registration_needs_no_token,
);

both_backends_with!(par_required, crate::par::par_everywhere;
    par_required_server_wide_is_advertised_and_enforced,
);

both_backends_with!(dpop_nonce, crate::dpop::with_nonces;
    dpop_nonces_are_required_when_configured,
);

both_backends_with!(passkey, crate::passkeys::localhost;
    passkey_registered_then_second_factor_at_login,
    passkey_alone_signs_in_by_username,
    passkey_step_up_to_phr_and_removal,
    passkey_admin_reset_removes_passkeys,
    passkey_bad_assertions_are_refused,
    passkey_ceremonies_are_single_use_and_expire,
    passkey_counter_going_back_is_refused,
    passkey_api_refuses_bad_bodies,
    passkey_set_up_where_enrolment_is_forced,
);

both_backends!(
    dpop_binds_tokens_and_resources_require_the_key,
    dpop_binds_a_public_clients_refresh_token,
    dpop_bad_proofs_at_the_token_endpoint_are_400,
    dpop_jkt_binds_the_authorization_code,
    par_pushed_request_runs_the_code_flow_once,
    private_key_jwt_authenticates_a_client_without_a_secret,
    private_key_jwt_refuses_each_broken_rule,
    token_exchange_narrows_and_names_the_actor,
    registration_needs_an_initial_access_token,
    registration_refuses_bad_metadata,
    registration_with_keys_gives_a_private_key_jwt_client,
    registration_is_managed_with_its_access_token,
    token_exchange_refuses_what_it_does_not_do,
    par_refuses_bad_pushes_and_foreign_or_stale_request_uris,
    par_required_by_a_client_cannot_be_bypassed_or_altered,
    upstream_providers_are_managed_and_their_secret_never_shown,
    upstream_provider_settings_are_validated,
    users_list_and_unlink_identities_but_never_the_last_way_in,
    admins_mark_addresses_verified_and_a_new_address_is_not,
    upstream_sign_up_creates_an_account_keyed_by_subject,
    upstream_without_sign_up_asks_to_prove_an_account_then_links,
    upstream_links_by_email_only_when_verified_on_both_sides_and_trusted,
    upstream_disabled_accounts_stay_disabled,
    upstream_sign_in_does_not_satisfy_mfa_unless_trusted,
    upstream_groups_map_to_roles_on_every_sign_in,
    upstream_callback_attacks_are_refused,
    upstream_down_gives_the_login_page_not_a_5xx,
    upstream_warden_federates_to_another_warden,
    upstream_github_signs_in_by_numeric_id,
    passkeys_off_when_the_issuer_is_an_ip,
    mfa_totp_set_up_then_required_by_the_password_grant,
    mfa_racing_submissions_of_one_code_win_once,
    mfa_wrong_codes_are_throttled_like_passwords,
    mfa_factor_changes_need_a_recent_second_factor,
    mfa_admin_reset_removes_factors_and_what_they_gave,
    mfa_browser_login_asks_for_the_second_factor,
    mfa_required_by_role_or_client_forces_enrolment,
    mfa_step_up_asks_only_for_the_missing_factor,
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
    successful_logins_are_not_throttled,
    rapid_wrong_passwords_end_in_429_with_retry_after,
    imported_bcrypt_users_log_in_and_are_rehashed,
    rotation_reaches_a_running_server,
    metrics_count_requests_by_route_and_logins_by_outcome,
    authorization_code_flow_with_pkce_gives_tokens_id_token_and_userinfo,
    authorization_code_replay_revokes_what_the_code_gave,
    authorization_pkce_is_required_and_cannot_be_downgraded,
    authorization_redirect_uris_match_exactly,
    authorization_bad_requests_are_pages_or_redirected_errors,
    authorization_code_works_only_for_its_client,
    authorization_forms_need_the_csrf_cookie_and_token,
    authorization_pages_cannot_be_framed_or_cached,
    authorization_prompts_and_remembered_consent,
    authorization_logout_ends_the_session_without_open_redirects,
    authorization_wrong_password_shows_the_form_again_and_is_throttled,
    authorization_successful_logins_are_not_throttled,
    authorization_disabled_user_session_no_longer_authorizes,
    authorization_malformed_input_is_4xx,
    authorization_nul_bytes_are_4xx,
    authorization_concurrent_redemptions_issue_once_and_revoke,
    authorization_expired_codes_are_refused,
);
