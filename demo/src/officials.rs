//! The demo officials: who they are, and their keys.

use ed25519_dalek::SigningKey;
use minhbach_ledger::envelope::{Envelope, EnvelopeError, STATEMENT_PAYLOAD_TYPE};

use crate::ORIGIN;

/// The role an official holds in the demo: the core's.
pub use minhbach_ledger::statement::Role;

/// One demo official.
#[derive(Debug)]
#[non_exhaustive]
pub struct Official {
    /// The official's id (and key file name).
    pub id: &'static str,
    /// The name in the key grant.
    pub name: &'static str,
    /// The title in the key grant.
    pub title: &'static str,
    /// The one role granted.
    pub role: Role,
    /// The region scope (field officers only).
    pub regions: &'static [&'static str],
}

/// Every demo official, governance first.
pub const OFFICIALS: &[Official] = &[
    Official {
        id: "governance-1",
        name: "Nguyễn Thị Hồng",
        title: "Phó Chủ tịch Ủy ban Trung ương MTTQ Việt Nam",
        role: Role::Governance,
        regions: &[],
    },
    Official {
        id: "governance-2",
        name: "Lê Văn Minh",
        title: "Trưởng Ban Kiểm tra Ủy ban Trung ương MTTQ Việt Nam",
        role: Role::Governance,
        regions: &[],
    },
    Official {
        id: "governance-3",
        name: "Hoàng Văn Thái",
        title: "Ủy viên Ban Thường trực Ủy ban Trung ương MTTQ Việt Nam",
        role: Role::Governance,
        regions: &[],
    },
    Official {
        id: "intake-1",
        name: "Trần Thu Hà",
        title: "Kế toán Ban Vận động Cứu trợ Trung ương",
        role: Role::Intake,
        regions: &[],
    },
    Official {
        id: "approver-1",
        name: "Phạm Quốc Bảo",
        title: "Trưởng Ban Vận động Cứu trợ Trung ương",
        role: Role::Approver,
        regions: &[],
    },
    Official {
        id: "approver-2",
        name: "Đỗ Thị Lan",
        title: "Phó Trưởng Ban Vận động Cứu trợ Trung ương",
        role: Role::Approver,
        regions: &[],
    },
    Official {
        id: "approver-3",
        name: "Vương Đình Huệ",
        title: "Ủy viên Ban Vận động Cứu trợ Trung ương",
        role: Role::Approver,
        regions: &[],
    },
    Official {
        id: "field-north",
        name: "Lò Văn Sình",
        title: "Cán bộ MTTQ tỉnh Lào Cai và Thái Nguyên",
        role: Role::Field,
        regions: &["15", "19"],
    },
    Official {
        id: "field-central",
        name: "Trần Thị Diệu",
        title: "Cán bộ MTTQ thành phố Huế và Đà Nẵng",
        role: Role::Field,
        regions: &["46", "48"],
    },
];

/// The demo officials with their keys.
pub struct Officials {
    keys: Vec<(&'static Official, SigningKey)>,
}

impl std::fmt::Debug for Officials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys.
        f.debug_list()
            .entries(self.keys.iter().map(|(o, _)| o.id))
            .finish()
    }
}

impl Officials {
    /// Every official of [`OFFICIALS`] with the key `key` gives for its id
    /// and the comment to store with it (`<id>@<origin>`), e.g. a key loaded
    /// from, or created in, a data directory.
    ///
    /// # Errors
    /// The first error of `key`.
    pub fn load_with<E>(
        mut key: impl FnMut(&str, &str) -> Result<SigningKey, E>,
    ) -> Result<Self, E> {
        let keys = OFFICIALS
            .iter()
            .map(|official| {
                let comment = format!("{}@{ORIGIN}", official.id);
                key(official.id, &comment).map(|key| (official, key))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { keys })
    }

    /// The key of the official `id`.
    ///
    /// # Panics
    /// If `id` is not one of [`OFFICIALS`]: the demo names only those.
    #[must_use]
    pub fn key(&self, id: &str) -> &SigningKey {
        self.keys
            .iter()
            .find(|(o, _)| o.id == id)
            .map(|(_, k)| k)
            .expect("the demo names only officials of OFFICIALS")
    }

    /// Signs `payload` with the keys of `ids`, in order.
    ///
    /// # Errors
    /// An [`EnvelopeError`] if a signature cannot be added.
    pub fn sign(&self, ids: &[&str], payload: Vec<u8>) -> Result<Envelope, EnvelopeError> {
        let mut envelope = Envelope::sign(STATEMENT_PAYLOAD_TYPE, payload, self.key(ids[0]));
        for id in &ids[1..] {
            envelope.add_signature(self.key(id))?;
        }
        Ok(envelope)
    }
}
