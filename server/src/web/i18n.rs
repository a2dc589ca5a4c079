//! The explorer's two languages: Vietnamese (the default) and English. Each
//! phrase is written where it is used, as `lang.pick("tiếng Việt", "English")`;
//! the names of the ledger's codes (causes, categories, roles, statement
//! types) are here.

use minhbach_ledger::statement::{
    BeneficiaryCategory, CauseKind, Channel, FeedbackCategory, Role, StatementKind,
};

/// A page's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    /// English.
    En,
    /// Vietnamese.
    Vi,
}

impl Lang {
    /// `vi` in Vietnamese, `en` in English.
    #[must_use]
    pub(crate) fn pick(self, vi: &'static str, en: &'static str) -> &'static str {
        match self {
            Self::Vi => vi,
            Self::En => en,
        }
    }

    /// The BCP 47 code (`lang` attribute, `?lang=`, the cookie).
    #[must_use]
    pub(crate) fn code(self) -> &'static str {
        self.pick("vi", "en")
    }

    /// Parses `vi` or `en`.
    #[must_use]
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "vi" => Some(Self::Vi),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The other language.
    #[must_use]
    pub(crate) fn other(self) -> Self {
        self.pick_lang(Self::En, Self::Vi)
    }

    fn pick_lang(self, vi: Self, en: Self) -> Self {
        match self {
            Self::Vi => vi,
            Self::En => en,
        }
    }

    /// The name of the language, in itself (for the switch).
    #[must_use]
    pub(crate) fn name(self) -> &'static str {
        self.pick("Tiếng Việt", "English")
    }

    /// A cause of a campaign.
    #[must_use]
    pub(crate) fn cause(self, k: CauseKind) -> &'static str {
        match k {
            CauseKind::ColdSpell => self.pick("Rét đậm, rét hại", "Cold spell"),
            CauseKind::Drought => self.pick("Hạn hán", "Drought"),
            CauseKind::Epidemic => self.pick("Dịch bệnh", "Epidemic"),
            CauseKind::Fire => self.pick("Hỏa hoạn", "Fire"),
            CauseKind::Flood => self.pick("Lũ lụt", "Flood"),
            CauseKind::Landslide => self.pick("Sạt lở đất", "Landslide"),
            CauseKind::Poverty => self.pick("Hỗ trợ hộ nghèo", "Poverty support"),
            CauseKind::Salinity => self.pick("Xâm nhập mặn", "Saltwater intrusion"),
            CauseKind::Typhoon => self.pick("Bão", "Typhoon"),
            _ => self.pick("Khác", "Other"),
        }
    }

    /// A beneficiary category.
    #[must_use]
    pub(crate) fn beneficiary(self, c: BeneficiaryCategory) -> &'static str {
        match c {
            BeneficiaryCategory::Disabled => self.pick("Người khuyết tật", "Disabled"),
            BeneficiaryCategory::DisasterAffected => {
                self.pick("Hộ bị thiệt hại do thiên tai", "Disaster-affected")
            }
            BeneficiaryCategory::ElderlyAlone => {
                self.pick("Người cao tuổi neo đơn", "Elderly, alone")
            }
            BeneficiaryCategory::NearPoorHousehold => {
                self.pick("Hộ cận nghèo", "Near-poor household")
            }
            BeneficiaryCategory::Orphan => self.pick("Trẻ mồ côi", "Orphan"),
            BeneficiaryCategory::PoorHousehold => self.pick("Hộ nghèo", "Poor household"),
            _ => self.pick("Khác", "Other"),
        }
    }

    /// A feedback category.
    #[must_use]
    pub(crate) fn feedback(self, c: FeedbackCategory) -> &'static str {
        match c {
            FeedbackCategory::Complaint => self.pick("Khiếu nại", "Complaint"),
            FeedbackCategory::Correction => self.pick("Đề nghị đính chính", "Correction"),
            FeedbackCategory::FraudReport => self.pick("Tố giác gian lận, lừa đảo", "Fraud report"),
            FeedbackCategory::Question => self.pick("Câu hỏi", "Question"),
            FeedbackCategory::Request => self.pick("Đề nghị hỗ trợ", "Request for support"),
            _ => self.pick("Khác", "Other"),
        }
    }

    /// A signer's role.
    #[must_use]
    pub(crate) fn role(self, r: Role) -> &'static str {
        match r {
            Role::Approver => self.pick("phê duyệt chi", "approver"),
            Role::Field => self.pick("cán bộ cơ sở", "field officer"),
            Role::Governance => self.pick("quản trị", "governance"),
            Role::Intake => self.pick("tiếp nhận", "intake"),
            _ => self.pick("khác", "other"),
        }
    }

    /// A donation channel.
    #[must_use]
    pub(crate) fn channel(self, c: Channel) -> &'static str {
        match c {
            Channel::Bank => self.pick("chuyển khoản", "bank transfer"),
            Channel::Cash => self.pick("tiền mặt", "cash"),
            Channel::EWallet => self.pick("ví điện tử", "e-wallet"),
            Channel::InKind => self.pick("hiện vật", "in kind"),
            _ => self.pick("khác", "other"),
        }
    }

    /// A statement type.
    #[must_use]
    pub(crate) fn kind(self, k: StatementKind) -> &'static str {
        match k {
            StatementKind::AccountBalance => self.pick("Số dư ngân hàng", "Bank balance"),
            StatementKind::AccountClose => self.pick("Đóng tài khoản", "Account closed"),
            StatementKind::AccountRegister => {
                self.pick("Đăng ký tài khoản nhận", "Receiving account registered")
            }
            StatementKind::Acknowledgment => self.pick("Xác nhận đã nhận", "Acknowledgment"),
            StatementKind::BeneficiaryEnroll => {
                self.pick("Ghi danh người thụ hưởng", "Beneficiary enrolled")
            }
            StatementKind::BeneficiaryUpdate => {
                self.pick("Cập nhật người thụ hưởng", "Beneficiary updated")
            }
            StatementKind::CampaignClose => self.pick("Kết thúc cuộc vận động", "Campaign closed"),
            StatementKind::CampaignOpen => self.pick("Mở cuộc vận động", "Campaign opened"),
            StatementKind::CampaignUpdate => {
                self.pick("Cập nhật cuộc vận động", "Campaign updated")
            }
            StatementKind::Disbursement => self.pick("Chi hỗ trợ", "Disbursement"),
            StatementKind::Donation => self.pick("Ủng hộ", "Donation"),
            StatementKind::FeedbackOpen => self.pick("Phản ánh", "Feedback received"),
            StatementKind::FeedbackResolve => self.pick("Trả lời phản ánh", "Feedback resolved"),
            StatementKind::Genesis => self.pick("Khởi tạo sổ", "Genesis"),
            StatementKind::KeyGrant => self.pick("Cấp khóa ký", "Key granted"),
            StatementKind::KeyRevoke => self.pick("Thu hồi khóa ký", "Key revoked"),
            StatementKind::Reversal => self.pick("Hủy bút toán", "Reversal"),
            StatementKind::Transfer => self.pick("Điều chuyển", "Transfer"),
            _ => self.pick("Khác", "Other"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_switch() {
        for l in [Lang::Vi, Lang::En] {
            assert_eq!(Lang::parse(l.code()), Some(l));
            assert_eq!(l.other().other(), l);
            assert_ne!(l.other(), l);
        }
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::Vi.pick("Ủng hộ", "Donation"), "Ủng hộ");
        assert_eq!(Lang::En.kind(StatementKind::Donation), "Donation");
    }

    #[test]
    fn every_statement_type_has_a_name_in_both_languages() {
        for k in StatementKind::ALL {
            assert_ne!(Lang::Vi.kind(k), "Khác", "{k:?}");
            assert_ne!(Lang::En.kind(k), "Other", "{k:?}");
        }
    }
}
