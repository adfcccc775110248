//! A user's linked upstream identities: listing them, and unlinking one — never the last
//! way the account has to sign in.

use crate::domain::{DomainError, Warden, has_usable_password};
use crate::storage::{LinkedIdentity, Storage, User};

use super::valid_slug;

impl<S: Storage> Warden<S> {
    /// The identities linked to `user`, by provider id.
    pub async fn identities(&self, user: &User) -> Result<Vec<LinkedIdentity>, DomainError> {
        Ok(self.storage().identities_of_user(&user.id).await?)
    }

    /// Unlinks `user`'s identity at `provider_id`, on behalf of `by` (`None`: the user
    /// themselves, or the operator at the CLI). [`DomainError::NotFound`] when there is
    /// none; [`DomainError::LastSignInMethod`] when it is the account's only way to sign in
    /// (no usable password, no passkey, no other identity). Audited.
    pub async fn unlink_identity(
        &self,
        user: &User,
        provider_id: &str,
        by: Option<&User>,
    ) -> Result<(), DomainError> {
        if !valid_slug(provider_id) {
            return Err(DomainError::NotFound);
        }
        let other_ways =
            has_usable_password(user) || self.storage().count_passkeys(&user.id).await? > 0;
        if other_ways {
            if !self
                .storage()
                .unlink_identity(provider_id, &user.id)
                .await?
            {
                return Err(DomainError::NotFound);
            }
        } else {
            // Only another identity is left to sign in with: checked and unlinked in one
            // step, so two concurrent unlinks never take away both of the last two.
            match self
                .storage()
                .unlink_identity_unless_last(provider_id, &user.id)
                .await?
            {
                Some(true) => {}
                Some(false) => return Err(DomainError::LastSignInMethod),
                None => return Err(DomainError::NotFound),
            }
        }
        let actor = by.map_or(user.id.as_str(), |admin| admin.id.as_str());
        let detail = format!("user {}: provider {provider_id}", user.id);
        self.audit(
            "identity.unlinked",
            "success",
            Some(actor),
            None,
            None,
            Some(&detail),
        )
        .await;
        Ok(())
    }
}
