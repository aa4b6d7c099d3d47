//! Reading JSON objects, and only objects, where the model has a struct.
//!
//! serde's derived `Deserialize` for a struct also accepts the struct's fields as a sequence, in
//! declaration order (for binary formats that have no field names), and serde_json offers it
//! one whenever the JSON has an array where the struct is. So `[{"type":"event_subscription"}]`
//! would read as a callback, `{"type":"meeting_agent_complete"}` written `["meeting_agent_complete"]`
//! as an interaction, and the typed parse would accept bodies that the spec, and the general
//! parse beside it, say are not notifications (serde-rs/serde#1587).
//!
//! [`ObjectsOnly`] wraps a deserializer and asks it for a map wherever a struct is wanted, at
//! every depth: a struct is then made from a JSON object or not at all. Everything else passes
//! through unchanged, so it costs nothing measurable on the typed parse.

use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

/// A deserializer that makes structs from maps only (see the module's documentation).
pub(crate) struct ObjectsOnly<D>(pub(crate) D);

/// A visitor, seed or access of the value being read, handing [`ObjectsOnly`] on to every value
/// inside it.
struct Within<T>(T);

/// `fn deserialize_x(self, args..., visitor)`, passed on with the visitor wrapped.
macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*))*) => {$(
        #[inline]
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method($($arg,)* Within(visitor))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectsOnly<D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any() deserialize_bool()
        deserialize_i8() deserialize_i16() deserialize_i32() deserialize_i64() deserialize_i128()
        deserialize_u8() deserialize_u16() deserialize_u32() deserialize_u64() deserialize_u128()
        deserialize_f32() deserialize_f64() deserialize_char()
        deserialize_str() deserialize_string() deserialize_bytes() deserialize_byte_buf()
        deserialize_option() deserialize_unit() deserialize_seq() deserialize_map()
        deserialize_identifier() deserialize_ignored_any()
        deserialize_unit_struct(name: &'static str)
        deserialize_newtype_struct(name: &'static str)
        deserialize_tuple(len: usize)
        deserialize_tuple_struct(name: &'static str, len: usize)
        deserialize_enum(name: &'static str, variants: &'static [&'static str])
    }

    /// The one change: a struct is read as a map, which a sequence is not.
    #[inline]
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(Within(visitor))
    }

    #[inline]
    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident($ty:ty))*) => {$(
        #[inline]
        fn $method<E: de::Error>(self, value: $ty) -> Result<V::Value, E> {
            self.0.$method(value)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Within<V> {
    type Value = V::Value;

    #[inline]
    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(formatter)
    }

    forward_visit! {
        visit_bool(bool)
        visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64) visit_i128(i128)
        visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64) visit_u128(u128)
        visit_f32(f32) visit_f64(f64) visit_char(char)
        visit_str(&str) visit_borrowed_str(&'de str) visit_string(String)
        visit_bytes(&[u8]) visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
    }

    #[inline]
    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_none()
    }

    #[inline]
    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit()
    }

    #[inline]
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.0.visit_some(ObjectsOnly(deserializer))
    }

    #[inline]
    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        self.0.visit_newtype_struct(ObjectsOnly(deserializer))
    }

    #[inline]
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.0.visit_seq(Within(seq))
    }

    #[inline]
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(Within(map))
    }

    #[inline]
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.0.visit_enum(Within(data))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Within<S> {
    type Value = S::Value;

    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(ObjectsOnly(deserializer))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Within<A> {
    type Error = A::Error;

    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Within(seed))
    }

    #[inline]
    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Within<A> {
    type Error = A::Error;

    /// Keys pass as they are: a JSON object's keys are strings, never structs.
    #[inline]
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(seed)
    }

    #[inline]
    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.0.next_value_seed(Within(seed))
    }

    #[inline]
    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Within<A> {
    type Error = A::Error;
    type Variant = Within<A::Variant>;

    #[inline]
    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), A::Error> {
        let (value, variant) = self.0.variant_seed(seed)?;
        Ok((value, Within(variant)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Within<A> {
    type Error = A::Error;

    #[inline]
    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    #[inline]
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(Within(seed))
    }

    #[inline]
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Within(visitor))
    }

    /// Passed on as it is: the format reads a struct variant itself, and no enum of the model
    /// has one (its enums are strings).
    #[inline]
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, Within(visitor))
    }
}

/// `T` from JSON text, structs from objects only; as `serde_json::from_str` otherwise
/// (trailing characters, depth limit and error positions included).
pub(crate) fn from_str<'a, T: serde::Deserialize<'a>>(text: &'a str) -> serde_json::Result<T> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = T::deserialize(ObjectsOnly(&mut deserializer))?;
    deserializer.end()?;
    Ok(value)
}

/// `T` from JSON bytes, structs from objects only; as `serde_json::from_slice` otherwise.
pub(crate) fn from_slice<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> serde_json::Result<T> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = T::deserialize(ObjectsOnly(&mut deserializer))?;
    deserializer.end()?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::{Value, json};

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Outer {
        inner: Option<Inner>,
        list: Option<Vec<Inner>>,
        kept: Option<Value>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Inner {
        name: String,
    }

    #[test]
    fn plain_serde_json_makes_structs_from_arrays_which_is_why_this_exists() {
        let outer: Outer = serde_json::from_str(r#"[["a"], [["b"]], null]"#).unwrap();
        assert_eq!(outer.inner, Some(Inner { name: "a".into() }));
    }

    #[test]
    fn a_struct_is_made_from_an_object_only_at_every_depth() {
        for text in [
            r#"[null, null, null]"#,
            r#"{"inner": ["a"]}"#,
            r#"{"list": [{"name": "a"}, ["b"]]}"#,
        ] {
            let error = from_str::<Outer>(text).expect_err(text);
            assert!(
                error.to_string().contains("invalid type: sequence"),
                "{text}: {error}"
            );
            let value: Value = serde_json::from_str(text).unwrap();
            assert!(
                Outer::deserialize(ObjectsOnly(&value)).is_err(),
                "{text} as a Value"
            );
        }
    }

    #[test]
    fn everything_else_reads_as_serde_json_reads_it() {
        let text = r#"{"inner": {"name": "a"}, "list": [{"name": "b"}],
                       "kept": [1, -2, 3.5, "s", true, null, {"k": [[]]}]}"#;
        let ours: Outer = from_str(text).unwrap();
        let theirs: Outer = serde_json::from_str(text).unwrap();
        assert_eq!(ours, theirs);
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(Outer::deserialize(ObjectsOnly(&value)).unwrap(), theirs);
        assert_eq!(from_slice::<Value>(text.as_bytes()).unwrap(), value);
        assert_eq!(from_str::<Value>(&value.to_string()).unwrap(), value);
        assert_eq!(
            from_str::<Value>(r#"{"n": 18446744073709551615}"#).unwrap(),
            json!({"n": u64::MAX})
        );
    }

    #[test]
    fn errors_keep_their_position_and_trailing_text_is_refused() {
        // Where serde_json puts the error when a map is wanted and an array is found.
        let text = "{\n  \"inner\": [\"a\"]}";
        let ours = from_str::<Outer>(text).unwrap_err();
        type Maps = std::collections::HashMap<String, std::collections::HashMap<String, String>>;
        let theirs = serde_json::from_str::<Maps>(text).unwrap_err();
        assert_eq!(ours.line(), 2);
        assert_eq!(
            (ours.line(), ours.column()),
            (theirs.line(), theirs.column())
        );
        assert!(from_str::<Value>("{} x").is_err());
        assert!(from_slice::<Value>(b"[]]").is_err());
    }
}
