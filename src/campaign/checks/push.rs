//! `push:`: the vendor fields whose documented values the schema cannot state — images that
//! must be HTTPS, a field that needs another, a category outside the documented list.

use super::Checks;

/// The `HuaWeiCategory` values Huawei documents for self-classified messages.
const HUAWEI_CATEGORIES: [&str; 14] = [
    "IM",
    "VOIP",
    "SUBSCRIPTION",
    "TRAVEL",
    "HEALTH",
    "WORK",
    "ACCOUNT",
    "EXPRESS",
    "FINANCE",
    "DEVICE_REMINDER",
    "SYSTEM_REMINDER",
    "MAIL",
    "PLAY_VOICE",
    "MARKETING",
];

impl Checks<'_> {
    pub(super) fn push(&mut self) {
        let Some(push) = &self.campaign.push else {
            return;
        };
        if let Some(android) = &push.android {
            for (field, url) in [
                ("huawei_image", &android.huawei_image),
                ("honor_image", &android.honor_image),
            ] {
                if let Some(url) = url
                    && !url.starts_with("https://")
                {
                    self.error(
                        &format!("/push/android/{field}"),
                        format!("`{url}` is not an HTTPS URL"),
                        "Huawei and Honor show only images served over HTTPS (under 512 KB)",
                    );
                }
            }
            if let Some(category) = &android.huawei_category
                && !HUAWEI_CATEGORIES.contains(&category.as_str())
            {
                self.warning(
                    "/push/android/huawei_category",
                    format!("`{category}` is not a category Huawei documents"),
                    format!(
                        "Huawei may refuse an undocumented category or treat it as marketing; use one of: {}",
                        HUAWEI_CATEGORIES.join(", ")
                    ),
                );
            }
        }
        // What is sent, with `class` applied: the level needs a category from one or the other.
        if let Some(android) = push.android_settings()
            && android.oppo_notify_level.is_some()
            && android.oppo_category.is_none()
        {
            self.error(
                "/push/android/oppo_notify_level",
                "`oppo_notify_level` needs an OPPO category",
                "OPPO ignores the level without `OPPOCategory`: set `android.oppo_category` or `push.class`",
            );
        }
        if let Some(harmony) = &push.harmony
            && harmony.badge_add_num.is_some()
            && harmony.badge_set_num.is_some()
        {
            self.warning(
                "/push/harmony/badge_add_num",
                "`badge_add_num` is ignored when `badge_set_num` is set",
                "keep one: `badge_set_num` sets the badge, `badge_add_num` adds to it",
            );
        }
        if !push.enabled
            && (push.class.is_some()
                || push.android.is_some()
                || push.apns.is_some()
                || push.harmony.is_some())
        {
            self.warning(
                "/push/enabled",
                "the push is disabled, so its vendor settings have no effect",
                "`enabled: false` sends `PushFlag: 1` (no offline push); remove the settings or enable it",
            );
        }
    }
}
