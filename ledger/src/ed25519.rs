//! The one definition of a valid statement signature, shared by single and
//! batch verification so that the two can never disagree.
//!
//! The log's rules decide which entries are valid, and the server (which
//! verifies batches) and the auditor (which may verify one at a time) must
//! decide identically. Ed25519 implementations differ exactly where that
//! matters: the *cofactorless* check `R == [s]B − [k]A` that
//! `verify_strict` uses, and a batch check over the same equation with random
//! weights, disagree on signatures whose `R` or key has a small torsion
//! component — the batch accepts such a signature with probability about 1/8,
//! so two honest verifiers of the same log could reach different verdicts.
//!
//! Here, as in ZIP 215, both checks are **cofactored**:
//!
//! - single: `[8]([s]B − R − [k]A) = 0`;
//! - batch: `[8](Σ zᵢ([sᵢ]B − Rᵢ − [kᵢ]Aᵢ)) = 0` with random 128-bit `zᵢ`,
//!
//! so a batch passes if and only if every member passes alone (up to a
//! 2⁻¹²⁸ chance for a forged batch). On top, the strict encoding checks stay:
//! `s` must be canonical (`s < ℓ`), `R` and `A` must decode to points, and
//! neither may be of small order. Every signature an honest Ed25519 signer
//! makes verifies under these rules and under `verify_strict` alike.
//!
//! The batch check groups the terms of each distinct key: `Σ zᵢkᵢAᵢ` is
//! computed as `Σ_A (Σ_{i: Aᵢ = A} zᵢkᵢ) A`, the same group element, so the
//! verdict is exactly the one of the ungrouped equation, while a batch whose
//! signatures come from a few keys (a log's usual case: a handful of officials
//! sign thousands of entries) costs about one multiscalar term per signature
//! instead of two.
//!
//! The weights `zᵢ` come from a random source the caller injects
//! ([`verify_decoded_batch_with`]): the operating system's generator in
//! production ([`verify_decoded_batch`]), a seeded one in tests, so that no
//! test's verdict depends on luck. The weights only need to be unpredictable
//! to whoever made the signatures, which a seeded generator in a test is
//! (the test's forgeries are fixed before the seed is used).

use std::collections::HashMap;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity as _, VartimeMultiscalarMul as _};
use ed25519_dalek::{Signature, VerifyingKey};
use rand_core::{CryptoRng, OsRng, RngCore};
use sha2::{Digest as _, Sha512};

/// A public key decoded once for the group equation and checked: not of
/// small order. A verifier that checks many signatures by one key checks
/// the key once.
#[derive(Clone, Copy, Debug)]
pub struct CheckedKey {
    a: EdwardsPoint,
    bytes: [u8; 32],
}

impl CheckedKey {
    /// `None` for a small-order key, under which no signature is valid.
    #[must_use]
    pub fn new(key: &VerifyingKey) -> Option<Self> {
        let a = key.to_edwards();
        (!a.is_small_order()).then(|| Self {
            a,
            bytes: key.to_bytes(),
        })
    }
}

/// A signature decoded for the group equation, its encodings checked: the
/// points `R` and `A` (the key), the scalars `s` and `k = H(R ‖ A ‖ M)`.
/// Decoding costs a point decompression and a hash, so a verifier that may
/// check a signature twice (in a batch, then alone after the batch failed)
/// decodes it once.
#[derive(Clone, Debug)]
pub struct Decoded {
    r: EdwardsPoint,
    a: EdwardsPoint,
    a_bytes: [u8; 32],
    s: Scalar,
    k: Scalar,
}

impl Decoded {
    /// Decodes and checks the encodings; `None` when the signature can never
    /// be valid (non-canonical `s`, `R` not a point, small-order `R` or key).
    #[must_use]
    pub fn new(key: &VerifyingKey, message: &[u8], signature: &Signature) -> Option<Self> {
        Self::with_key(&CheckedKey::new(key)?, message, signature)
    }

    /// [`Decoded::new`] with the key already checked.
    #[must_use]
    pub fn with_key(key: &CheckedKey, message: &[u8], signature: &Signature) -> Option<Self> {
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(*signature.s_bytes()))?;
        let r = CompressedEdwardsY(*signature.r_bytes()).decompress()?;
        if r.is_small_order() {
            return None;
        }
        let mut h = Sha512::new();
        h.update(signature.r_bytes());
        h.update(key.bytes);
        h.update(message);
        let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        Some(Self {
            r,
            a: key.a,
            a_bytes: key.bytes,
            s,
            k,
        })
    }

    /// Verifies this signature alone (cofactored): `[8]([s]B − R − [k]A) = 0`.
    #[must_use]
    pub fn verify(&self) -> bool {
        // [s]B − [k]A − R, then clear the cofactor.
        let sb_minus_ka =
            EdwardsPoint::vartime_double_scalar_mul_basepoint(&(-self.k), &self.a, &self.s);
        (sb_minus_ka - self.r).mul_by_cofactor().is_identity()
    }
}

/// Verifies one signature (cofactored, with strict encodings).
#[must_use]
pub fn verify(key: &VerifyingKey, message: &[u8], signature: &Signature) -> bool {
    Decoded::new(key, message, signature).is_some_and(|d| d.verify())
}

/// Verifies many `(key, message, signature)` triples at once: `true` if and
/// only if [`verify`] accepts every one of them (an empty batch is `true`).
/// Several times faster per signature than [`verify`] for large batches.
#[must_use]
pub fn verify_batch(items: &[(&VerifyingKey, &[u8], &Signature)]) -> bool {
    verify_batch_with(items, &mut OsRng)
}

/// [`verify_batch`] with the weights drawn from `rng` (see the module
/// documentation).
#[must_use]
pub fn verify_batch_with<R: RngCore + CryptoRng + ?Sized>(
    items: &[(&VerifyingKey, &[u8], &Signature)],
    rng: &mut R,
) -> bool {
    let mut decoded = Vec::with_capacity(items.len());
    for (key, message, signature) in items {
        match Decoded::new(key, message, signature) {
            Some(d) => decoded.push(d),
            None => return false,
        }
    }
    verify_decoded_batch_with(&decoded.iter().collect::<Vec<_>>(), rng)
}

/// Verifies decoded signatures at once: `true` if and only if
/// [`Decoded::verify`] accepts every one of them (up to a 2⁻¹²⁸ chance for a
/// forged batch; an empty batch is `true`). The equation is
/// `[8](Σ zᵢ([sᵢ]B − Rᵢ − [kᵢ]Aᵢ)) = 0` with fresh random 128-bit `zᵢ`, the
/// key terms grouped per distinct key (see the module documentation).
#[must_use]
pub fn verify_decoded_batch(items: &[&Decoded]) -> bool {
    verify_decoded_batch_with(items, &mut OsRng)
}

/// [`verify_decoded_batch`] with the weights drawn from `rng` (see the module
/// documentation).
#[must_use]
pub fn verify_decoded_batch_with<R: RngCore + CryptoRng + ?Sized>(
    items: &[&Decoded],
    rng: &mut R,
) -> bool {
    if items.is_empty() {
        return true;
    }
    let mut weights = vec![0u8; 16 * items.len()];
    rng.fill_bytes(&mut weights);
    let mut b = Scalar::ZERO;
    let mut scalars = Vec::with_capacity(1 + items.len() + 8);
    let mut points = Vec::with_capacity(1 + items.len() + 8);
    scalars.push(Scalar::ZERO); // the basepoint's coefficient, set below
    points.push(ED25519_BASEPOINT_POINT);
    // Each distinct key's coefficient Σ zᵢkᵢ, in order of first appearance.
    let mut key_index: HashMap<[u8; 32], usize> = HashMap::new();
    let mut key_weights: Vec<Scalar> = Vec::new();
    let mut key_points: Vec<EdwardsPoint> = Vec::new();
    for (p, z) in items.iter().zip(weights.chunks_exact(16)) {
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(z);
        let z = Scalar::from(u128::from_le_bytes(bytes));
        b += z * p.s;
        scalars.push(-z);
        points.push(p.r);
        let zk = z * p.k;
        let next = key_weights.len();
        let i = *key_index.entry(p.a_bytes).or_insert(next);
        if i == next {
            key_weights.push(zk);
            key_points.push(p.a);
        } else {
            key_weights[i] += zk;
        }
    }
    scalars[0] = b;
    scalars.extend(key_weights.iter().map(|w| -w));
    points.extend(key_points);
    EdwardsPoint::vartime_multiscalar_mul(&scalars, &points)
        .mul_by_cofactor()
        .is_identity()
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::EIGHT_TORSION;
    use ed25519_dalek::{Signer as _, SigningKey};
    use rand::SeedableRng as _;

    /// The batch weights of every test come from a fixed seed: no verdict
    /// below depends on luck.
    fn weights() -> rand::rngs::StdRng {
        rand::rngs::StdRng::seed_from_u64(0x6d69_6e68_6261_6368)
    }

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn honest_signatures_verify_alone_and_in_batches() {
        let keys: Vec<SigningKey> = (1..=20).map(key).collect();
        let messages: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i; usize::from(i) * 7]).collect();
        let sigs: Vec<Signature> = keys.iter().zip(&messages).map(|(k, m)| k.sign(m)).collect();
        let vks: Vec<VerifyingKey> = keys.iter().map(SigningKey::verifying_key).collect();
        for ((vk, m), s) in vks.iter().zip(&messages).zip(&sigs) {
            assert!(verify(vk, m, s));
            assert!(vk.verify_strict(m, s).is_ok());
        }
        let items: Vec<_> = vks
            .iter()
            .zip(&messages)
            .zip(&sigs)
            .map(|((k, m), s)| (k, m.as_slice(), s))
            .collect();
        assert!(verify_batch_with(&items, &mut weights()));
        assert!(verify_batch_with(&[], &mut weights()));
    }

    #[test]
    fn one_bad_signature_fails_the_batch_and_alone() {
        let keys: Vec<SigningKey> = (1..=8).map(key).collect();
        let m = b"statement".to_vec();
        let mut sigs: Vec<Signature> = keys.iter().map(|k| k.sign(&m)).collect();
        let mut bytes = sigs[5].to_bytes();
        bytes[40] ^= 1;
        sigs[5] = Signature::from_bytes(&bytes);
        let vks: Vec<VerifyingKey> = keys.iter().map(SigningKey::verifying_key).collect();
        assert!(!verify(&vks[5], &m, &sigs[5]));
        let items: Vec<_> = vks
            .iter()
            .zip(&sigs)
            .map(|(k, s)| (k, m.as_slice(), s))
            .collect();
        assert!(!verify_batch_with(&items, &mut weights()));
        // A signature under another message or key fails too.
        assert!(!verify(&vks[0], b"other", &sigs[0]));
        assert!(!verify(&vks[1], &m, &sigs[0]));
    }

    /// A signature whose `R` carries a torsion component: `verify_strict`
    /// rejects it; the cofactored rule accepts it, alone and in every batch,
    /// every time — the verdict never depends on the batch's random weights.
    #[test]
    fn torsioned_r_gets_the_same_verdict_alone_and_in_any_batch() {
        let sk = key(7);
        let vk = sk.verifying_key();
        let m = b"torsion".as_slice();
        // Build (R + T, s) with T of order 8: s = r + k·a where k is computed over
        // the *new* R, so sign by hand with the expanded secret.
        let digest = Sha512::digest(sk.as_bytes());
        let mut clamped = [0u8; 32];
        clamped.copy_from_slice(&digest[..32]);
        clamped[0] &= 248;
        clamped[31] &= 127;
        clamped[31] |= 64;
        let secret = Scalar::from_bytes_mod_order(clamped);
        let r_scalar = Scalar::from_bytes_mod_order([42; 32]);
        let r_point = ED25519_BASEPOINT_POINT * r_scalar + EIGHT_TORSION[1];
        let r_bytes = r_point.compress().to_bytes();
        let mut h = Sha512::new();
        h.update(r_bytes);
        h.update(vk.as_bytes());
        h.update(m);
        let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        let s = r_scalar + k * secret;
        let mut bytes = [0u8; 64];
        bytes[..32].copy_from_slice(&r_bytes);
        bytes[32..].copy_from_slice(s.as_bytes());
        let sig = Signature::from_bytes(&bytes);

        assert!(vk.verify_strict(m, &sig).is_err(), "strict rejects it");
        assert!(verify(&vk, m, &sig), "the cofactored rule accepts it");
        let honest = key(9);
        let honest_sig = honest.sign(m);
        let honest_vk = honest.verifying_key();
        // Also grouped with an honest signature by the same key.
        let same_key_sig = sk.sign(b"same key");
        // 64 draws of the weights from one seeded stream: a cofactorless
        // batch would refuse about 7 in 8 of them.
        let mut rng = weights();
        for _ in 0..64 {
            assert!(verify_batch_with(
                &[(&vk, m, &sig), (&honest_vk, m, &honest_sig)],
                &mut rng
            ));
            assert!(verify_batch_with(
                &[
                    (&vk, b"same key".as_slice(), &same_key_sig),
                    (&vk, m, &sig),
                    (&honest_vk, m, &honest_sig)
                ],
                &mut rng
            ));
        }
    }

    /// Many signatures by few keys (the grouped case): the batch accepts the
    /// honest ones and refuses a single bad signature wherever it sits, and a
    /// signature moved to another key's group.
    #[test]
    fn grouped_keys_accept_honest_batches_and_refuse_any_single_fault() {
        let keys: Vec<SigningKey> = (1..=3).map(key).collect();
        let vks: Vec<VerifyingKey> = keys.iter().map(SigningKey::verifying_key).collect();
        let messages: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 50 + usize::from(i)]).collect();
        let owner = |i: usize| if i.is_multiple_of(7) { 2 } else { i % 2 };
        let sigs: Vec<Signature> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| keys[owner(i)].sign(m))
            .collect();
        let decoded: Vec<Decoded> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| Decoded::new(&vks[owner(i)], m, &sigs[i]).unwrap())
            .collect();
        assert!(verify_decoded_batch_with(
            &decoded.iter().collect::<Vec<_>>(),
            &mut weights()
        ));
        for bad in 0..messages.len() {
            // A flipped bit of s (still canonical: the top bits are clear).
            let mut bytes = sigs[bad].to_bytes();
            bytes[40] ^= 1;
            let forged = Signature::from_bytes(&bytes);
            let mut batch = decoded.clone();
            batch[bad] = Decoded::new(&vks[owner(bad)], &messages[bad], &forged).unwrap();
            assert!(!batch[bad].verify());
            assert!(
                !verify_decoded_batch_with(&batch.iter().collect::<Vec<_>>(), &mut weights()),
                "{bad}"
            );
            // The right signature claimed by another key.
            let other = (owner(bad) + 1) % 3;
            let mut batch = decoded.clone();
            batch[bad] = Decoded::new(&vks[other], &messages[bad], &sigs[bad]).unwrap();
            assert!(
                !verify_decoded_batch_with(&batch.iter().collect::<Vec<_>>(), &mut weights()),
                "{bad}"
            );
        }
    }

    #[test]
    fn small_order_points_and_non_canonical_s_are_rejected() {
        let sk = key(3);
        let vk = sk.verifying_key();
        let m = b"m".as_slice();
        let sig = sk.sign(m);
        // s + ℓ: the same group element, a non-canonical encoding.
        let mut bytes = sig.to_bytes();
        let l = Scalar::ZERO - Scalar::ONE; // ℓ − 1
        let mut s_plus_l = [0u8; 32];
        let mut carry = 0u16;
        let s = sig.s_bytes();
        let l_bytes = l.to_bytes();
        for i in 0..32 {
            // (ℓ − 1) + 1 + s, byte by byte
            let add = u16::from(l_bytes[i]) + u16::from(s[i]) + carry + u16::from(i == 0);
            s_plus_l[i] = (add & 0xff) as u8;
            carry = add >> 8;
        }
        bytes[32..].copy_from_slice(&s_plus_l);
        let non_canonical = Signature::from_bytes(&bytes);
        assert!(!verify(&vk, m, &non_canonical));
        assert!(!verify_batch_with(
            &[(&vk, m, &non_canonical)],
            &mut weights()
        ));

        // A small-order R (the identity) never verifies.
        let mut bytes = sig.to_bytes();
        bytes[..32].copy_from_slice(&EdwardsPoint::default().compress().to_bytes());
        let small_r = Signature::from_bytes(&bytes);
        assert!(!verify(&vk, m, &small_r));
        assert!(!verify_batch_with(&[(&vk, m, &small_r)], &mut weights()));

        // A small-order key never verifies, whatever the signature.
        let weak = VerifyingKey::from_bytes(&EIGHT_TORSION[1].compress().to_bytes())
            .expect("a torsion point decodes");
        assert!(!verify(&weak, m, &sig));
        assert!(!verify_batch_with(&[(&weak, m, &sig)], &mut weights()));
    }
}
