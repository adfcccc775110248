//! Every example of `crates/warden/examples`, run as its own process and exercised over real
//! HTTP on 127.0.0.1: what it accepts, what it refuses (with which status and challenge), and
//! the exact security its OpenAPI document declares.

mod support;

mod api_key_combined;
mod api_key_header;
mod basic_auth;
mod cookie_session;
mod error_handling;
mod oauth2_password_jwt;
mod oauth2_scopes;
mod router_security;
mod sign_in_with;
mod step_up;
mod tutorial_01_first_steps;
mod tutorial_02_get_current_user;
mod tutorial_03_simple_oauth2;
mod validation;
