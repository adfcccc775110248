//! Password hashing: argon2id, legacy bcrypt, and a bounded hashing pool.
