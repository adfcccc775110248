//! Passkeys (WebAuthn, through webauthn-rs): registration, and authentication as a second
//! factor (after the password) or as a first one (username-first, or a discoverable
//! credential the browser offers).
//!
//! The relying party is the issuer: its host is the RP ID and its origin the only origin
//! accepted. An issuer whose host is an IP address (browsers refuse an IP as RP ID), or
//! plain HTTP other than `localhost` (not a secure context), turns passkeys off.
//!
//! A ceremony's state (the challenge and what it allows) never leaves the server: it is
//! stored under the SHA-256 of a random id the client holds, for five minutes, and taken
//! out by one `DELETE … RETURNING`, so a replayed id finds nothing. User verification is
//! required. A passkey's signature counter only rises: an assertion whose counter does not
//! (above 0) is refused and audited as a possible clone, and the stored counter moves by a
//! conditional update, so two racing assertions with one counter value cannot both pass.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};
use webauthn_rs_proto::{AllowCredentials, Mediation, ResidentKeyRequirement};

use super::authentication::passkey_methods;
use super::{DomainError, Warden, now, secrets};
use crate::storage::{Storage, StorageError, StoredPasskey, User, WebauthnCeremony};

/// How long a started ceremony may wait for the authenticator (W3C WebAuthn's recommended
/// timeout for user verification is five minutes).
pub const CEREMONY_TTL_SECS: i64 = 300;
/// The most passkeys one account keeps.
pub const MAX_PASSKEYS_PER_USER: u64 = 16;
/// The longest passkey name, in characters.
pub const MAX_PASSKEY_NAME_CHARS: usize = 64;
/// The longest ceremony id taken (ours are 43 characters).
const MAX_CEREMONY_ID_BYTES: usize = 128;

/// An unknown, used, expired or misplaced ceremony id: all alike.
const CEREMONY_GONE: DomainError = DomainError::InvalidPasskey(
    "This passkey request has expired or was already used. Start again.",
);

/// A ceremony's state, of the kind expected.
fn ceremony_state<T: DeserializeOwned>(
    ceremony: &WebauthnCeremony,
    kind: CeremonyKind,
) -> Result<T, DomainError> {
    if ceremony.kind != kind.as_str() {
        return Err(CEREMONY_GONE);
    }
    serde_json::from_str(&ceremony.state)
        .map_err(|_| DomainError::Internal("a stored WebAuthn state does not parse"))
}

/// Why passkeys are off for an issuer, or the relying party they use.
pub fn relying_party(issuer: &str) -> Result<Webauthn, &'static str> {
    let url = Url::parse(issuer).map_err(|_| "the issuer is not a URL")?;
    let Some(url::Host::Domain(domain)) = url.host() else {
        return Err("the issuer's host is an IP address, and WebAuthn needs a domain name");
    };
    let local = domain == "localhost" || domain.ends_with(".localhost");
    match url.scheme() {
        "https" => {}
        "http" if local => {}
        _ => {
            return Err(
                "the issuer is plain HTTP, where browsers offer WebAuthn only on localhost",
            );
        }
    }
    let origin =
        Url::parse(&url.origin().ascii_serialization()).map_err(|_| "the issuer has no origin")?;
    WebauthnBuilder::new(domain, &origin)
        .and_then(|builder| builder.rp_name("Warden").build())
        .map_err(|_| "webauthn-rs refused the issuer as relying party")
}

/// What a ceremony is for; stored as text with its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyKind {
    /// Registering a passkey for a signed-in user.
    Register,
    /// A passkey after the password (the user is the pending session's).
    SecondFactor,
    /// Signing in with a passkey of the user whose name was typed.
    Login,
    /// Signing in with whatever passkey of this site the browser offers (the credential
    /// names the user); also what a typed name without passkeys gets, which never succeeds.
    Discoverable,
}

impl CeremonyKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::SecondFactor => "second_factor",
            Self::Login => "login",
            Self::Discoverable => "discoverable",
        }
    }
}

/// A started ceremony: the id the client sends back, and the options for the browser.
#[derive(Debug)]
pub struct Started<T> {
    pub ceremony: String,
    pub options: T,
}

/// A passkey as listed (nothing of the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyInfo {
    pub id: String,
    pub name: String,
    /// Synced (backup eligible) rather than bound to one device.
    pub backup_eligible: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl From<&StoredPasskey> for PasskeyInfo {
    fn from(p: &StoredPasskey) -> Self {
        Self {
            id: p.id.clone(),
            name: p.name.clone(),
            backup_eligible: p.backup_eligible,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }
}

/// A registered passkey, and the recovery codes of the account's first factor (shown once).
#[derive(Debug)]
pub struct Registered {
    pub passkey: PasskeyInfo,
    pub recovery_codes: Option<Vec<String>>,
}

/// A passkey that verified: whose it is, and whether its signed flags say it is synced.
#[derive(Debug, Clone)]
pub struct PasskeyAssertion {
    pub user: User,
    pub backup_eligible: bool,
}

impl PasskeyAssertion {
    /// The RFC 8176 values it earns (`hwk`/`swk`, `user`, `pin`), `mfa` aside.
    pub fn methods(&self) -> [&'static str; 3] {
        passkey_methods(self.backup_eligible)
    }
}

/// What the finishing side expects of an assertion.
#[derive(Debug, Clone, Copy)]
pub enum Expect<'a> {
    /// A second factor of this user.
    SecondFactor(&'a User),
    /// A first factor (username-first or discoverable): the ceremony says whose.
    Login,
}

/// A passkey name as given: trimmed, 1 to 64 characters, no control characters.
fn valid_name(name: &str) -> Result<String, DomainError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_PASSKEY_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(DomainError::InvalidRequest(
            "a passkey name has 1 to 64 characters, none of them control characters",
        ));
    }
    Ok(name.to_owned())
}

/// A user id as the WebAuthn user handle (our ids are UUIDs).
fn user_handle(user: &User) -> Result<Uuid, DomainError> {
    Uuid::parse_str(&user.id).map_err(|_| DomainError::Internal("a user id is not a UUID"))
}

/// What webauthn-rs's refusal says, in words for the audit log (no data of the request).
fn failure_reason(error: &WebauthnError) -> &'static str {
    match error {
        WebauthnError::UserNotVerified => "user verification missing",
        WebauthnError::UserNotPresent => "user presence missing",
        WebauthnError::CredentialPossibleCompromise => "counter did not rise (possible clone)",
        WebauthnError::InvalidRPOrigin | WebauthnError::InvalidRPIDHash => {
            "origin or RP ID mismatch"
        }
        WebauthnError::MismatchedChallenge => "challenge mismatch",
        WebauthnError::AuthenticationFailure => "signature did not verify",
        WebauthnError::InvalidClientDataType => "wrong client data type",
        WebauthnError::ParseNOMFailure
        | WebauthnError::ParseInsufficientBytesAvailable
        | WebauthnError::ParseCBORFailure(_)
        | WebauthnError::ParseJSONFailure(_) => "malformed credential",
        WebauthnError::CredentialNotFound => "credential not allowed",
        _ => "credential refused",
    }
}

/// The value of a serialised passkey's `cred.backup_eligible`: the BE flag of the
/// authenticator data signed at registration (webauthn-rs keeps it, without an accessor).
fn backup_eligible(serialised: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(serialised)
        .ok()
        .and_then(|v| v["cred"]["backup_eligible"].as_bool())
        .unwrap_or(false)
}

impl<S: Storage> Warden<S> {
    /// Whether passkeys are on (the issuer is a domain over HTTPS, or `localhost`).
    pub fn passkeys_enabled(&self) -> bool {
        self.inner.webauthn.is_some()
    }

    fn webauthn(&self) -> Result<&Webauthn, DomainError> {
        self.inner
            .webauthn
            .as_ref()
            .ok_or(DomainError::PasskeysDisabled)
    }

    /// Stores a ceremony's state; its id, for the client.
    async fn store_ceremony(
        &self,
        kind: CeremonyKind,
        user_id: Option<&str>,
        state: &impl Serialize,
    ) -> Result<String, DomainError> {
        let id = secrets::random(32)?;
        let state = serde_json::to_string(state)
            .map_err(|_| DomainError::Internal("a WebAuthn state did not serialise"))?;
        self.storage()
            .insert_ceremony(&WebauthnCeremony {
                id_hash: secrets::digest(&id),
                user_id: user_id.map(str::to_owned),
                kind: kind.as_str().to_owned(),
                state,
                expires_at: now().saturating_add(CEREMONY_TTL_SECS),
            })
            .await?;
        Ok(id)
    }

    /// Takes a ceremony out (once, whatever its kind): the row, if it is not expired.
    async fn take_ceremony(&self, id: &str) -> Result<WebauthnCeremony, DomainError> {
        if id.is_empty() || id.len() > MAX_CEREMONY_ID_BYTES {
            return Err(CEREMONY_GONE);
        }
        self.storage()
            .take_ceremony(&secrets::digest(id))
            .await?
            .filter(|c| c.expires_at >= now())
            .ok_or(CEREMONY_GONE)
    }

    async fn passkey_failure(
        &self,
        user_id: Option<&str>,
        client_id: Option<&str>,
        ip: Option<&str>,
        reason: &str,
    ) {
        self.audit(
            "mfa.passkey_failure",
            "failure",
            user_id,
            client_id,
            ip,
            Some(reason),
        )
        .await;
    }

    /// Starts registering a passkey for `user` (the caller checked a recent enough
    /// authentication): the creation options, which exclude the user's passkeys, and ask
    /// for user verification and, preferably, a discoverable credential.
    pub async fn start_passkey_registration(
        &self,
        user: &User,
    ) -> Result<Started<CreationChallengeResponse>, DomainError> {
        let webauthn = self.webauthn()?;
        let existing = self.storage().passkeys(&user.id).await?;
        if existing.len() as u64 >= MAX_PASSKEYS_PER_USER {
            return Err(DomainError::InvalidRequest(
                "this account has as many passkeys as it may keep: remove one first",
            ));
        }
        let exclude = existing
            .iter()
            .filter_map(|p| URL_SAFE_NO_PAD.decode(&p.credential_id).ok())
            .collect::<Vec<_>>();
        let (mut options, state): (CreationChallengeResponse, PasskeyRegistration) = webauthn
            .start_passkey_registration(
                user_handle(user)?,
                &user.username,
                &user.username,
                Some(exclude),
            )
            .map_err(|_| DomainError::Internal("could not start a passkey registration"))?;
        // A discoverable credential where the authenticator can make one, so "sign in with a
        // passkey" works without a username; not required (security keys have little room).
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(ResidentKeyRequirement::Preferred);
        }
        let ceremony = self
            .store_ceremony(CeremonyKind::Register, Some(&user.id), &state)
            .await?;
        Ok(Started { ceremony, options })
    }

    /// Finishes a registration with the browser's credential; the account's first factor
    /// also gets recovery codes (returned once). Audited.
    pub async fn finish_passkey_registration(
        &self,
        user: &User,
        ceremony: &str,
        credential: &RegisterPublicKeyCredential,
        name: &str,
        ip: Option<&str>,
    ) -> Result<Registered, DomainError> {
        let name = valid_name(name)?;
        let webauthn = self.webauthn()?;
        let taken = self.take_ceremony(ceremony).await?;
        let state: PasskeyRegistration = ceremony_state(&taken, CeremonyKind::Register)?;
        if taken.user_id.as_deref() != Some(user.id.as_str()) {
            self.passkey_failure(Some(&user.id), None, ip, "registration of another user")
                .await;
            return Err(DomainError::InvalidPasskey(
                "This passkey request belongs to another sign-in. Start again.",
            ));
        }
        let passkey = match webauthn.finish_passkey_registration(credential, &state) {
            Ok(passkey) => passkey,
            Err(error) => {
                self.passkey_failure(Some(&user.id), None, ip, failure_reason(&error))
                    .await;
                return Err(DomainError::InvalidPasskey(
                    "The passkey could not be verified.",
                ));
            }
        };
        let serialised = serde_json::to_string(&passkey)
            .map_err(|_| DomainError::Internal("a passkey did not serialise"))?;
        let at = now();
        let record = StoredPasskey {
            id: uuid::Uuid::new_v4().to_string(),
            credential_id: URL_SAFE_NO_PAD.encode(passkey.cred_id().as_slice()),
            user_id: user.id.clone(),
            name,
            backup_eligible: backup_eligible(&serialised),
            passkey: serialised,
            sign_count: 0,
            created_at: at,
            last_used_at: None,
        };
        let first_factor = !self.has_second_factor(&user.id).await?;
        match self.storage().insert_passkey(&record).await {
            Ok(()) => {}
            Err(StorageError::Conflict(_)) => {
                self.passkey_failure(Some(&user.id), None, ip, "credential already registered")
                    .await;
                return Err(DomainError::InvalidPasskey(
                    "This passkey is registered already.",
                ));
            }
            Err(error) => return Err(error.into()),
        }
        self.audit(
            "mfa.passkey_registered",
            "success",
            Some(&user.id),
            None,
            ip,
            Some(&format!("passkey {}", record.id)),
        )
        .await;
        let recovery_codes =
            if first_factor && self.storage().recovery_codes_left(&user.id).await? == 0 {
                Some(self.new_recovery_codes(user, ip).await?)
            } else {
                None
            };
        Ok(Registered {
            passkey: PasskeyInfo::from(&record),
            recovery_codes,
        })
    }

    /// The user's passkeys, oldest first.
    pub async fn list_passkeys(&self, user: &User) -> Result<Vec<PasskeyInfo>, DomainError> {
        self.webauthn()?;
        Ok(self
            .storage()
            .passkeys(&user.id)
            .await?
            .iter()
            .map(PasskeyInfo::from)
            .collect())
    }

    /// Renames one of the user's passkeys. `NotFound` when it is not theirs.
    pub async fn rename_passkey(
        &self,
        user: &User,
        id: &str,
        name: &str,
    ) -> Result<PasskeyInfo, DomainError> {
        self.webauthn()?;
        let name = valid_name(name)?;
        if id.len() > 64 || !self.storage().rename_passkey(&user.id, id, &name).await? {
            return Err(DomainError::NotFound);
        }
        self.list_passkeys(user)
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(DomainError::NotFound)
    }

    /// Removes one of the user's passkeys (the caller checked a recent second factor); the
    /// recovery codes go with the account's last factor. Audited. `NotFound` when it is not
    /// theirs.
    pub async fn remove_passkey(
        &self,
        user: &User,
        id: &str,
        ip: Option<&str>,
    ) -> Result<(), DomainError> {
        self.webauthn()?;
        if id.len() > 64 || !self.storage().delete_passkey(&user.id, id).await? {
            return Err(DomainError::NotFound);
        }
        if self.storage().count_passkeys(&user.id).await? == 0 && !self.has_totp(&user.id).await? {
            self.storage().delete_recovery_codes(&user.id).await?;
        }
        self.audit(
            "mfa.passkey_removed",
            "success",
            Some(&user.id),
            None,
            ip,
            Some(&format!("passkey {id}")),
        )
        .await;
        Ok(())
    }

    /// Starts an authentication with one of `user`'s passkeys: as the second factor of a
    /// pending session, or (`login`) as the first factor of a username-first sign-in. A
    /// name without passkeys (or without an account) gets a ceremony that offers no
    /// credential of its own and never succeeds, so the answer does not say which it was.
    pub async fn start_passkey_authentication(
        &self,
        username: &str,
        user: Option<&User>,
        login: bool,
    ) -> Result<Started<RequestChallengeResponse>, DomainError> {
        let webauthn = self.webauthn()?;
        let passkeys = match user {
            Some(user) => self.storage().passkeys(&user.id).await?,
            None => Vec::new(),
        };
        let keys = passkeys
            .iter()
            .filter_map(|p| serde_json::from_str::<Passkey>(&p.passkey).ok())
            .collect::<Vec<_>>();
        let (Some(user), false) = (user, keys.is_empty()) else {
            if !login {
                return Err(DomainError::InvalidPasskey("This account has no passkey."));
            }
            // Nothing to allow: a ceremony stored as one that finds no user.
            let (mut options, _unusable): (RequestChallengeResponse, DiscoverableAuthentication) =
                webauthn
                    .start_discoverable_authentication()
                    .map_err(|_| DomainError::Internal("could not start a passkey sign-in"))?;
            options.mediation = None;
            options.public_key.extensions = None;
            // One made-up credential per name, always the same: the options look like
            // those of an account with a passkey.
            let decoy = aws_lc_rs::hmac::sign(
                &self.inner.form_key,
                format!("passkey decoy\0{username}").as_bytes(),
            );
            options.public_key.allow_credentials = vec![AllowCredentials {
                type_: "public-key".to_owned(),
                id: decoy.as_ref().to_vec(),
                transports: None,
            }];
            let ceremony = self
                .store_ceremony(CeremonyKind::Login, None, &PasskeyOrNothing::Nothing)
                .await?;
            return Ok(Started { ceremony, options });
        };
        let (options, state) = webauthn
            .start_passkey_authentication(&keys)
            .map_err(|_| DomainError::Internal("could not start a passkey sign-in"))?;
        let kind = if login {
            CeremonyKind::Login
        } else {
            CeremonyKind::SecondFactor
        };
        let ceremony = self
            .store_ceremony(kind, Some(&user.id), &PasskeyOrNothing::Passkey(state))
            .await?;
        Ok(Started { ceremony, options })
    }

    /// Starts a sign-in with any passkey of this site the browser holds (no username:
    /// the credential's user handle names the account). `conditional`: for the username
    /// field's autofill (WebAuthn conditional mediation), else a modal prompt.
    pub async fn start_discoverable_authentication(
        &self,
        conditional: bool,
    ) -> Result<Started<RequestChallengeResponse>, DomainError> {
        let (mut options, state) = self
            .webauthn()?
            .start_discoverable_authentication()
            .map_err(|_| DomainError::Internal("could not start a passkey sign-in"))?;
        if !conditional {
            options.mediation = None;
        } else {
            options.mediation = Some(Mediation::Conditional);
        }
        let ceremony = self
            .store_ceremony(CeremonyKind::Discoverable, None, &state)
            .await?;
        Ok(Started { ceremony, options })
    }

    /// Finishes an authentication with the browser's assertion: the passkey's user (enabled)
    /// and what it earned. Failures count in the login throttle of that user and are
    /// audited; the stored counter rises, and one that does not is refused.
    pub async fn finish_passkey_authentication(
        &self,
        ceremony: &str,
        credential: &PublicKeyCredential,
        expect: Expect<'_>,
        client_id: Option<&str>,
        ip: Option<&str>,
    ) -> Result<PasskeyAssertion, DomainError> {
        const REFUSED: DomainError =
            DomainError::InvalidPasskey("The passkey could not be verified.");
        let webauthn = self.webauthn()?;
        let credential_id = URL_SAFE_NO_PAD.encode(credential.get_credential_id());
        // The ceremony first (taken once, whatever follows), then the passkey it names.
        enum State {
            Allowed(Option<String>, PasskeyOrNothing),
            Discoverable(DiscoverableAuthentication),
        }
        let taken = self.take_ceremony(ceremony).await?;
        let state = match expect {
            Expect::SecondFactor(_) => State::Allowed(
                taken.user_id.clone(),
                ceremony_state(&taken, CeremonyKind::SecondFactor)?,
            ),
            Expect::Login if taken.kind == CeremonyKind::Discoverable.as_str() => {
                State::Discoverable(ceremony_state(&taken, CeremonyKind::Discoverable)?)
            }
            Expect::Login => State::Allowed(
                taken.user_id.clone(),
                ceremony_state(&taken, CeremonyKind::Login)?,
            ),
        };
        let stored = if credential_id.len() <= 2048 {
            self.storage()
                .passkey_by_credential_id(&credential_id)
                .await?
        } else {
            None
        };
        let owner_of_ceremony = match &state {
            State::Allowed(owner, _) => owner.clone(),
            State::Discoverable(_) => None,
        };
        let Some(stored) = stored else {
            self.passkey_failure(
                owner_of_ceremony.as_deref(),
                client_id,
                ip,
                "unknown credential",
            )
            .await;
            return Err(REFUSED);
        };
        let expected_owner = match (expect, &state) {
            (Expect::SecondFactor(user), _) => Some(user.id.clone()),
            (Expect::Login, State::Allowed(owner, _)) => owner.clone(),
            (Expect::Login, State::Discoverable(_)) => Some(stored.user_id.clone()),
        };
        if expected_owner.as_deref() != Some(stored.user_id.as_str())
            || owner_of_ceremony
                .as_deref()
                .is_some_and(|owner| owner != stored.user_id)
        {
            self.passkey_failure(
                expected_owner.as_deref().or(Some(&stored.user_id)),
                client_id,
                ip,
                "credential of another account",
            )
            .await;
            return Err(REFUSED);
        }
        let Some(user) = self
            .storage()
            .user_by_id(&stored.user_id)
            .await?
            .filter(|u| !u.disabled)
        else {
            self.passkey_failure(Some(&stored.user_id), client_id, ip, "disabled account")
                .await;
            return Err(REFUSED);
        };
        // Counted before the check, given back on success: as passwords and codes.
        let attempt = self.inner.throttle.check(&user.username, ip).await?;
        let mut passkey: Passkey = serde_json::from_str(&stored.passkey)
            .map_err(|_| DomainError::Internal("a stored passkey does not parse"))?;
        let verified = match state {
            State::Allowed(_, PasskeyOrNothing::Passkey(state)) => {
                webauthn.finish_passkey_authentication(credential, &state)
            }
            State::Allowed(_, PasskeyOrNothing::Nothing) => Err(WebauthnError::CredentialNotFound),
            State::Discoverable(state) => {
                webauthn.finish_discoverable_authentication_v2(credential, state, &passkey)
            }
        };
        let result = match verified {
            Ok(result) if result.user_verified() => result,
            Ok(_) => {
                self.passkey_failure(Some(&user.id), client_id, ip, "user verification missing")
                    .await;
                return Err(REFUSED);
            }
            Err(error) => {
                self.passkey_failure(Some(&user.id), client_id, ip, failure_reason(&error))
                    .await;
                return Err(REFUSED);
            }
        };
        passkey.update_credential(&result);
        let serialised = serde_json::to_string(&passkey)
            .map_err(|_| DomainError::Internal("a passkey did not serialise"))?;
        let counter = i64::from(result.counter());
        if !self
            .storage()
            .use_passkey(
                &stored.id,
                &serialised,
                counter,
                result.backup_eligible(),
                now(),
            )
            .await?
        {
            // A racing assertion raised the counter to this value or past it first.
            self.passkey_failure(
                Some(&user.id),
                client_id,
                ip,
                "counter did not rise (possible clone)",
            )
            .await;
            return Err(REFUSED);
        }
        self.inner.throttle.refund(attempt).await;
        Ok(PasskeyAssertion {
            user,
            backup_eligible: result.backup_eligible(),
        })
    }

    /// Audits a sign-in made with a passkey alone (`login.success`, method named).
    pub async fn passkey_logged_in(
        &self,
        assertion: &PasskeyAssertion,
        client_id: &str,
        ip: Option<&str>,
    ) {
        super::accounts::count_login("success");
        self.audit(
            "login.success",
            "success",
            Some(&assertion.user.id),
            Some(client_id),
            ip,
            Some("passkey"),
        )
        .await;
    }
}

/// The state of a username-first or second-factor ceremony: a webauthn-rs state, or nothing
/// to allow (a name without passkeys).
#[derive(serde::Serialize, serde::Deserialize)]
enum PasskeyOrNothing {
    Passkey(PasskeyAuthentication),
    Nothing,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_domains_in_secure_contexts_are_relying_parties() {
        assert!(relying_party("https://id.example.com").is_ok());
        assert!(relying_party("https://id.example.com/tenant").is_ok());
        assert!(relying_party("http://localhost:8080").is_ok());
        assert!(relying_party("http://127.0.0.1:8080").is_err());
        assert!(relying_party("https://[::1]:8443").is_err());
        assert!(relying_party("https://192.0.2.1").is_err());
        assert!(relying_party("http://id.example.com").is_err());
        assert!(relying_party("not a url").is_err());
    }

    #[test]
    fn names_are_bounded() {
        assert_eq!(valid_name("  Laptop ").unwrap(), "Laptop");
        assert!(valid_name("").is_err());
        assert!(valid_name(&"é".repeat(64)).is_ok());
        assert!(valid_name(&"é".repeat(65)).is_err());
        assert!(valid_name("a\nb").is_err());
    }
}
