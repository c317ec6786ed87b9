//! [`with_setters!`](crate::with_setters): the `with_*` methods of the client
//! crates' models, by which users build them (for example to fake a
//! client's answers in their own tests).

/// Writes `with_*` methods that set a field and return the model:
/// `with_x: x = Some(T);` takes `impl Into<T>` for an `Option<T>` field,
/// `with_x: x = T;` for any other field. Each is documented as setting
/// its field.
#[doc(hidden)]
#[macro_export]
macro_rules! with_setters {
    () => {};
    ($setter:ident: $field:ident = Some($ty:ty); $($rest:tt)*) => {
        #[doc = concat!("Sets [`", stringify!($field), "`](Self::", stringify!($field), ").")]
        #[must_use]
        pub fn $setter(mut self, value: impl Into<$ty>) -> Self {
            self.$field = Some(value.into());
            self
        }
        $crate::with_setters!($($rest)*);
    };
    ($setter:ident: $field:ident = $ty:ty; $($rest:tt)*) => {
        #[doc = concat!("Sets [`", stringify!($field), "`](Self::", stringify!($field), ").")]
        #[must_use]
        pub fn $setter(mut self, value: impl Into<$ty>) -> Self {
            self.$field = value.into();
            self
        }
        $crate::with_setters!($($rest)*);
    };
}
