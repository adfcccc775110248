//! The token endpoint's grants (RFC 6749 §4.3, §4.4, §6) and refresh-token rotation with
//! reuse detection (RFC 9700 §4.14.2).

use std::collections::BTreeSet;

use serde::Serialize;
use warden::jwt::{Claims, Confirmation};

use super::authentication::Authentication;
use super::{DomainError, Warden, now, secrets};
use crate::storage::{Client, CodeTokens, RefreshToken, Storage, User};

/// How the client authenticated at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_basic` or `client_secret_post`.
    Secret,
    /// `private_key_jwt`: a JWT signed with one of its registered keys (RFC 7523 §2.2).
    PrivateKeyJwt,
    /// A public client identified by `client_id` alone (or the built-in docs client).
    None,
}

impl ClientAuth {
    /// Whether the client proved who it is (a secret or a key), as a confidential client
    /// must (RFC 6749 §2.3).
    pub fn is_authenticated(self) -> bool {
        self != ClientAuth::None
    }
}

/// What the token endpoint returns on success (RFC 6749 §5.1).
#[derive(Debug, Clone, Serialize)]
pub struct TokenSet {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
    /// OpenID Connect: when the grant had the `openid` scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Token exchange (RFC 8693 §2.2.1): what `access_token` is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
}

/// `requested ∩ allowed`; an empty request means everything allowed (RFC 6749 §3.3 lets the
/// server pick a default).
fn grant_scopes(requested: &[String], allowed: &BTreeSet<String>) -> BTreeSet<String> {
    if requested.is_empty() {
        return allowed.clone();
    }
    requested
        .iter()
        .filter(|s| allowed.contains(*s))
        .cloned()
        .collect()
}

/// Scopes a client restricts to; an empty list restricts nothing.
fn within_client(client: &Client, scopes: BTreeSet<String>) -> BTreeSet<String> {
    if client.scopes.is_empty() {
        return scopes;
    }
    scopes
        .into_iter()
        .filter(|s| client.scopes.contains(s))
        .collect()
}

pub(super) fn join(scopes: &BTreeSet<String>) -> String {
    scopes
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

impl<S: Storage> Warden<S> {
    fn check_grant_allowed(&self, client: &Client, grant: &str) -> Result<(), DomainError> {
        if client.grant_types.iter().any(|g| g == grant) {
            Ok(())
        } else {
            Err(DomainError::UnauthorizedClient)
        }
    }

    fn access_token(
        &self,
        sub: &str,
        client_id: &str,
        scopes: &BTreeSet<String>,
        how: Option<&Authentication>,
        dpop: Option<&str>,
    ) -> Result<String, DomainError> {
        self.access_token_with_id(
            sub,
            client_id,
            scopes,
            uuid::Uuid::new_v4().to_string(),
            how,
            dpop,
        )
    }

    /// An access token whose `jti` is `jti` (kept by the caller to revoke it later).
    fn access_token_with_id(
        &self,
        sub: &str,
        client_id: &str,
        scopes: &BTreeSet<String>,
        jti: String,
        how: Option<&Authentication>,
        dpop: Option<&str>,
    ) -> Result<String, DomainError> {
        self.access_token_at(sub, client_id, scopes, jti, now(), how, dpop)
    }

    /// An access token issued at `issued_at`, with `auth_time`, `acr` and `amr` when a user
    /// authenticated (`how`; RFC 9068 §2.2.1), bound to the DPoP key `dpop` when the request
    /// proved one (`cnf.jkt`, RFC 9449 §6.1). The same arguments give the same token: the
    /// signature (Ed25519) is deterministic, so an idempotent retry can be answered again.
    #[expect(clippy::too_many_arguments, reason = "one token, every claim given")]
    fn access_token_at(
        &self,
        sub: &str,
        client_id: &str,
        scopes: &BTreeSet<String>,
        jti: String,
        issued_at: i64,
        how: Option<&Authentication>,
        dpop: Option<&str>,
    ) -> Result<String, DomainError> {
        let claims: Claims = Claims {
            sub: Some(sub.to_owned()),
            aud: self.config().issuer.as_str().into(),
            client_id: Some(client_id.to_owned()),
            scope: Some(join(scopes)),
            jti: Some(jti),
            auth_time: how.map(|h| u64::try_from(h.auth_time).unwrap_or(0)),
            acr: how.map(|h| h.acr().to_owned()),
            amr: how.map(|h| h.amr.clone()),
            cnf: dpop.map(|jkt| Confirmation {
                jkt: Some(jkt.to_owned()),
                ..Confirmation::default()
            }),
            ..Claims::default()
        };
        self.signing()?
            .issuer
            .sign_with(
                &claims,
                warden::jwt::ACCESS_TOKEN_TYPE,
                u64::try_from(issued_at).unwrap_or(0),
                self.config().access_token_ttl,
            )
            .map_err(|_| DomainError::Internal("could not sign a token"))
    }

    async fn new_refresh_token(
        &self,
        family_id: &str,
        user: &User,
        client: &Client,
        scopes: &BTreeSet<String>,
        how: &Authentication,
        dpop: Option<&str>,
    ) -> Result<String, DomainError> {
        let value = secrets::random(32)?;
        let mut record =
            self.refresh_record(&value, family_id, user, client, scopes, now(), Some(how));
        // RFC 9449 §5: a public client's refresh token is bound to the key it proved; a
        // confidential client's is bound to the client by its authentication already.
        if client.public {
            record.dpop_jkt = dpop.map(str::to_owned);
        }
        self.storage().insert_refresh_token(&record).await?;
        Ok(value)
    }

    /// The record of the refresh token `value`, issued at `at` for a grant authenticated as
    /// `how`.
    #[expect(clippy::too_many_arguments, reason = "one record, every field given")]
    fn refresh_record(
        &self,
        value: &str,
        family_id: &str,
        user: &User,
        client: &Client,
        scopes: &BTreeSet<String>,
        at: i64,
        how: Option<&Authentication>,
    ) -> RefreshToken {
        RefreshToken {
            id: uuid::Uuid::new_v4().to_string(),
            family_id: family_id.to_owned(),
            token_hash: secrets::digest(value),
            user_id: Some(user.id.clone()),
            client_id: client.client_id.clone(),
            scope: join(scopes),
            issued_at: at,
            expires_at: at
                .saturating_add(i64::try_from(self.config().refresh_token_ttl).unwrap_or(i64::MAX)),
            used_at: None,
            revoked_at: None,
            auth_time: how.map(|h| h.auth_time),
            amr: how.map(Authentication::stored_amr),
            dpop_jkt: None,
        }
    }

    pub(super) fn token_set(
        &self,
        access_token: String,
        refresh_token: Option<String>,
        scopes: &BTreeSet<String>,
        dpop: Option<&str>,
    ) -> TokenSet {
        TokenSet {
            access_token,
            // RFC 9449 §5: a DPoP-bound access token is of type `DPoP`.
            token_type: if dpop.is_some() { "DPoP" } else { "bearer" },
            expires_in: self.config().access_token_ttl,
            refresh_token,
            scope: join(scopes),
            id_token: None,
            issued_token_type: None,
        }
    }

    /// `grant_type=password`: the user's credentials for tokens. Granted scopes are the
    /// requested ones that the user's roles and the client allow.
    ///
    /// An account that needs a second factor (it has one, or a role or the client requires
    /// one) gets no token on the password alone: the request must carry the code as `otp`
    /// (a TOTP code or a recovery code); without it the answer is `invalid_grant` with a
    /// description saying so, and an account that must first enrol a factor is sent to the
    /// browser login, where enrolment happens.
    pub async fn password_grant(
        &self,
        client: &Client,
        credentials: PasswordCredentials<'_>,
        requested: &[String],
        ip: Option<&str>,
        dpop: Option<&str>,
    ) -> Result<TokenSet, DomainError> {
        if !self.config().password_grant {
            return Err(DomainError::UnsupportedGrantType);
        }
        self.check_grant_allowed(client, "password")?;
        let user = self
            .login(
                credentials.username,
                credentials.password,
                &client.client_id,
                ip,
            )
            .await?;
        let mut how = Authentication::password(now());
        if self.second_factor_required(&user, Some(client)).await? {
            if !self.has_second_factor(&user.id).await? {
                return Err(DomainError::EnrolmentRequired);
            }
            let code = credentials.otp.ok_or(DomainError::SecondFactorRequired)?;
            let factor = self
                .verify_second_factor(&user, code, Some(&client.client_id), ip)
                .await?;
            how = how.with_second_factor(factor.amr(), now());
        }
        let scopes = within_client(
            client,
            grant_scopes(requested, &self.role_scopes(&user).await?),
        );
        let access = self.access_token(&user.id, &client.client_id, &scopes, Some(&how), dpop)?;
        let refresh = if client.grant_types.iter().any(|g| g == "refresh_token") {
            let family = uuid::Uuid::new_v4().to_string();
            Some(
                self.new_refresh_token(&family, &user, client, &scopes, &how, dpop)
                    .await?,
            )
        } else {
            None
        };
        self.audit(
            "token.issued",
            "success",
            Some(&user.id),
            Some(&client.client_id),
            ip,
            Some("password"),
        )
        .await;
        Ok(self.token_set(access, refresh, &scopes, dpop))
    }

    /// `grant_type=client_credentials`: a confidential client acting for itself (RFC 6749
    /// §4.4; no refresh token, §4.4.3).
    pub async fn client_credentials_grant(
        &self,
        client: &Client,
        auth: ClientAuth,
        requested: &[String],
        ip: Option<&str>,
        dpop: Option<&str>,
    ) -> Result<TokenSet, DomainError> {
        if client.public || !auth.is_authenticated() {
            return Err(DomainError::UnauthorizedClient);
        }
        self.check_grant_allowed(client, "client_credentials")?;
        let allowed: BTreeSet<String> = client.scopes.iter().cloned().collect();
        let scopes = grant_scopes(requested, &allowed);
        let access =
            self.access_token(&client.client_id, &client.client_id, &scopes, None, dpop)?;
        self.audit(
            "token.issued",
            "success",
            Some(&client.client_id),
            Some(&client.client_id),
            ip,
            Some("client_credentials"),
        )
        .await;
        Ok(self.token_set(access, None, &scopes, dpop))
    }

    /// `grant_type=refresh_token` with strict rotation: the presented token is used up and
    /// its successor returned. A second use of a used token is treated as theft and revokes
    /// the whole family (RFC 9700 §4.14.2). Scopes never widen (RFC 6749 §6), and shrink if
    /// the user's roles did.
    ///
    /// With `refresh_reuse_grace` > 0 (confidential clients; public ones only with
    /// `refresh_reuse_grace_public`), a retry of the same token by the same client within
    /// that many seconds of its first use — a response lost on the network — is answered
    /// with the very same pair again, as long as the successor has not been used: never a
    /// new sibling, so a thief replaying the token gains nothing the client does not hold.
    pub async fn refresh_grant(
        &self,
        client: &Client,
        value: &str,
        requested: &[String],
        ip: Option<&str>,
        dpop: Option<&str>,
    ) -> Result<TokenSet, DomainError> {
        self.check_grant_allowed(client, "refresh_token")?;
        if value.is_empty() || value.len() > 256 {
            return Err(DomainError::InvalidGrant);
        }
        let at = now();
        let token = self
            .storage()
            .refresh_token_by_hash(&secrets::digest(value))
            .await?
            .ok_or(DomainError::InvalidGrant)?;
        // A refresh token is bound to the client it was issued to (RFC 6749 §6).
        if token.client_id != client.client_id
            || token.revoked_at.is_some()
            || token.expires_at <= at
        {
            return Err(DomainError::InvalidGrant);
        }
        // RFC 9449 §5: a bound refresh token is used only with a proof of its key. Checked
        // before reuse detection, so a thief without the key cannot even revoke the family.
        if let Some(bound) = token.dpop_jkt.as_deref()
            && !dpop.is_some_and(|jkt| warden::constant_time_eq(jkt.as_bytes(), bound.as_bytes()))
        {
            return Err(DomainError::InvalidGrant);
        }
        // The successor's value is derived from this one under a server key: a retry can be
        // answered with the same pair without storing a token in clear.
        let successor_value = self.inner.refresh_successors.successor(value);
        if token.used_at.is_some() {
            return self
                .refresh_again(client, &token, &successor_value, requested, at, ip, dpop)
                .await;
        }
        let user = self.refresh_user(&token).await?;
        let held = split_scopes(&token.scope);
        if requested.iter().any(|s| !held.contains(s)) {
            return Err(DomainError::InvalidScope);
        }
        // The OpenID Connect scopes name claims, not permissions: no role grants them, so
        // they are kept as long as the user is.
        let mut still_allowed = self.role_scopes(&user).await?;
        still_allowed.extend(super::OIDC_SCOPES.iter().map(|s| (*s).to_owned()));
        let scopes: BTreeSet<String> = grant_scopes(requested, &held)
            .into_iter()
            .filter(|s| still_allowed.contains(s))
            .collect();
        // The family keeps the authentication of its original grant (OpenID Connect Core
        // §12.2: a refreshed ID token keeps `auth_time`); tokens from before it was recorded
        // say nothing of it.
        let how = stored_authentication(&token);
        let mut successor = self.refresh_record(
            &successor_value,
            &token.family_id,
            &user,
            client,
            &scopes,
            at,
            how.as_ref(),
        );
        // The family stays bound to its key.
        successor.dpop_jkt = token.dpop_jkt.clone();
        // Used up and replaced in one step: exactly one of concurrent uses gets here.
        if !self
            .storage()
            .rotate_refresh_token(&token.id, at, &successor)
            .await?
        {
            return self
                .refresh_again(client, &token, &successor_value, requested, at, ip, dpop)
                .await;
        }
        // The access token's `jti` and `iat` come from the successor's record, so a retry
        // signs the same token again.
        let access = self.access_token_at(
            &user.id,
            &client.client_id,
            &scopes,
            successor.id,
            at,
            how.as_ref(),
            dpop,
        )?;
        self.audit(
            "token.refreshed",
            "success",
            Some(&user.id),
            Some(&client.client_id),
            ip,
            None,
        )
        .await;
        Ok(self.token_set(access, Some(successor_value), &scopes, dpop))
    }

    /// A used refresh token presented again: the same answer as its first use when the
    /// grace applies and the successor is untouched; otherwise reuse, which revokes the
    /// family.
    #[expect(
        clippy::too_many_arguments,
        reason = "the refresh request, passed on whole"
    )]
    async fn refresh_again(
        &self,
        client: &Client,
        token: &RefreshToken,
        successor_value: &str,
        requested: &[String],
        at: i64,
        ip: Option<&str>,
        dpop: Option<&str>,
    ) -> Result<TokenSet, DomainError> {
        let config = self.config();
        let grace = if client.public && !config.refresh_reuse_grace_public {
            0
        } else {
            i64::try_from(config.refresh_reuse_grace).unwrap_or(0)
        };
        let current = self
            .storage()
            .refresh_token_by_hash(&token.token_hash)
            .await?
            .ok_or(DomainError::InvalidGrant)?;
        let within_grace = grace > 0
            && current.revoked_at.is_none()
            && current.used_at.is_some_and(|used| at - used <= grace);
        if within_grace {
            let successor = self
                .storage()
                .refresh_token_by_hash(&secrets::digest(successor_value))
                .await?;
            // Stored with the rotation, so present; once it has been used (or revoked) the
            // client has moved on, and this is someone else.
            let untouched = successor.filter(|s| {
                s.used_at.is_none()
                    && s.revoked_at.is_none()
                    && s.family_id == token.family_id
                    && requested
                        .iter()
                        .all(|r| s.scope.split(' ').any(|held| held == r))
            });
            if let Some(successor) = untouched {
                let user = self.refresh_user(&successor).await?;
                let scopes = split_scopes(&successor.scope);
                let access = self.access_token_at(
                    &user.id,
                    &client.client_id,
                    &scopes,
                    successor.id.clone(),
                    successor.issued_at,
                    stored_authentication(&successor).as_ref(),
                    dpop,
                )?;
                self.audit(
                    "token.refreshed",
                    "success",
                    Some(&user.id),
                    Some(&client.client_id),
                    ip,
                    Some("retry within the grace period: the same tokens again"),
                )
                .await;
                return Ok(self.token_set(access, Some(successor_value.to_owned()), &scopes, dpop));
            }
        }
        let revoked = self
            .storage()
            .revoke_refresh_family(&token.family_id, at)
            .await?;
        self.audit(
            "token.reuse_detected",
            "failure",
            token.user_id.as_deref(),
            Some(&client.client_id),
            ip,
            Some(&format!("family revoked ({revoked} tokens)")),
        )
        .await;
        Err(DomainError::InvalidGrant)
    }

    /// The user a refresh token was issued to, if still allowed to hold tokens.
    async fn refresh_user(&self, token: &RefreshToken) -> Result<User, DomainError> {
        let user_id = token.user_id.as_deref().ok_or(DomainError::InvalidGrant)?;
        let user = self
            .storage()
            .user_by_id(user_id)
            .await?
            .ok_or(DomainError::InvalidGrant)?;
        if user.disabled {
            return Err(DomainError::InvalidGrant);
        }
        Ok(user)
    }
}

/// How the grant a refresh token descends from was authenticated, if recorded.
fn stored_authentication(token: &RefreshToken) -> Option<Authentication> {
    match (token.auth_time, token.amr.as_deref()) {
        (Some(auth_time), Some(amr)) if !amr.is_empty() => {
            Some(Authentication::stored(auth_time, amr))
        }
        _ => None,
    }
}

pub(super) fn split_scopes(scope: &str) -> BTreeSet<String> {
    scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// What the token endpoint received for `grant_type=password`.
#[derive(Debug, Clone, Copy)]
pub struct PasswordCredentials<'a> {
    pub username: &'a str,
    pub password: &'a str,
    /// The second factor's code (a TOTP code or a recovery code), for accounts that have one.
    pub otp: Option<&'a str>,
}

/// What the token endpoint received for `grant_type=authorization_code`.
#[derive(Debug, Clone, Copy)]
pub struct CodeRedemption<'a> {
    pub code: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
}

impl<S: Storage> Warden<S> {
    /// `grant_type=authorization_code` (RFC 6749 §4.1.3, OpenID Connect Core §3.1.3): the
    /// code is single-use, bound to its client, redirect URI and PKCE challenge. A second
    /// redemption revokes what the first one issued (RFC 6749 §4.1.2).
    pub async fn authorization_code_grant(
        &self,
        client: &Client,
        auth: ClientAuth,
        redemption: CodeRedemption<'_>,
        ip: Option<&str>,
        dpop: Option<&str>,
    ) -> Result<TokenSet, DomainError> {
        self.check_grant_allowed(client, "authorization_code")?;
        // A confidential client must authenticate (RFC 6749 §4.1.3).
        if !client.public && !auth.is_authenticated() {
            return Err(DomainError::InvalidClient);
        }
        if redemption.code.is_empty() || redemption.code.len() > 256 {
            return Err(DomainError::InvalidGrant);
        }
        let code_hash = secrets::digest(redemption.code);
        let code = self
            .storage()
            .authorization_code_by_hash(&code_hash)
            .await?
            .ok_or(DomainError::InvalidGrant)?;
        // RFC 9700 §4.5 (code injection): a code only works for the client it was issued to.
        if code.client_id != client.client_id {
            return Err(DomainError::InvalidGrant);
        }
        let at = now();
        // What this redemption will issue is written with `used_at`, in one statement, so a
        // replay that loses the race still finds it (and revokes it, below and at the end).
        let issued = CodeTokens {
            refresh_family_id: client
                .grant_types
                .iter()
                .any(|g| g == "refresh_token")
                .then(|| uuid::Uuid::new_v4().to_string()),
            access_jti: uuid::Uuid::new_v4().to_string(),
            access_expires_at: at
                .saturating_add(i64::try_from(self.config().access_token_ttl).unwrap_or(i64::MAX)),
        };
        if !self
            .storage()
            .consume_authorization_code(&code_hash, at, &issued)
            .await?
        {
            if let Some(current) = self.storage().mark_code_replayed(&code_hash, at).await? {
                self.revoke_code_tokens(&current, at).await?;
            }
            self.audit(
                "code.replayed",
                "failure",
                Some(&code.user_id),
                Some(&client.client_id),
                ip,
                Some("tokens issued for the code were revoked"),
            )
            .await;
            return Err(DomainError::InvalidGrant);
        }
        if code.expires_at <= at {
            return Err(DomainError::InvalidGrant);
        }
        // RFC 6749 §4.1.3: the same redirect_uri as in the authorization request.
        if redemption.redirect_uri != Some(code.redirect_uri.as_str()) {
            return Err(DomainError::InvalidGrant);
        }
        // RFC 7636 §4.6, and RFC 9700 §4.8.2: a verifier for a code issued without a
        // challenge is refused too, so PKCE cannot be downgraded either way.
        let pkce_ok = match (code.code_challenge.as_deref(), redemption.code_verifier) {
            (Some(challenge), Some(verifier)) => {
                super::authorization::pkce_s256_matches(verifier, challenge)
            }
            (None, None) => true,
            _ => false,
        };
        if !pkce_ok {
            return Err(DomainError::InvalidGrant);
        }
        // RFC 9449 §10: a code bound to a key (`dpop_jkt`) is redeemed only with a proof by it.
        if let Some(bound) = code.dpop_jkt.as_deref()
            && !dpop.is_some_and(|jkt| warden::constant_time_eq(jkt.as_bytes(), bound.as_bytes()))
        {
            return Err(DomainError::InvalidGrant);
        }
        let user = self
            .storage()
            .user_by_id(&code.user_id)
            .await?
            .filter(|u| !u.disabled)
            .ok_or(DomainError::InvalidGrant)?;
        let scopes: BTreeSet<String> = code
            .scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let how = Authentication::stored(code.auth_time, &code.amr);
        let access = self.access_token_with_id(
            &user.id,
            &client.client_id,
            &scopes,
            issued.access_jti.clone(),
            Some(&how),
            dpop,
        )?;
        let refresh = match &issued.refresh_family_id {
            Some(family) => Some(
                self.new_refresh_token(family, &user, client, &scopes, &how, dpop)
                    .await?,
            ),
            None => None,
        };
        // A replay marks the code, then revokes what it lists: a refresh token inserted
        // before the mark is caught by that revocation, one inserted after is caught here.
        // Either way nothing issued for a replayed code survives (RFC 6749 §4.1.2).
        let now_code = self
            .storage()
            .authorization_code_by_hash(&code_hash)
            .await?;
        if now_code.is_none_or(|c| c.replayed_at.is_some()) {
            if let Some(family) = &issued.refresh_family_id {
                self.storage().revoke_refresh_family(family, at).await?;
            }
            self.storage()
                .revoke_access_token(&issued.access_jti, issued.access_expires_at)
                .await?;
            return Err(DomainError::InvalidGrant);
        }
        let id_token = if scopes.contains("openid") {
            Some(self.id_token(&user.id, client, code.nonce.as_deref(), &how, &access)?)
        } else {
            None
        };
        self.audit(
            "token.issued",
            "success",
            Some(&user.id),
            Some(&client.client_id),
            ip,
            Some("authorization_code"),
        )
        .await;
        let mut set = self.token_set(access, refresh, &scopes, dpop);
        set.id_token = id_token;
        Ok(set)
    }

    /// Revokes the refresh family and the access token issued for a replayed code.
    async fn revoke_code_tokens(
        &self,
        code: &crate::storage::AuthorizationCode,
        at: i64,
    ) -> Result<(), DomainError> {
        if let Some(family) = &code.refresh_family_id {
            self.storage().revoke_refresh_family(family, at).await?;
        }
        if let (Some(jti), Some(expires)) = (&code.access_jti, code.access_expires_at) {
            self.storage().revoke_access_token(jti, expires).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn granted_scopes_are_the_intersection() {
        let allowed = set(&["me", "items"]);
        assert_eq!(
            grant_scopes(&["items".into(), "admin".into()], &allowed),
            set(&["items"])
        );
        assert_eq!(grant_scopes(&[], &allowed), allowed);
    }
}
