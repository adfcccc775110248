//! The working memory of argon2, kept per thread and reused.
//!
//! argon2id at OWASP's parameters fills 19 MiB per hash. Allocating and freeing that on
//! every hash lets glibc's allocator, whose mmap threshold grows after the first large
//! free, keep the freed blocks in its arenas: a login storm was measured to leave the
//! server at ≈ 250 MiB RSS. Each hashing thread instead keeps one buffer the size its
//! hasher's parameters ask for, so memory stays at `threads × m_cost` whatever the load,
//! and no hash pays for zeroed pages. Larger stored hashes (a legacy import asking for
//! 64 MiB, say) get a buffer of their own that is freed at once.

use std::cell::RefCell;

use argon2::{Argon2, Block};

thread_local! {
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// `argon2.hash_password_into(password, salt, out)` on this thread's buffer, which is kept
/// for later calls when the hash needs at most `keep_blocks` blocks.
pub(super) fn hash_into(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    keep_blocks: usize,
) -> argon2::Result<()> {
    let needed = argon2.params().block_count();
    if needed > keep_blocks {
        let mut blocks = Vec::new();
        blocks
            .try_reserve_exact(needed)
            .map_err(|_| argon2::Error::OutOfMemory)?;
        blocks.resize(needed, Block::default());
        return argon2.hash_password_into_with_memory(password, salt, out, &mut blocks[..]);
    }
    BLOCKS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut blocks) => {
            let have = blocks.len();
            if have < needed {
                blocks
                    .try_reserve_exact(needed - have)
                    .map_err(|_| argon2::Error::OutOfMemory)?;
                blocks.resize(needed, Block::default());
            }
            // argon2 initialises every block it uses before reading it (RFC 9106 §3.2), so
            // what the previous hash left there never reaches this one.
            argon2.hash_password_into_with_memory(password, salt, out, &mut blocks[..needed])
        }
        // Unreachable (no re-entry while hashing), but never a panic on a login path.
        Err(_) => argon2.hash_password_into(password, salt, out),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{Algorithm, Params, Version};

    #[test]
    fn reused_memory_gives_the_rfc_9106_argon2id_vector() {
        // RFC 9106 §5.3 (argon2id, m=32 KiB, t=3, p=4, with secret and associated data).
        let params = argon2::ParamsBuilder::new()
            .m_cost(32)
            .t_cost(3)
            .p_cost(4)
            .data(argon2::AssociatedData::new(&[4; 12]).unwrap())
            .output_len(32)
            .build()
            .unwrap();
        let argon2 =
            Argon2::new_with_secret(&[3; 8], Algorithm::Argon2id, Version::V0x13, params).unwrap();
        let expected = [
            0x0d, 0x64, 0x0d, 0xf5, 0x8d, 0x78, 0x76, 0x6c, 0x08, 0xc0, 0x37, 0xa3, 0x4a, 0x8b,
            0x53, 0xc9, 0xd0, 0x1e, 0xf0, 0x45, 0x2d, 0x75, 0xb6, 0x5e, 0xb5, 0x25, 0x20, 0xe9,
            0x6b, 0x01, 0xe6, 0x59,
        ];
        // Twice on the same thread: the second run starts from the first one's leftovers.
        for _ in 0..2 {
            let mut out = [0u8; 32];
            hash_into(&argon2, &[1; 32], &[2; 16], &mut out, 1 << 20).unwrap();
            assert_eq!(out, expected);
        }
        // And through a buffer of its own.
        let mut out = [0u8; 32];
        hash_into(&argon2, &[1; 32], &[2; 16], &mut out, 0).unwrap();
        assert_eq!(out, expected);
        // A different, smaller hash on the now larger buffer.
        let small = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, Some(32)).unwrap(),
        );
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        hash_into(&small, b"pw", b"saltsalt", &mut a, 1 << 20).unwrap();
        small
            .hash_password_into(b"pw", b"saltsalt", &mut b)
            .unwrap();
        assert_eq!(a, b);
    }
}
