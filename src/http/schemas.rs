//! Schemas the OpenAPI document shares between bodies, written by hand where a derive cannot
//! say the bounds. A leaf: the handlers and the error body use it, and it uses neither.

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};

/// A list of casts or genres: 1 to 100 entries, each 1 to 200 characters.
pub fn tag_list() -> Schema {
    let entry = ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(200));
    Schema::Array(ArrayBuilder::new().items(entry).min_items(Some(1)).max_items(Some(100)).build())
}

/// A list that may be empty (directors): up to 100 entries, each 1 to 200 characters.
pub fn optional_tag_list() -> Schema {
    let entry = ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(200));
    Schema::Array(ArrayBuilder::new().items(entry).max_items(Some(100)).build())
}

/// Per-field reasons: each rejected field's name, with the list of why.
pub fn field_errors() -> Schema {
    let reasons = ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String));
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(reasons))
            .description(Some("Each rejected field, with why"))
            .build(),
    )
}
