//! Rendering a campaign for one recipient: the message elements, push text and custom data
//! of the campaign file, compiled once with the [`crate::template`] registry, filled from a
//! CSV row. Plain `{{name}}` templates render by concatenation.

use handlebars::template::{Parameter, Template, TemplateElement};
use handlebars::{Handlebars, JsonValue, Path, PathSeg};
use serde_json::Map;
use sha2::{Digest, Sha256};

use crate::campaign::model::{self as file, MessageElement};
use crate::campaign::{LoadedCampaign, template_name};
use crate::im::types as api;
use crate::template::{BUILTIN_HELPERS, CAMPAIGN_HELPERS, registry};

mod floor;

/// A failure to render one recipient's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub(crate) struct RenderFailure {
    /// Where the template sits in the campaign, e.g. `message[0].text` or `push.desc`.
    pub field: String,
    pub message: String,
}

/// The per-recipient part of a message: everything templates produce.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RenderedMessage {
    pub body: Vec<api::MsgElement>,
    pub cloud_custom_data: Option<String>,
    pub push: Option<api::OfflinePushInfo>,
}

/// Problems setting up the renderer (templates were validated, so these are rare).
#[derive(Debug, thiserror::Error)]
pub enum RendererError {
    #[error("template {field} does not compile: {source}")]
    Compile {
        field: String,
        #[source]
        source: Box<handlebars::TemplateError>,
    },
    #[error("cannot read template {path}: {message}")]
    File { path: String, message: String },
}

/// One template slot: a registered template, or text with no `{{` that needs no rendering.
#[derive(Debug, Clone)]
enum Slot {
    Static(String),
    /// Only text and plain `{{variable}}`s: rendered by concatenation, no Handlebars context.
    Simple(Vec<Piece>),
    Template {
        name: String,
    },
}

/// A piece of a simple template.
#[derive(Debug, Clone)]
enum Piece {
    Raw(String),
    /// The recipient's CSV field at this index.
    Column(usize),
    /// A campaign variable, rendered once.
    Const(String),
}

#[derive(Debug, Clone)]
enum ElementPlan {
    Text(Slot),
    Custom {
        data: Slot,
        desc: Option<Slot>,
        ext: Option<Slot>,
        sound: Option<String>,
    },
    Face {
        index: i64,
        data: Slot,
    },
    Location {
        desc: Slot,
        latitude: f64,
        longitude: f64,
    },
    Fixed(api::MsgElement),
}

#[derive(Debug, Clone)]
struct PushPlan {
    base: api::OfflinePushInfo,
    title: Option<Slot>,
    desc: Option<Slot>,
    ext: Option<Slot>,
    apns_title: Option<Slot>,
    apns_subtitle: Option<Slot>,
}

/// What one flavour of a campaign sends (the default message, a variant, a locale): its
/// variables, and its message, push and custom data with where each sits in the campaign
/// file (a JSON pointer prefix: `""`, `/variants/1`, `/locales/zh`).
#[derive(Debug, Clone)]
pub(crate) struct Content<'a> {
    pub vars: std::collections::BTreeMap<String, JsonValue>,
    pub message: &'a [MessageElement],
    pub message_at: String,
    pub push: Option<&'a file::Push>,
    pub push_at: String,
    pub cloud_custom_data: Option<&'a str>,
    pub ccd_at: String,
}

impl<'a> Content<'a> {
    /// The campaign's own message, push and custom data.
    pub(crate) fn of_campaign(campaign: &'a file::Campaign) -> Content<'a> {
        Content {
            vars: campaign.vars.clone(),
            message: &campaign.message,
            message_at: String::new(),
            push: campaign.push.as_ref(),
            push_at: String::new(),
            cloud_custom_data: campaign.cloud_custom_data.as_deref(),
            ccd_at: String::new(),
        }
    }
}

/// Renders a campaign's templates for one recipient at a time.
///
/// Built once per campaign: templates compiled and registered, fixed elements (media) built,
/// the campaign-wide variables prepared, so that each recipient costs only its own rendering.
#[derive(Debug)]
pub(crate) struct CampaignRenderer {
    registry: Handlebars<'static>,
    elements: Vec<ElementPlan>,
    cloud_custom_data: Option<Slot>,
    push: Option<PushPlan>,
    /// `vars`, `vars.*` and `campaign.*`: the context every recipient starts from.
    base: Map<String, JsonValue>,
    /// Column names in CSV order, so that a record's fields map to variables.
    columns: Vec<String>,
}

impl CampaignRenderer {
    /// Prepares the campaign's templates; `columns` are the CSV header (empty without a CSV).
    pub(crate) fn new(loaded: &LoadedCampaign, columns: &[String]) -> Result<Self, RendererError> {
        CampaignRenderer::with_content(loaded, columns, &Content::of_campaign(&loaded.campaign))
    }

    /// Prepares the templates of one flavour of the campaign (a variant, a locale).
    pub(crate) fn with_content(
        loaded: &LoadedCampaign,
        columns: &[String],
        content: &Content<'_>,
    ) -> Result<Self, RendererError> {
        let campaign = &loaded.campaign;
        let mut renderer = CampaignRenderer {
            registry: registry(),
            elements: Vec::new(),
            cloud_custom_data: None,
            push: None,
            base: Map::new(),
            columns: columns.to_vec(),
        };
        // The project partials the templates include, as validation read them.
        for partial in &loaded.partials {
            let text = partial.body().ok_or_else(|| RendererError::File {
                path: partial.path.display().to_string(),
                message: "the partial could not be read when the campaign was validated".into(),
            })?;
            renderer
                .registry
                .register_partial(&partial.name, text)
                .map_err(|source| RendererError::Compile {
                    field: format!("partial {}", partial.name),
                    source: Box::new(source),
                })?;
        }
        let vars: Map<String, JsonValue> = content
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        renderer.base = vars.clone();
        renderer
            .base
            .insert("vars".to_owned(), JsonValue::Object(vars));
        let mut about = Map::new();
        about.insert("name".to_owned(), JsonValue::from(campaign.name.clone()));
        about.insert(
            "description".to_owned(),
            JsonValue::from(campaign.description.clone().unwrap_or_default()),
        );
        renderer
            .base
            .insert("campaign".to_owned(), JsonValue::Object(about));
        let message_at = &content.message_at;
        for (index, element) in content.message.iter().enumerate() {
            let pointer =
                |name: &str| format!("{message_at}/message/{index}/{}{name}", element.kind());
            let field = |name: &str| template_name(&pointer(name));
            let plan = match element {
                MessageElement::Text(text) => ElementPlan::Text(renderer.slot(field(""), text)?),
                MessageElement::TextFile(relative) => {
                    // Read once, while validating.
                    let found = loaded.templates.iter().find(|t| t.pointer == pointer(""));
                    let text =
                        found
                            .map(|t| t.text.as_str())
                            .ok_or_else(|| RendererError::File {
                                path: relative.clone(),
                                message: "it was not read when the campaign was validated".into(),
                            })?;
                    // Editors end files with a newline; a chat message should not.
                    let text = text
                        .strip_suffix('\n')
                        .map_or(text, |t| t.strip_suffix('\r').unwrap_or(t));
                    ElementPlan::Text(renderer.slot(field(""), text)?)
                }
                MessageElement::Custom(c) => ElementPlan::Custom {
                    data: renderer.slot(field("/data"), &c.data)?,
                    desc: renderer.optional_slot(field("/desc"), c.desc.as_deref())?,
                    ext: renderer.optional_slot(field("/ext"), c.ext.as_deref())?,
                    sound: c.sound.clone(),
                },
                MessageElement::Face(f) => ElementPlan::Face {
                    index: f.index,
                    data: renderer.slot(field("/data"), &f.data)?,
                },
                MessageElement::Location(l) => ElementPlan::Location {
                    desc: renderer.slot(field("/desc"), &l.desc)?,
                    latitude: l.latitude,
                    longitude: l.longitude,
                },
                MessageElement::Image(i) => ElementPlan::Fixed(image_element(i)),
                MessageElement::Sound(s) => {
                    ElementPlan::Fixed(api::MsgElement::Sound(api::SoundElem {
                        uuid: s.uuid.clone().unwrap_or_else(|| uuid_for(&s.url)),
                        url: s.url.clone(),
                        size: Some(s.size),
                        second: Some(u64::from(s.seconds)),
                        download_flag: 2,
                    }))
                }
                MessageElement::File(f) => {
                    ElementPlan::Fixed(api::MsgElement::File(api::FileElem {
                        uuid: f.uuid.clone().unwrap_or_else(|| uuid_for(&f.url)),
                        url: f.url.clone(),
                        file_size: Some(f.size),
                        file_name: Some(f.name.clone()),
                        download_flag: 2,
                    }))
                }
                MessageElement::Video(v) => ElementPlan::Fixed(video_element(v)),
            };
            renderer.elements.push(plan);
        }
        renderer.cloud_custom_data = renderer.optional_slot(
            template_name(&format!("{}/cloud_custom_data", content.ccd_at)),
            content.cloud_custom_data,
        )?;
        if let Some(push) = content.push {
            renderer.push = Some(renderer.push_plan(push, &content.push_at)?);
        }
        Ok(renderer)
    }

    fn slot(&mut self, field: String, text: &str) -> Result<Slot, RendererError> {
        if !text.contains("{{") {
            return Ok(Slot::Static(text.to_owned()));
        }
        if let Some(pieces) = self.simple_pieces(text) {
            return Ok(Slot::Simple(pieces));
        }
        self.registry
            .register_template_string(&field, text)
            .map_err(|source| RendererError::Compile {
                field: field.clone(),
                source: Box::new(source),
            })?;
        Ok(Slot::Template { name: field })
    }

    /// The pieces of a template made only of text and plain variables, rendered exactly as
    /// Handlebars would render them; `None` for anything else (helpers, blocks, paths, `~`).
    fn simple_pieces(&self, text: &str) -> Option<Vec<Piece>> {
        if text.contains('~') {
            return None;
        }
        let template = Template::compile(text).ok()?;
        let mut pieces = Vec::with_capacity(template.elements.len());
        for element in &template.elements {
            match element {
                TemplateElement::RawString(raw) => pieces.push(Piece::Raw(raw.clone())),
                TemplateElement::Comment(_) => {}
                TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h)
                    if h.params.is_empty() && h.hash.is_empty() && !h.block =>
                {
                    let name = match &h.name {
                        Parameter::Name(name) => name,
                        Parameter::Path(Path::Relative((segments, raw)))
                            if segments.len() == 1
                                && matches!(&segments[0], PathSeg::Named(n) if n == raw) =>
                        {
                            raw
                        }
                        _ => return None,
                    };
                    if CAMPAIGN_HELPERS.contains(&name.as_str())
                        || BUILTIN_HELPERS.contains(&name.as_str())
                    {
                        return None;
                    }
                    if let Some(index) = self.columns.iter().position(|c| c == name) {
                        pieces.push(Piece::Column(index));
                    } else {
                        match self.base.get(name) {
                            Some(
                                JsonValue::String(_) | JsonValue::Number(_) | JsonValue::Bool(_),
                            ) => {
                                let value = self
                                    .registry
                                    .render_template(&format!("{{{{{name}}}}}"), &self.base)
                                    .ok()?;
                                pieces.push(Piece::Const(value));
                            }
                            _ => return None,
                        }
                    }
                }
                _ => return None,
            }
        }
        Some(pieces)
    }

    fn optional_slot(
        &mut self,
        field: String,
        text: Option<&str>,
    ) -> Result<Option<Slot>, RendererError> {
        text.map(|t| self.slot(field, t)).transpose()
    }

    fn push_plan(&mut self, push: &file::Push, at: &str) -> Result<PushPlan, RendererError> {
        let name = |field: &str| template_name(&format!("{at}/push/{field}"));
        let mut base = api::OfflinePushInfo::default();
        if !push.enabled {
            base.push_flag = Some(1);
        }
        if let Some(android) = push.android_settings() {
            base.android_info = Some(api::AndroidInfo {
                sound: android.sound,
                huawei_channel_id: android.huawei_channel_id,
                xiaomi_channel_id: android.xiaomi_channel_id,
                oppo_channel_id: android.oppo_channel_id,
                google_channel_id: android.google_channel_id,
                vivo_classification: android.vivo_classification.map(|c| match c {
                    file::VivoClassification::Marketing => 0,
                    file::VivoClassification::System => 1,
                }),
                vivo_category: android.vivo_category.map(|c| c.wire().to_owned()),
                huawei_importance: android.huawei_importance.map(|i| {
                    match i {
                        file::HuaweiImportance::Low => "LOW",
                        file::HuaweiImportance::Normal => "NORMAL",
                    }
                    .to_owned()
                }),
                huawei_category: android.huawei_category,
                ext_as_huawei_intent_param: android.ext_as_huawei_intent_param.then_some(1),
                huawei_image: android.huawei_image,
                honor_image: android.honor_image,
                honor_importance: android.honor_importance.map(|i| i.wire().to_owned()),
                google_image: android.google_image,
                oppo_category: android.oppo_category.map(|c| c.wire().to_owned()),
                oppo_notify_level: android.oppo_notify_level.map(|l| l.wire()),
                oppo_private_msg_template_id: android.oppo_private_msg_template_id,
                meizu_notice_msg_type: android.meizu_notice_msg_type.map(|t| t.wire()),
                push_style: None,
            });
        }
        if let Some(harmony) = &push.harmony {
            base.harmony_info = Some(api::HarmonyInfo {
                category: harmony.category.map(|c| c.wire().to_owned()),
                image: harmony.image.clone(),
                badge_add_num: harmony.badge_add_num.map(i64::from),
                badge_set_num: harmony.badge_set_num.map(i64::from),
            });
        }
        let mut apns_title = None;
        let mut apns_subtitle = None;
        if let Some(apns) = &push.apns {
            base.apns_info = Some(api::ApnsInfo {
                sound: apns.sound.clone(),
                badge_mode: (!apns.badge).then_some(1),
                image: apns.image.clone(),
                mutable_content: apns.mutable_content.then_some(1),
                interruption_level: apns.interruption_level.map(|l| l.wire().to_owned()),
                content_available: apns.content_available.then_some(1),
                ..api::ApnsInfo::default()
            });
            apns_title = self.optional_slot(name("apns/title"), apns.title.as_deref())?;
            apns_subtitle = self.optional_slot(name("apns/subtitle"), apns.subtitle.as_deref())?;
        }
        Ok(PushPlan {
            base,
            title: self.optional_slot(name("title"), push.title.as_deref())?,
            desc: self.optional_slot(name("desc"), push.desc.as_deref())?,
            ext: self.optional_slot(name("ext"), push.ext.as_deref())?,
            apns_title,
            apns_subtitle,
        })
    }

    /// The template context of one recipient: campaign variables, then the CSV columns.
    pub(crate) fn context(&self, fields: &[&str]) -> JsonValue {
        let mut context = self.base.clone();
        for (name, value) in self.columns.iter().zip(fields) {
            context.insert(name.clone(), JsonValue::from(*value));
        }
        JsonValue::Object(context)
    }

    /// Renders the message for one recipient whose CSV fields are `fields` (header order).
    pub(crate) fn render(&self, fields: &[&str]) -> Result<RenderedMessage, RenderFailure> {
        // Built only when a template needs Handlebars. From<Value> takes the value as it is;
        // `Context::wraps` would serialize a copy.
        let context = std::cell::OnceCell::new();
        let text = |slot: &Slot| -> Result<String, RenderFailure> {
            match slot {
                Slot::Static(text) => Ok(text.clone()),
                Slot::Simple(pieces) => {
                    let mut out = String::new();
                    for piece in pieces {
                        match piece {
                            Piece::Raw(raw) | Piece::Const(raw) => out.push_str(raw),
                            Piece::Column(index) => {
                                out.push_str(fields.get(*index).copied().unwrap_or_default())
                            }
                        }
                    }
                    Ok(out)
                }
                Slot::Template { name } => self
                    .registry
                    .render_with_context(
                        name,
                        context.get_or_init(|| handlebars::Context::from(self.context(fields))),
                    )
                    .map_err(|e| RenderFailure {
                        field: name.clone(),
                        message: render_error_text(&e),
                    }),
            }
        };
        self.assemble(text)
    }

    /// The message with each template slot filled by `text`, the rest as the campaign fixes it.
    fn assemble<E>(&self, text: impl Fn(&Slot) -> Result<String, E>) -> Result<RenderedMessage, E> {
        let optional = |slot: &Option<Slot>| slot.as_ref().map(&text).transpose();
        let mut body = Vec::with_capacity(self.elements.len());
        for element in &self.elements {
            body.push(match element {
                ElementPlan::Text(slot) => api::MsgElement::text(text(slot)?),
                ElementPlan::Custom {
                    data,
                    desc,
                    ext,
                    sound,
                } => api::MsgElement::Custom(api::CustomElem {
                    data: text(data)?,
                    desc: optional(desc)?,
                    ext: optional(ext)?,
                    sound: sound.clone(),
                }),
                ElementPlan::Face { index, data } => api::MsgElement::Face(api::FaceElem {
                    index: *index,
                    data: Some(text(data)?).filter(|d| !d.is_empty()),
                }),
                ElementPlan::Location {
                    desc,
                    latitude,
                    longitude,
                } => api::MsgElement::Location(api::LocationElem {
                    desc: text(desc)?,
                    latitude: *latitude,
                    longitude: *longitude,
                }),
                ElementPlan::Fixed(element) => element.clone(),
            });
        }
        let push = match &self.push {
            None => None,
            Some(plan) => {
                let mut push = plan.base.clone();
                push.title = optional(&plan.title)?;
                push.desc = optional(&plan.desc)?;
                push.ext = optional(&plan.ext)?;
                if let Some(apns) = push.apns_info.as_mut() {
                    apns.title = optional(&plan.apns_title)?;
                    apns.sub_title = optional(&plan.apns_subtitle)?;
                }
                Some(push)
            }
        };
        Ok(RenderedMessage {
            body,
            cloud_custom_data: optional(&self.cloud_custom_data)?,
            push,
        })
    }
}

/// A render error's text with the template line when Handlebars knows it.
fn render_error_text(error: &handlebars::RenderError) -> String {
    use handlebars::RenderErrorReason as Reason;
    // Handlebars' own words for a value that is not there: "Failed to access variable in
    // strict mode None" names neither the value nor the way out.
    let fallback = "`default` can give a fallback";
    let reason = match error.reason() {
        Reason::MissingVariable(Some(path)) => format!("`{path}` is not there; {fallback}"),
        Reason::MissingVariable(None) => {
            format!("a value the template uses is not there; {fallback}")
        }
        Reason::ParamNotFoundForName(helper, name) => format!(
            "`{helper}` got no value for `{name}` (a `lookup` that found nothing?); {fallback}"
        ),
        Reason::ParamNotFoundForIndex(helper, index) => format!(
            "`{helper}` got no value for its argument {} (a `lookup` that found nothing?); {fallback}",
            index + 1
        ),
        other => other.to_string(),
    };
    match error.line_no {
        Some(line) => format!("{reason} (template line {line})"),
        None => reason,
    }
}

/// A stable UUID-like identifier for hosted media: the hex SHA-256 of the URL, 32 characters.
pub(crate) fn uuid_for(url: &str) -> String {
    let digest = Sha256::digest(url.as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn image_element(image: &file::ImageElement) -> api::MsgElement {
    let info = |kind: i64, url: &str, width: u32, height: u32, size: u64| api::ImageInfo {
        kind,
        size: Some(size),
        width: u64::from(width),
        height: u64::from(height),
        url: url.to_owned(),
    };
    let mut infos = vec![info(1, &image.url, image.width, image.height, image.size)];
    if let Some(v) = &image.large {
        infos.push(info(2, &v.url, v.width, v.height, v.size));
    }
    if let Some(v) = &image.thumbnail {
        infos.push(info(3, &v.url, v.width, v.height, v.size));
    }
    api::MsgElement::Image(api::ImageElem {
        uuid: image.uuid.clone().unwrap_or_else(|| uuid_for(&image.url)),
        image_format: Some(match image.format {
            file::ImageFormat::Jpg => 1,
            file::ImageFormat::Gif => 2,
            file::ImageFormat::Png => 3,
            file::ImageFormat::Bmp => 4,
            file::ImageFormat::Other => 255,
        }),
        image_info_array: infos,
    })
}

fn video_element(video: &file::VideoElement) -> api::MsgElement {
    let thumb = &video.thumbnail;
    api::MsgElement::VideoFile(api::VideoFileElem {
        video_url: video.url.clone(),
        video_uuid: video.uuid.clone().unwrap_or_else(|| uuid_for(&video.url)),
        video_size: Some(video.size),
        video_second: Some(u64::from(video.seconds)),
        video_format: Some(video.format.clone()),
        video_download_flag: 2,
        thumb_url: thumb.url.clone(),
        thumb_uuid: thumb.uuid.clone().unwrap_or_else(|| uuid_for(&thumb.url)),
        thumb_size: Some(thumb.size),
        thumb_width: Some(u64::from(thumb.width)),
        thumb_height: Some(u64::from(thumb.height)),
        thumb_format: Some(thumb.format.clone()),
        thumb_download_flag: 2,
    })
}

#[cfg(test)]
mod tests;
