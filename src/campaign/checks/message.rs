//! The sender, chatbot streaming and the message elements: what each may hold and how they
//! combine.

use crate::campaign::model::MessageElement;

use super::{Checks, MAX_USER_ID_BYTES};

impl Checks<'_> {
    pub(super) fn sender_and_stream(&mut self) {
        let campaign = self.campaign;
        let official = campaign.audience.official_account.is_some();
        if let Some(sender) = &campaign.sender {
            if official {
                self.error(
                    "/sender",
                    "an official account's message has no `sender`",
                    "the official account itself sends to its subscribers: remove `sender`",
                );
            } else if sender.is_empty() {
                self.error(
                    "/sender",
                    "`sender` is empty",
                    "name the sending UserID, or remove `sender` to send as the app admin",
                );
            } else if sender.len() > MAX_USER_ID_BYTES {
                self.error(
                    "/sender",
                    format!("`{sender}` is {} bytes long", sender.len()),
                    format!("UserIDs are at most {MAX_USER_ID_BYTES} bytes"),
                );
            } else if sender.starts_with("@TOA#") {
                self.error(
                    "/sender",
                    format!("`{sender}` is an official account, which cannot send one-to-one messages"),
                    "to reach an official account's subscribers, use `audience: { official_account: \"...\" }` and no sender",
                );
            } else if sender == "@RBT#" {
                self.error(
                    "/sender",
                    "`@RBT#` names no chatbot",
                    "chatbot IDs are `@RBT#` followed by the bot's name, e.g. \"@RBT#deals_bot\"",
                );
            } else if sender.chars().any(char::is_whitespace) {
                self.error(
                    "/sender",
                    format!("`{sender}` contains white space"),
                    "UserIDs are letters, digits, `_` and `-` (chatbots start with `@RBT#`)",
                );
            }
        }
        let Some(stream) = &campaign.stream else {
            return;
        };
        let robot = campaign
            .sender
            .as_deref()
            .is_some_and(|s| s.starts_with("@RBT#") && s.len() > 5);
        if official {
            self.error(
                "/stream",
                "`stream` does not work with an official account",
                "streaming (send_stream_msg) is a chatbot sending to one user: use a CSV audience and a `@RBT#` sender",
            );
        } else if !robot {
            self.error(
                "/stream",
                "`stream` needs a chatbot sender",
                "send_stream_msg sends as a chatbot: set `sender: \"@RBT#your_bot\"` (see `timcast robots`)",
            );
        }
        if stream.chunk_chars == 0 {
            self.error(
                "/stream/chunk_chars",
                "`chunk_chars` must be at least 1",
                "40 characters a chunk reads like typing",
            );
        }
        for (index, element) in campaign.message.iter().enumerate() {
            if !matches!(
                element,
                MessageElement::Text(_) | MessageElement::TextFile(_)
            ) {
                self.error(
                    &format!("/message/{index}/{}", element.kind()),
                    format!("a streamed message can only hold text, not `{}`", element.kind()),
                    "send_stream_msg sends text chunks: keep `text` and `text_file` elements, or remove `stream`",
                );
            }
        }
        if campaign.push.is_some() {
            self.warning(
                "/push",
                "`push` is ignored for a streamed message",
                "send_stream_msg has no OfflinePushInfo; remove `push` or `stream`",
            );
        }
    }

    pub(super) fn elements(&mut self) {
        let message = &self.campaign.message;
        if message.is_empty() {
            self.error(
                "/message",
                "the message is empty",
                "add at least one element, e.g. `- text: \"Hello {{first_name}}\"`",
            );
        }
        let mut customs = 0;
        for (index, element) in message.iter().enumerate() {
            let at = |field: &str| format!("/message/{index}/{}/{field}", element.kind());
            match element {
                MessageElement::Custom(_) => {
                    customs += 1;
                    if customs == 2 {
                        self.error(
                            &format!("/message/{index}"),
                            "a message can hold only one `custom` element",
                            "merge the custom data into one element",
                        );
                    }
                }
                MessageElement::Location(l) => {
                    if !(-90.0..=90.0).contains(&l.latitude) {
                        self.error(
                            &at("latitude"),
                            format!("latitude {} is outside -90..90", l.latitude),
                            "latitude is degrees north",
                        );
                    }
                    if !(-180.0..=180.0).contains(&l.longitude) {
                        self.error(
                            &at("longitude"),
                            format!("longitude {} is outside -180..180", l.longitude),
                            "longitude is degrees east",
                        );
                    }
                }
                MessageElement::Image(i) => {
                    self.url(&at("url"), &i.url);
                    if i.width == 0 || i.height == 0 {
                        self.error(
                            &format!("/message/{index}/image"),
                            "an image needs its width and height in pixels",
                            "the API requires Width and Height for each image size",
                        );
                    }
                }
                MessageElement::Sound(s) => self.url(&at("url"), &s.url),
                MessageElement::File(f) => self.url(&at("url"), &f.url),
                MessageElement::Video(v) => {
                    self.url(&at("url"), &v.url);
                    self.url(
                        &format!("/message/{index}/video/thumbnail/url"),
                        &v.thumbnail.url,
                    );
                }
                MessageElement::Text(_) | MessageElement::TextFile(_) | MessageElement::Face(_) => {
                }
            }
        }
    }

    fn url(&mut self, pointer: &str, url: &str) {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            self.error(
                pointer,
                format!("`{url}` is not a URL"),
                "media must already be hosted: give its http(s) URL",
            );
        }
    }
}
