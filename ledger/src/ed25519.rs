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

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity as _, VartimeMultiscalarMul as _};
use ed25519_dalek::{Signature, VerifyingKey};
use rand_core::{OsRng, RngCore as _};
use sha2::{Digest as _, Sha512};

/// A signature prepared for the group equation: the decoded points and the
/// scalars `s` and `k = H(R ‖ A ‖ M)`.
struct Prepared {
    r: EdwardsPoint,
    a: EdwardsPoint,
    s: Scalar,
    k: Scalar,
}

/// Decodes and checks the encodings; `None` when the signature can never be
/// valid (non-canonical `s`, `R` not a point, small-order `R` or key).
fn prepare(key: &VerifyingKey, message: &[u8], signature: &Signature) -> Option<Prepared> {
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(*signature.s_bytes()))?;
    let r = CompressedEdwardsY(*signature.r_bytes()).decompress()?;
    let a = key.to_edwards();
    if r.is_small_order() || a.is_small_order() {
        return None;
    }
    let mut h = Sha512::new();
    h.update(signature.r_bytes());
    h.update(key.as_bytes());
    h.update(message);
    let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
    Some(Prepared { r, a, s, k })
}

/// Verifies one signature (cofactored, with strict encodings).
#[must_use]
pub fn verify(key: &VerifyingKey, message: &[u8], signature: &Signature) -> bool {
    let Some(p) = prepare(key, message, signature) else {
        return false;
    };
    // [s]B − [k]A − R, then clear the cofactor.
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&(-p.k), &p.a, &p.s);
    (sb_minus_ka - p.r).mul_by_cofactor().is_identity()
}

/// Verifies many `(key, message, signature)` triples at once: `true` if and
/// only if [`verify`] accepts every one of them (an empty batch is `true`).
/// About twice as fast per signature as [`verify`] for large batches.
#[must_use]
pub fn verify_batch(items: &[(&VerifyingKey, &[u8], &Signature)]) -> bool {
    let mut prepared = Vec::with_capacity(items.len());
    for (key, message, signature) in items {
        match prepare(key, message, signature) {
            Some(p) => prepared.push(p),
            None => return false,
        }
    }
    if prepared.is_empty() {
        return true;
    }
    let mut b = Scalar::ZERO;
    let mut scalars = Vec::with_capacity(1 + 2 * prepared.len());
    let mut points = Vec::with_capacity(1 + 2 * prepared.len());
    scalars.push(Scalar::ZERO); // the basepoint's coefficient, set below
    points.push(ED25519_BASEPOINT_POINT);
    for p in &prepared {
        let mut z = [0u8; 16];
        OsRng.fill_bytes(&mut z);
        let z = Scalar::from(u128::from_le_bytes(z));
        b += z * p.s;
        scalars.push(-z);
        points.push(p.r);
        scalars.push(-(z * p.k));
        points.push(p.a);
    }
    scalars[0] = b;
    EdwardsPoint::vartime_multiscalar_mul(&scalars, &points)
        .mul_by_cofactor()
        .is_identity()
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::EIGHT_TORSION;
    use ed25519_dalek::{Signer as _, SigningKey};

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
        assert!(verify_batch(&items));
        assert!(verify_batch(&[]));
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
        assert!(!verify_batch(&items));
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
        for _ in 0..64 {
            assert!(verify_batch(&[
                (&vk, m, &sig),
                (&honest_vk, m, &honest_sig)
            ]));
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
        assert!(!verify_batch(&[(&vk, m, &non_canonical)]));

        // A small-order R (the identity) never verifies.
        let mut bytes = sig.to_bytes();
        bytes[..32].copy_from_slice(&EdwardsPoint::default().compress().to_bytes());
        let small_r = Signature::from_bytes(&bytes);
        assert!(!verify(&vk, m, &small_r));
        assert!(!verify_batch(&[(&vk, m, &small_r)]));

        // A small-order key never verifies, whatever the signature.
        let weak = VerifyingKey::from_bytes(&EIGHT_TORSION[1].compress().to_bytes())
            .expect("a torsion point decodes");
        assert!(!verify(&weak, m, &sig));
        assert!(!verify_batch(&[(&weak, m, &sig)]));
    }
}
