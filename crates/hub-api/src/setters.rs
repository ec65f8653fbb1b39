//! `with_*` setters of the options structs, one line each: the crate's rule is that options are
//! `#[non_exhaustive]`, made with `Default` (or `new` when a value is required) and changed with
//! `with_*` setters, each setting one field and giving the options back.

/// Setters of `$ty`: `fn with_x(x: T) -> Self` sets the field `x` to `x`, or to the expression
/// after `=>` (in terms of `x`), as `with_limit(limit: usize) => Some(limit)`.
macro_rules! setters {
    ($ty:ident { $( $(#[$doc:meta])* $setter:ident($field:ident: $arg:ty) $(=> $value:expr)?; )* }) => {
        impl $ty {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $setter(mut self, $field: $arg) -> $ty {
                    self.$field = setters!(@value $field $(, $value)?);
                    self
                }
            )*
        }
    };
    (@value $field:ident) => { $field };
    (@value $field:ident, $value:expr) => { $value };
}
