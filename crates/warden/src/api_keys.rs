//! API keys: a recognisable format with a public identifier and a 256-bit secret, stored hashed.
