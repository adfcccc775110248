// Warden's passkey script: the one script of the login pages, loaded by <script src> on the
// pages that offer a passkey (their policy: script-src 'self'; connect-src 'self').
//
// It shows the page's passkey form (hidden without JavaScript), asks the server for a
// ceremony (POST the form's fields to its data-start URL: JSON options back, the ceremony's
// id in an HttpOnly cookie), runs navigator.credentials.get (or .create, to set one up where
// a second factor must be enrolled), puts the credential's JSON in the form and submits it. On the login page it also offers the passkeys of this site as
// autofill of the username field (conditional mediation) where the browser can.
'use strict';
(function () {
  const form = document.getElementById('passkey-form');
  if (!form || !window.PublicKeyCredential || !navigator.credentials) {
    return;
  }
  const button = document.getElementById('passkey-button');
  const message = document.getElementById('passkey-error');
  let pending = null; // the AbortController of a running conditional request

  // base64url <-> ArrayBuffer, for browsers without the JSON helpers.
  function toBuffer(text) {
    const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64 + '==='.slice((base64.length + 3) % 4));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }
  function toText(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = '';
    for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function requestOptions(json) {
    if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function') {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    const options = Object.assign({}, json, { challenge: toBuffer(json.challenge) });
    options.allowCredentials = (json.allowCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: toBuffer(c.id) });
    });
    return options;
  }

  function creationOptions(json) {
    if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function') {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    const options = Object.assign({}, json, {
      challenge: toBuffer(json.challenge),
      user: Object.assign({}, json.user, { id: toBuffer(json.user.id) }),
    });
    options.excludeCredentials = (json.excludeCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: toBuffer(c.id) });
    });
    return options;
  }

  function credentialJSON(credential) {
    if (typeof credential.toJSON === 'function') {
      return credential.toJSON();
    }
    const response = credential.response;
    if (response.attestationObject) {
      return {
        id: credential.id,
        rawId: toText(credential.rawId),
        type: credential.type,
        response: {
          clientDataJSON: toText(response.clientDataJSON),
          attestationObject: toText(response.attestationObject),
          transports: typeof response.getTransports === 'function' ? response.getTransports() : [],
        },
        clientExtensionResults: credential.getClientExtensionResults(),
      };
    }
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toText(response.clientDataJSON),
        authenticatorData: toText(response.authenticatorData),
        signature: toText(response.signature),
        userHandle: response.userHandle ? toText(response.userHandle) : null,
      },
      clientExtensionResults: credential.getClientExtensionResults(),
    };
  }

  function fail(text) {
    message.textContent = text;
    message.hidden = false;
    button.disabled = false;
  }

  // The form's fields, for the start request (the credential is not known yet).
  function startBody(purpose) {
    const body = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (name !== 'credential' && name !== 'purpose' && name !== 'username') {
        body.append(name, value);
      }
    }
    body.append('purpose', purpose);
    if (purpose === 'login') {
      const typed = document.getElementById('username');
      if (typed && typed.value) body.append('username', typed.value);
    }
    return body;
  }

  async function ceremony(purpose, signal) {
    const started = await fetch(form.dataset.start, {
      method: 'POST',
      body: startBody(purpose),
      credentials: 'same-origin',
      signal: signal,
      headers: { Accept: 'application/json' },
    });
    if (!started.ok) {
      throw new Error('start');
    }
    const options = await started.json();
    let credential;
    if (purpose === 'register') {
      credential = await navigator.credentials.create({ publicKey: creationOptions(options.publicKey) });
    } else {
      const request = { publicKey: requestOptions(options.publicKey) };
      if (options.mediation === 'conditional') request.mediation = 'conditional';
      if (signal) request.signal = signal;
      credential = await navigator.credentials.get(request);
    }
    form.elements.credential.value = JSON.stringify(credentialJSON(credential));
    if (form.elements.username) {
      const typed = document.getElementById('username');
      form.elements.username.value = typed ? typed.value : '';
    }
    form.submit();
  }

  button.addEventListener('click', function () {
    if (pending) {
      pending.abort();
      pending = null;
    }
    message.hidden = true;
    button.disabled = true;
    const purpose = ['login', 'register'].includes(form.dataset.purpose) ? form.dataset.purpose : 'second-factor';
    ceremony(purpose).catch(function () {
      fail(purpose === 'register'
        ? 'The passkey was not set up. Try again, or use an authenticator app.'
        : 'The passkey did not sign in. Try again, or use another way.');
    });
  });

  form.hidden = false;

  // Autofill: the passkeys of this site offered in the username field, where supported.
  if (form.dataset.purpose === 'login' &&
      typeof PublicKeyCredential.isConditionalMediationAvailable === 'function') {
    PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
      if (!available || pending) return;
      pending = new AbortController();
      ceremony('conditional', pending.signal).catch(function () { /* aborted or dismissed */ });
    });
  }
})();
